// The motor board over a serial line (protocol/serial.ts). The same class opens /dev/ttyUSB0 on the
// Pi and the simulator's pty: nothing here knows which it is talking to.
//
// Three parts: the port's lifecycle, opening and reopening it with backoff (serial-link.ts, which
// draws the link's states); the frames' bookkeeping, sequence numbers, awaited acks and round
// trips (motor-frames.ts); and here, what the bridge wants of the board: targets kept fresh,
// status read, events.

import { EventEmitter } from 'node:events';
import { SERIAL_REFRESH_MS } from '../../protocol/limits.ts';
import {
  SERIAL_PROTOCOL_VERSION, SerialAck, SerialFlag, encodeSerial, fromPwm, toPwm, type DeviceFrame, type HostFrame,
} from '../../protocol/serial.ts';
import { batteryFromMillivolts } from './battery.ts';
import { MotorFrames, type MotorAck } from './motor-frames.ts';
import { SerialLink, guard, log, type LinkState } from './serial-link.ts';
import type { MotorState, Motors } from './types.ts';

export type { LinkState } from './serial-link.ts';
export type { MotorAck } from './motor-frames.ts';

/** A set() or stop() not acknowledged within this long has failed (a healthy link acks in ~2 ms). */
export const ACK_TIMEOUT_MS = 300;
/** No status frame for this long: the ESP32 counts as disconnected (it sends one every 200 ms). */
export const STATUS_TIMEOUT_MS = 1000;
/** Pause before reopening a port that disappeared; doubles on each failure up to the max. */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 2000;
/** How long close() waits for the final stop frame to leave, and then for the port to close. */
const CLOSE_DRAIN_MS = 200;

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

export class SerialMotors extends EventEmitter implements Motors {
  private readonly opts: Required<SerialMotorsOptions>;
  private readonly link: SerialLink;
  private readonly frames: MotorFrames;
  /** Target PWM the refresh keeps sending. */
  private targetLeft = 0;
  private targetRight = 0;
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
    this.link = new SerialLink(this.opts, {
      opened: () => this.onOpened(),
      data: (chunk) => { for (const frame of this.frames.read(chunk)) this.onFrame(frame); },
      lost: () => { this.frames.failPending(new Error('serial port closed')); this.setConnected(false); },
      error: (err) => { this.emit('error', err); },
    });
    this.frames = new MotorFrames(this.opts, this.link.timers);
    this.current = {
      left: 0, right: 0, connected: false, watchdogTripped: false, battery: null, port: o.path,
      framesSent: 0, framesRejected: 0,
    };
    // 'error' is informational here (the link heals itself): without a listener EventEmitter
    // would throw it, so keep one that only logs.
    this.on('error', () => {});
  }

  get state(): MotorState { return { ...this.current, battery: this.current.battery && { ...this.current.battery } }; }
  get linkState(): LinkState { return this.link.state; }

  /**
   * Opens the port. Never rejects: a robot must come up without its motor board. When the port
   * cannot be opened (yet), an 'error' is emitted and it is retried with backoff until close().
   */
  open(): Promise<void> {
    if (this.firstOpen) return this.firstOpen;
    // Closed before it was ever opened: nothing to start (no timer would ever be cleared).
    if (this.link.is('closed')) return Promise.resolve();
    const { timers } = this.link;
    timers.every(Math.min(100, this.opts.statusTimeoutMs), () => guard('status check', () => this.checkStatus()), 'status');
    timers.every(this.opts.refreshMs, () => guard('refresh', () => this.refresh()), 'refresh');
    this.firstOpen = this.link.open();
    return this.firstOpen;
  }

  /** Sets both track targets in [-1, 1]; resolves with the ESP32's ack and the round trip. */
  set(left: number, right: number): Promise<{ seq: number; rttMs: number }> {
    if (!isUnit(left) || !isUnit(right)) {
      return Promise.reject(new RangeError(`track speeds must be numbers in [-1, 1] (got ${left}, ${right})`));
    }
    if (!this.link.is('open')) return Promise.reject(new Error(`serial port ${this.opts.path} is not open (${this.link.state})`));
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
    if (!this.link.is('open')) return;
    try {
      await this.sendAwaitingAck((seq) => ({ type: 'S', seq }));
    } catch (err) {
      log.warn('stop not acknowledged (the zero target is still being refreshed)', { err });
    }
  }

  /** Final, from any state: the board told to stop, every timer cleared, the port closed. */
  async close(): Promise<void> {
    if (this.link.is('closed')) return;
    // Tell the board to stop before letting go; its watchdog would, but 500 ms later.
    if (this.link.writable) {
      this.targetLeft = this.targetRight = 0;
      this.write({ type: 'S', seq: this.frames.nextSeq() });
      // Bounded: a wedged line must not keep close() (and the bridge's shutdown) waiting.
      await this.link.drain(CLOSE_DRAIN_MS);
    }
    this.frames.failPending(new Error('serial motors closed'));
    await this.link.close(CLOSE_DRAIN_MS);
    this.setConnected(false);
  }

  // ---- frames out ------------------------------------------------------------------------

  /** A port that (re)opened starts from rest (the operator re-issues what they want) and is asked for status. */
  private onOpened(): void {
    this.frames.resetReader();
    this.targetLeft = this.targetRight = 0;
    this.write({ type: 'Q', seq: this.frames.nextSeq() });
  }

  private write(frame: HostFrame): boolean {
    if (!this.link.write(encodeSerial(frame))) return false;
    this.current.framesSent++;
    this.frames.sent(frame.seq);
    return true;
  }

  private sendAwaitingAck(make: (seq: number) => HostFrame): Promise<MotorAck> {
    const seq = this.frames.nextSeq();
    const acked = this.frames.expectAck(seq);
    this.write(make(seq));
    return acked;
  }

  private refresh(): void {
    if (!this.link.is('open')) return;
    this.write({ type: 'M', seq: this.frames.nextSeq(), left: this.targetLeft, right: this.targetRight });
  }

  // ---- frames in -------------------------------------------------------------------------

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
    const ack = this.frames.ackOf(seq, code);
    if (code !== SerialAck.applied) this.current.framesRejected++;
    this.emit('ack', ack);
    this.frames.settle(ack);
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
}

const isUnit = (x: number): boolean => typeof x === 'number' && Number.isFinite(x) && x >= -1 && x <= 1;
