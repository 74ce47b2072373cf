// The motor board over a serial line (protocol/serial.ts). The same class opens /dev/ttyUSB0 on the
// Pi and the simulator's pty: nothing here knows which it is talking to.
//
// Link states: 'idle' (before open) → 'opening' → 'open' ⇄ 'waiting' (port gone, reopening after
// a pause that doubles up to RECONNECT_MAX_MS) → 'closed' (close() called; final). Every await
// re-checks the state, and no timer callback can throw.

import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { createLogger } from '../../common/log.ts';
import { SERIAL_REFRESH_MS } from '../../protocol/limits.ts';
import {
  LineSplitter, SERIAL_BAUD, SERIAL_PROTOCOL_VERSION, SerialAck, SerialFlag, decodeSerial, encodeSerial, fromPwm,
  toPwm, type DeviceFrame, type HostFrame,
} from '../../protocol/serial.ts';
import { batteryFromMillivolts } from './battery.ts';
import type { MotorState, Motors } from './types.ts';

/** A set() or stop() not acknowledged within this long has failed (a healthy link acks in ~2 ms). */
export const ACK_TIMEOUT_MS = 300;
/** No status frame for this long: the ESP32 counts as disconnected (it sends one every 200 ms). */
export const STATUS_TIMEOUT_MS = 1000;
/** Pause before reopening a port that disappeared; doubles on each failure up to the max. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 2000;
/** How long close() waits for the final stop frame to leave. */
const CLOSE_DRAIN_MS = 200;
/** Sent frames remembered for round-trip times of refresh acks. */
const RTT_WINDOW = 64;
const SEQ_MODULO = 65536;

export type LinkState = 'idle' | 'opening' | 'open' | 'waiting' | 'closed';

export interface SerialMotorsOptions {
  path: string;
  refreshMs?: number;
  ackTimeoutMs?: number;
  statusTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** First sequence number (tests start near 65535 to see the wrap). */
  firstSeq?: number;
  /** Milliseconds, monotonic (performance.now by default): status silence and ack round trips. */
  now?: () => number;
}

export interface MotorAck { seq: number; code: number; rttMs: number }

interface Pending { resolve: (ack: MotorAck) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }

const log = createLogger('hardware.serial-motors');

export class SerialMotors extends EventEmitter implements Motors {
  private readonly opts: Required<SerialMotorsOptions>;
  private link: LinkState = 'idle';
  private port: SerialPort | null = null;
  private splitter = new LineSplitter();
  private seq = 0;
  /** Target PWM the refresh keeps sending. */
  private targetLeft = 0;
  private targetRight = 0;
  private readonly sentAt = new Map<number, number>();
  private readonly pending = new Map<number, Pending>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay: number;
  private lastStatusAt = 0;
  private firstOpen: Promise<void> | null = null;
  private readonly current: MotorState;
  /** Firmware name and protocol from the board's $H, once seen. */
  firmware: { name: string; protocol: number } | null = null;

  constructor(opts: SerialMotorsOptions | string) {
    super();
    const o = typeof opts === 'string' ? { path: opts } : opts;
    this.opts = {
      path: o.path,
      refreshMs: o.refreshMs ?? SERIAL_REFRESH_MS,
      ackTimeoutMs: o.ackTimeoutMs ?? ACK_TIMEOUT_MS,
      statusTimeoutMs: o.statusTimeoutMs ?? STATUS_TIMEOUT_MS,
      reconnectMinMs: o.reconnectMinMs ?? RECONNECT_MIN_MS,
      reconnectMaxMs: o.reconnectMaxMs ?? RECONNECT_MAX_MS,
      firstSeq: o.firstSeq ?? 0,
      now: o.now ?? (() => performance.now()),
    };
    this.seq = this.opts.firstSeq % SEQ_MODULO;
    this.reconnectDelay = this.opts.reconnectMinMs;
    this.current = {
      left: 0, right: 0, connected: false, watchdogTripped: false, battery: null, port: o.path,
      framesSent: 0, framesRejected: 0,
    };
    // 'error' is informational here (the link heals itself): without a listener EventEmitter
    // would throw it, so keep one that only logs.
    this.on('error', () => {});
  }

  get state(): MotorState { return { ...this.current, battery: this.current.battery && { ...this.current.battery } }; }
  get linkState(): LinkState { return this.link; }

