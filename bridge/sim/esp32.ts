// The simulated ESP32 motor board: speaks protocol/serial.ts on the device end of a pty exactly as
// the firmware does on its UART, and drives a SimWorld. A first-class part of the product (npm
// start runs it), so it behaves like the board, including the watchdog that stops a robot whose
// bridge died.

import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { createLogger } from '../../common/log.ts';
import { ESP32_WATCHDOG_MS } from '../../protocol/limits.ts';
import {
  LineSplitter, PWM_MAX, SERIAL_BAUD, SERIAL_PROTOCOL_VERSION, SerialAck, SerialError, SerialFlag,
  decodeSerial, encodeSerial, type DeviceFrame, type HostFrame,
} from '../../protocol/serial.ts';
import { SimWorld, type Pose } from './world.ts';

export const SIM_FIRMWARE = 'sim-1.0.0';
/** The firmware's control loop period. */
export const TICK_MS = 10;
/** Largest PWM change per tick: full scale (255) in 100 ms, so a step on the stick does not jerk the gearbox. */
export const MAX_SLEW_PER_TICK = PWM_MAX / 10;
export const STATUS_INTERVAL_MS = 200;
/** How many received motor frames the simulator remembers for tests and /state. */
export const MOTOR_LOG_SIZE = 50;

/** Bytes waiting to be written beyond which frames are dropped (nobody is reading). */
const TX_BACKLOG_BYTES = 1024;

export interface MotorFrameRecord { at: number; seq: number; left: number; right: number }

export interface Esp32State {
  /** PWM now, after ramping. */
  left: number;
  right: number;
  targetLeft: number;
  targetRight: number;
  pose: Pose;
  distanceM: number;
  batteryMv: number;
  watchdogTripped: boolean;
  stopped: boolean;
  framesReceived: number;
  framesRejected: number;
  /** Date.now() of the last valid $M, or null before the first. */
  lastValidFrameAt: number | null;
  /** Date.now() when moving tracks were last cut at once ($S or the watchdog), or null: the stop time the safety tests and the bench measure. */
  lastStopAt: number | null;
  watchdogTrips: number;
  lastMotorFrames: MotorFrameRecord[];
}

export interface SimulatedEsp32Options {
  /** Device end of the serial link (the pty's ttyESP). */
  path: string;
  world?: SimWorld;
  watchdogMs?: number;
  statusIntervalMs?: number;
}

const log = createLogger('sim.esp32');

/**
 * Events: 'frame' (HostFrame, each valid frame received), 'rejected' ({ line, code }), 'state'
 * (Esp32State, with every status frame sent), 'watchdog' (when it trips).
 */
export class SimulatedEsp32 extends EventEmitter {
  readonly world: SimWorld;
  readonly path: string;
  targetLeft = 0;
  targetRight = 0;
  left = 0;
  right = 0;
  watchdogTripped = false;
  framesReceived = 0;
  framesRejected = 0;
  lastValidFrameAt: number | null = null;
  lastStopAt: number | null = null;
  watchdogTrips = 0;
  readonly lastMotorFrames: MotorFrameRecord[] = [];

  private readonly watchdogMs: number;
  private readonly statusIntervalMs: number;
  private port: SerialPort | null = null;
  private readonly splitter = new LineSplitter();
  private tickTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  /** Monotonic time of the last valid $M; watchdog is armed once the first one arrives. */
  private lastMotorMono: number | null = null;
  private lastTickMono = 0;

  constructor(opts: SimulatedEsp32Options) {
    super();
    this.path = opts.path;
    this.world = opts.world ?? new SimWorld();
    this.watchdogMs = opts.watchdogMs ?? ESP32_WATCHDOG_MS;
    this.statusIntervalMs = opts.statusIntervalMs ?? STATUS_INTERVAL_MS;
  }

  get stopped(): boolean { return this.left === 0 && this.right === 0; }

  get flags(): number {
    return (this.watchdogTripped ? SerialFlag.watchdog : 0) | (this.stopped ? SerialFlag.stopped : 0);
  }

