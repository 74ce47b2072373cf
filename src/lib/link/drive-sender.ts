// The drive loop: a fixed timer samples the input and sends a drive command while the stick (or
// key, or gamepad) is held; input events never send anything themselves. Releasing sends one stop.
// A halt (tab hidden, focus lost, link degraded, stop button) sends stop, remembers why, and
// ignores the input until it has been released once — so the robot never drives off by itself
// when the operator comes back with a finger still on the glass.

import { DRIVER_SEND_INTERVAL_MS } from '../../../protocol/limits.ts';
import type { Tracks } from '../control/mix.ts';
import type { CommandQueue } from './command-queue.ts';

/** 25 Hz: inside the bridge's 50 ms driver interval and far inside its 250 ms deadman. */
export const DRIVE_INTERVAL_MS = Math.min(40, DRIVER_SEND_INTERVAL_MS);

export interface DriveSample { held: boolean; tracks: Tracks }

export type HaltReason = 'stop button' | 'tab hidden' | 'window lost focus' | 'link degraded' | 'link lost' | 'control released' | 'not the driver';

export class DriveSender {
  private timer: ReturnType<typeof setInterval> | undefined;
  private wasSending = false;
  /** Set by halt(); cleared when the input is released. */
  halted: HaltReason | null = null;
  /** The last halt, kept for the operator until driving resumes. */
  lastHalt: { reason: HaltReason; at: number } | null = null;
  /** Last tracks sent (for the heads-up line). */
  last: Tracks = { left: 0, right: 0 };

  constructor(
    private readonly queue: Pick<CommandQueue, 'sendDrive' | 'sendStop'>,
    private readonly sample: () => DriveSample,
    private readonly mayDrive: () => boolean,
    private readonly onChange: () => void = () => {},
    private readonly intervalMs = DRIVE_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer === undefined) this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.wasSending) this.queue.sendStop();
    this.wasSending = false;
  }

  /** Drive commands are going out (input held and accepted). */
  get sending(): boolean {
    return this.wasSending;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Stops the robot now and says why; driving resumes only after the input is released. */
  halt(reason: HaltReason): void {
    this.queue.sendStop();
    this.wasSending = false;
    this.last = { left: 0, right: 0 };
    this.halted = reason;
    this.lastHalt = { reason, at: Date.now() };
    this.onChange();
  }

  tick(): void {
    const s = this.sample();
    if (!s.held) {
      if (this.wasSending) {
        this.queue.sendStop();
        this.last = { left: 0, right: 0 };
        this.wasSending = false;
        this.onChange();
      }
      if (this.halted) {
        this.halted = null;
        this.onChange();
      }
      return;
    }
    if (this.halted || !this.mayDrive()) return;
    if (this.queue.sendDrive(s.tracks)) {
      if (this.lastHalt) {
        this.lastHalt = null;
        this.onChange();
      }
      this.wasSending = true;
      this.last = s.tracks;
    }
  }
}