  /**
   * Opens the port. Never rejects: a robot must come up without its motor board. When the port
   * cannot be opened (yet), an 'error' is emitted and it is retried with backoff until close().
   */
  open(): Promise<void> {
    if (this.firstOpen) return this.firstOpen;
    this.statusTimer = setInterval(() => this.guard('status check', () => this.checkStatus()), Math.min(100, this.opts.statusTimeoutMs));
    this.refreshTimer = setInterval(() => this.guard('refresh', () => this.refresh()), this.opts.refreshMs);
    this.firstOpen = this.tryOpen();
    return this.firstOpen;
  }

  /** Sets both track targets in [-1, 1]; resolves with the ESP32's ack and the round trip. */
  set(left: number, right: number): Promise<{ seq: number; rttMs: number }> {
    if (!isUnit(left) || !isUnit(right)) {
      return Promise.reject(new RangeError(`track speeds must be numbers in [-1, 1] (got ${left}, ${right})`));
    }
    if (this.link !== 'open') return Promise.reject(new Error(`serial port ${this.opts.path} is not open (${this.link})`));
    this.targetLeft = toPwm(left);
    this.targetRight = toPwm(right);
    return this.sendAwaitingAck((seq) => ({ type: 'M', seq, left: this.targetLeft, right: this.targetRight }))
      .then(({ seq, rttMs }) => ({ seq, rttMs }));
  }

  /**
   * Stops now: zero target (which the refresh keeps sending) and $S. Resolves once acked, or after
   * the ack timeout with a warning: a stop is never an exception for the caller to forget.
   */
  async stop(): Promise<void> {
    this.targetLeft = this.targetRight = 0;
    if (this.link !== 'open') return;
    try {
      await this.sendAwaitingAck((seq) => ({ type: 'S', seq }));
    } catch (err) {
      log.warn('stop not acknowledged (the zero target is still being refreshed)', { err });
    }
  }