  snapshot(): Esp32State {
    return {
      left: Math.round(this.left), right: Math.round(this.right), targetLeft: this.targetLeft, targetRight: this.targetRight,
      pose: { ...this.world.pose }, distanceM: this.world.distanceM, batteryMv: this.world.batteryMv,
      watchdogTripped: this.watchdogTripped, stopped: this.stopped,
      framesReceived: this.framesReceived, framesRejected: this.framesRejected,
      lastValidFrameAt: this.lastValidFrameAt, lastStopAt: this.lastStopAt, watchdogTrips: this.watchdogTrips,
      lastMotorFrames: this.lastMotorFrames.slice(),
    };
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: SERIAL_BAUD, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    port.on('data', (chunk: Buffer) => this.onData(chunk.toString('latin1')));
    port.on('error', (err) => log.warn('serial error', { err }));
    port.on('close', () => { if (this.port === port) this.port = null; });
    this.lastTickMono = performance.now();
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.statusTimer = setInterval(() => this.sendStatus(), this.statusIntervalMs);
    this.send({ type: 'H', firmware: SIM_FIRMWARE, protocol: SERIAL_PROTOCOL_VERSION });
    log.info('simulated ESP32 up', { path: this.path });
  }

  async close(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.tickTimer = this.statusTimer = null;
    this.hardStop();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private send(frame: DeviceFrame): void {
    const port = this.port;
    if (!port?.isOpen) return;
    // A UART without flow control drops what nobody reads; so do we, instead of queueing forever
    // while no bridge has the other end open.
    if (port.writableLength > TX_BACKLOG_BYTES) return;
    port.write(encodeSerial(frame), 'latin1', (err) => { if (err) log.debug('write failed', { err }); });
  }

  private onData(text: string): void {
    for (const line of this.splitter.push(text)) this.onLine(line);
  }

  private onLine(line: string): void {
    const got = decodeSerial(line);
    if (!got.ok) {
      this.framesRejected++;
      this.emit('rejected', { line, code: got.code });
      // An intact frame with an out-of-range value names its seq: answer that command directly.
      if (got.code === SerialError.range && got.seq !== undefined) this.send({ type: 'A', seq: got.seq, code: SerialAck.outOfRange });
      else this.send({ type: 'E', code: got.code });
      return;
    }
    const frame = got.frame;
    if (frame.type !== 'M' && frame.type !== 'S' && frame.type !== 'Q') {
      // A device frame sent to the device is well-formed but not something it accepts.
      this.framesRejected++;
      this.emit('rejected', { line, code: SerialError.unknownType });
      this.send({ type: 'E', code: SerialError.unknownType });
      return;
    }
    this.framesReceived++;
    this.apply(frame);
    this.emit('frame', frame);
  }

  private apply(frame: HostFrame): void {
    switch (frame.type) {
      case 'M': {
        this.targetLeft = frame.left;
        this.targetRight = frame.right;
        this.lastMotorMono = performance.now();
        this.lastValidFrameAt = Date.now();
        this.watchdogTripped = false;
        this.lastMotorFrames.push({ at: this.lastValidFrameAt, seq: frame.seq, left: frame.left, right: frame.right });
        if (this.lastMotorFrames.length > MOTOR_LOG_SIZE) this.lastMotorFrames.shift();
        this.send({ type: 'A', seq: frame.seq, code: SerialAck.applied });
        return;
      }
      case 'S':
        this.hardStop();
        this.send({ type: 'A', seq: frame.seq, code: SerialAck.applied });
        this.sendStatus();
        return;
      case 'Q':
        this.send({ type: 'A', seq: frame.seq, code: SerialAck.applied });
        this.sendStatus();
        return;
    }
  }

  /** Stop and watchdog cut the drive at once: no ramp-down when stopping is the point. */
  private hardStop(): void {
    if (this.left !== 0 || this.right !== 0 || this.targetLeft !== 0 || this.targetRight !== 0) this.lastStopAt = Date.now();
    this.targetLeft = this.targetRight = 0;
    this.left = this.right = 0;
  }

  private tick(): void {
    const now = performance.now();
    const dt = now - this.lastTickMono;
    this.lastTickMono = now;
    if (this.lastMotorMono !== null && !this.watchdogTripped && now - this.lastMotorMono > this.watchdogMs) {
      this.hardStop();
      this.watchdogTripped = true;
      this.watchdogTrips++;
      log.warn('watchdog tripped: no valid motor frame', { ms: Math.round(now - this.lastMotorMono) });
      this.emit('watchdog');
      this.sendStatus();
    }
    // Slew by elapsed time, not tick count, so a late timer does not slow the ramp.
    const step = MAX_SLEW_PER_TICK * (dt / TICK_MS);
    this.left = slew(this.left, this.targetLeft, step);
    this.right = slew(this.right, this.targetRight, step);
    this.world.update(this.left, this.right, dt);
  }

  private sendStatus(): void {
    this.send({ type: 'T', left: Math.round(this.left), right: Math.round(this.right), mv: this.world.batteryMv, flags: this.flags });
    this.emit('state', this.snapshot());
  }
}

function slew(now: number, target: number, step: number): number {
  if (Math.abs(target - now) <= step) return target;
  return now + Math.sign(target - now) * step;
}
