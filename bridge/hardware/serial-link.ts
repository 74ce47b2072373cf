// The serial port's lifecycle, and nothing about what is said over it: open the port, and when it
// cannot be opened or goes away, open it again after a pause that doubles from reconnectMinMs up
// to reconnectMaxMs (common/backoff.ts, exact), until close(). SerialMotors (serial-motors.ts)
// gives it the hooks that speak the protocol.
//
//   idle ──open()──▶ opening ──port open──▶ open
//                     ▲   │                  │
//        reopen pause │   │ open failed      │ port closed / lost
//        elapsed      │   ▼                  │
//                    waiting ◀───────────────┘
//   any state except closed ──close()──▶ closed (final)
//
// Every await re-checks the state, every timer lives in `timers` (one clearAll() in close()), and
// no timer or port callback can throw.

import { writeSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { Backoff } from '../../common/backoff.ts';
import { createLogger } from '../../common/log.ts';
import { StateMachine, Timers, type Transitions } from '../../common/state-machine.ts';
import { SERIAL_BAUD } from '../../protocol/serial.ts';

export type LinkState = 'idle' | 'opening' | 'open' | 'waiting' | 'closed';

/** Every allowed transition, listed once (the drawing above), with what makes each. */
export const LINK_TRANSITIONS: Transitions<LinkState> = {
  idle: ['opening', 'closed'], //                open() | close()
  opening: ['open', 'waiting', 'closed'], //     port opened | open failed | close()
  open: ['waiting', 'closed'], //                port closed or lost | close()
  waiting: ['opening', 'closed'], //             reopen pause elapsed | close()
  closed: [], //                                 final
};

export interface SerialLinkOptions {
  path: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/** What the owner does at each turn of the link; each runs synchronously, inside the link's step. */
export interface LinkHooks {
  /** The port has just opened and is listened to. */
  opened(): void;
  data(chunk: Buffer): void;
  /** The open port went away (a reopen is scheduled right after). */
  lost(): void;
  /** News, never fatal: the link heals itself. */
  error(err: Error): void;
}

/** The motor board's logger, shared by the link and the motors: one component in the logs. */
export const log = createLogger('hardware.serial-motors');

/** Timer and event callbacks must never throw: a throw here would take the bridge down. */
export function guard(what: string, fn: () => void): void {
  try { fn(); } catch (err) { log.error(`unexpected failure in ${what}`, { err }); }
}

/**
 * The open port's file descriptor, where the binding exposes one (Linux and macOS bindings do;
 * it is not part of serialport's typed interface), else null.
 */
function descriptorOf(port: SerialPort): number | null {
  const fd = (port.port as { fd?: unknown } | undefined)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Resolves when `start` calls back, or after `ms` at the latest: a wedged line must not hang us. */
function bounded(ms: number, start: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    start(() => { clearTimeout(timer); resolve(); });
  });
}

export class SerialLink {
  /** Every timer of the link and its owner: close() clears them all. */
  readonly timers = new Timers();
  private readonly machine = new StateMachine<LinkState>('serial link', 'idle', LINK_TRANSITIONS);
  private readonly backoff: Backoff;
  private port: SerialPort | null = null;

  constructor(private readonly opts: SerialLinkOptions, private readonly hooks: LinkHooks) {
    this.backoff = new Backoff({ baseMs: opts.reconnectMinMs, maxMs: opts.reconnectMaxMs });
  }

  get state(): LinkState { return this.machine.state; }

  /** A method, not a field read, so a check after an await is not narrowed away by TypeScript. */
  is(...states: LinkState[]): boolean { return this.machine.is(...states); }

  /** Open, with the port still there (it is dropped the moment it goes away). */
  get writable(): boolean { return this.machine.is('open') && this.port !== null; }

  /**
   * Writes to an open port; false when there is none. When nothing else is queued or in flight,
   * the frame goes straight onto the descriptor: serialport writes through libuv's thread pool,
   * which on a loaded machine delayed a stop frame by up to 20 ms p99 (28 ms max; 0.1 ms written
   * directly: docs/RELIABILITY.md). With anything queued it is queued behind it, so frames
   * never overtake one another; a line too full to take it all at once gets the rest queued.
   */
  write(bytes: string): boolean {
    const port = this.port;
    if (!this.machine.is('open') || !port?.isOpen) return false;
    const data = Buffer.from(bytes, 'latin1');
    const fd = descriptorOf(port);
    let written = 0;
    if (fd !== null && port.writableLength === 0) {
      try {
        written = writeSync(fd, data);
      } catch {
        written = 0; // EAGAIN and the like: the stream's own write waits and reports errors
      }
    }
    if (written < data.length) port.write(data.subarray(written));
    return true;
  }

  /** Resolves once what was written has left, or after `ms`. */
  drain(ms: number): Promise<void> {
    const port = this.port;
    return port ? bounded(ms, (done) => port.drain(done)) : Promise.resolve();
  }

  /**
   * One attempt to open the port; a failure schedules the next one (the pause of the backoff).
   * Never rejects: a robot must come up without its motor board.
   */
  async open(): Promise<void> {
    if (this.machine.is('closed')) return;
    this.machine.to('opening');
    const port = new SerialPort({ path: this.opts.path, baudRate: SERIAL_BAUD, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      if (this.machine.is('closed')) return;
      this.hooks.error(err instanceof Error ? err : new Error(String(err)));
      log.warn('cannot open serial port, will retry', { path: this.opts.path, err, retryMs: this.backoff.peek() });
      this.scheduleReopen();
      return;
    }
    if (this.machine.is('closed')) {
      port.close(() => {});
      return;
    }
    // Whatever the board said while nobody listened is stale.
    port.flush(() => {});
    this.port = port;
    this.machine.to('open');
    this.backoff.reset();
    port.on('data', (chunk: Buffer) => guard('read', () => this.hooks.data(chunk)));
    port.on('error', (err: Error) => { log.warn('serial error', { err }); this.hooks.error(err); });
    port.on('close', (err?: Error) => guard('port closed', () => this.onPortClosed(port, err)));
    log.info('serial port open', { path: this.opts.path });
    this.hooks.opened();
  }

  /** Final: no reopen after this, no timer left; resolves once the port has closed (bounded by `ms`). */
  async close(ms: number): Promise<void> {
    if (!this.machine.is('closed')) this.machine.to('closed');
    this.timers.clearAll();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await bounded(ms, (done) => port.close(done));
  }

  private onPortClosed(port: SerialPort, err?: Error): void {
    if (this.port !== port || this.machine.is('closed')) return;
    this.port = null;
    log.warn('serial port went away, reopening', { path: this.opts.path, err });
    this.hooks.lost();
    this.hooks.error(new Error(`serial port ${this.opts.path} disconnected`));
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.machine.is('closed')) return;
    this.machine.to('waiting');
    this.timers.after(this.backoff.next(), () => {
      void this.open().catch((err: unknown) => log.error('reopen failed', { err }));
    }, 'reopen');
  }
}