  async close(): Promise<void> {
    if (this.link === 'closed') return;
    // Tell the board to stop before letting go; its watchdog would, but 500 ms later.
    if (this.link === 'open' && this.port) {
      this.targetLeft = this.targetRight = 0;
      this.write({ type: 'S', seq: this.nextSeq() });
      // Bounded: a wedged line must not keep close() (and the bridge's shutdown) waiting.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_DRAIN_MS);
        this.port!.drain(() => { clearTimeout(timer); resolve(); });
      });
    }
    this.link = 'closed';
    for (const t of [this.refreshTimer, this.statusTimer]) if (t) clearInterval(t);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.refreshTimer = this.statusTimer = this.reconnectTimer = null;
    this.failPending(new Error('serial motors closed'));
    const port = this.port;
    this.port = null;
    if (port?.isOpen) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_DRAIN_MS);
        port.close(() => { clearTimeout(timer); resolve(); });
      });
    }
    this.setConnected(false);
  }

  // ---- link ------------------------------------------------------------------------------

  private async tryOpen(): Promise<void> {
    if (this.link === 'closed') return;
    this.link = 'opening';
    const port = new SerialPort({ path: this.opts.path, baudRate: SERIAL_BAUD, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      if (this.isClosed()) return;
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      log.warn('cannot open serial port, will retry', { path: this.opts.path, err, retryMs: this.reconnectDelay });
      this.scheduleReopen();
      return;
    }
    if (this.isClosed()) {
      port.close(() => {});
      return;
    }
    // Whatever the board said while nobody listened is stale.
    port.flush(() => {});
    this.port = port;
    this.link = 'open';
    this.splitter = new LineSplitter();
    // A port that came back starts from rest: the operator re-issues what they want.
    this.targetLeft = this.targetRight = 0;
    this.reconnectDelay = this.opts.reconnectMinMs;
    port.on('data', (chunk: Buffer) => this.guard('read', () => this.onData(chunk)));
    port.on('error', (err: Error) => { log.warn('serial error', { err }); this.emit('error', err); });
    port.on('close', (err?: Error) => this.guard('port closed', () => this.onPortClosed(port, err)));
    log.info('serial port open', { path: this.opts.path });
    this.write({ type: 'Q', seq: this.nextSeq() });
  }

  /** A method, not a field read, so the check after an await is not narrowed away by TypeScript. */
  private isClosed(): boolean { return this.link === 'closed'; }

  private onPortClosed(port: SerialPort, err?: Error): void {
    if (this.port !== port || this.link === 'closed') return;
    this.port = null;
    log.warn('serial port went away, reopening', { path: this.opts.path, err });
    this.failPending(new Error('serial port closed'));
    this.setConnected(false);
    this.emit('error', new Error(`serial port ${this.opts.path} disconnected`));
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.link === 'closed') return;
    this.link = 'waiting';
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.opts.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.tryOpen().catch((err: unknown) => log.error('reopen failed', { err }));
    }, delay);
  }

  // ---- frames out ------------------------------------------------------------------------

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % SEQ_MODULO;
    return s;
  }

  private write(frame: HostFrame): boolean {
    const port = this.port;
    if (this.link !== 'open' || !port?.isOpen) return false;
    port.write(encodeSerial(frame), 'latin1');
    this.current.framesSent++;
    this.sentAt.set(frame.seq, this.opts.now());
    if (this.sentAt.size > RTT_WINDOW) this.sentAt.delete(this.sentAt.keys().next().value!);
    return true;
  }

  private sendAwaitingAck(make: (seq: number) => HostFrame): Promise<MotorAck> {
    const seq = this.nextSeq();
    return new Promise<MotorAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no ack from the motor board within ${this.opts.ackTimeoutMs} ms (seq ${seq})`));
      }, this.opts.ackTimeoutMs);
      // A wrapped seq still pending from 65536 frames ago is long dead: replace it.
      this.pending.get(seq)?.reject(new Error('superseded'));
      this.pending.set(seq, { resolve, reject, timer });
      this.write(make(seq));
    });
  }

  private refresh(): void {
    if (this.link !== 'open') return;
    this.write({ type: 'M', seq: this.nextSeq(), left: this.targetLeft, right: this.targetRight });
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
  }

  // ---- frames in -------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    for (const line of this.splitter.push(chunk.toString('latin1'))) {
      const got = decodeSerial(line);
      if (!got.ok) {
        log.debug('bad line from the motor board', { code: got.code, error: got.error });
        continue;
      }
      this.onFrame(got.frame as DeviceFrame | HostFrame);
    }
  }

  private onFrame(frame: DeviceFrame | HostFrame): void {
    switch (frame.type) {
      case 'A': return this.onAck(frame.seq, frame.code);
      case 'T': {
        this.lastStatusAt = this.opts.now();
        this.current.left = fromPwm(frame.left);
        this.current.right = fromPwm(frame.right);
        this.current.watchdogTripped = (frame.flags & SerialFlag.watchdog) !== 0;
        this.current.battery = batteryFromMillivolts(frame.mv);
        this.setConnected(true);
        this.emit('state', this.state);
        return;
      }
      case 'E':
        this.current.framesRejected++;
        log.warn('motor board rejected a frame', { code: frame.code });
        return;
      case 'H':
        this.firmware = { name: frame.firmware, protocol: frame.protocol };
        log.info('motor board says hello', { firmware: frame.firmware, protocol: frame.protocol });
        if (frame.protocol !== SERIAL_PROTOCOL_VERSION) {
          this.emit('error', new Error(`motor board speaks serial protocol ${frame.protocol}, we speak ${SERIAL_PROTOCOL_VERSION}`));
        }
        return;
      default:
        // A host frame echoed back (a loop-back cable, a terminal with echo on): ignore.
        return;
    }
  }

  private onAck(seq: number, code: number): void {
    const sent = this.sentAt.get(seq);
    const rttMs = sent === undefined ? NaN : Math.round((this.opts.now() - sent) * 100) / 100;
    this.sentAt.delete(seq);
    if (code !== SerialAck.applied) this.current.framesRejected++;
    const ack: MotorAck = { seq, code, rttMs };
    this.emit('ack', ack);
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (code === SerialAck.applied) p.resolve(ack);
    else p.reject(new Error(`motor board refused seq ${seq} (code ${code})`));
  }

  private checkStatus(): void {
    if (this.current.connected && this.opts.now() - this.lastStatusAt > this.opts.statusTimeoutMs) {
      log.warn('motor board silent', { ms: this.opts.statusTimeoutMs });
      this.setConnected(false);
    }
  }

  private setConnected(connected: boolean): void {
    if (this.current.connected === connected) return;
    this.current.connected = connected;
    this.emit(connected ? 'connected' : 'disconnected');
  }

  /** Timer and event callbacks must never throw: a throw here would take the bridge down. */
  private guard(what: string, fn: () => void): void {
    try { fn(); } catch (err) { log.error(`unexpected failure in ${what}`, { err }); }
  }
}

const isUnit = (x: number): boolean => typeof x === 'number' && Number.isFinite(x) && x >= -1 && x <= 1;
