// Everything that moves the robot goes through here: the latest-wins gate, the deadman, and the
// stop broadcast. Handlers decide *who* may drive (the lease); this decides *whether* a command
// is applied and makes sure a silent or departed driver leaves a stopped robot.

import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log.ts';
import type { AckResult, StopReason } from '../../protocol/messages.ts';
import type { Motors } from '../hardware/types.ts';
import { CommandGate } from './command-gate.ts';
import { Deadman } from './deadman.ts';

export interface MotionCommand { seq: number; t: number; ttl: number; left: number; right: number }
export interface MotionOutcome { result: AckResult; reason?: string; serialRttMs?: number }
export interface StopEvent { reason: StopReason; by?: string; at: number }

/** Events: 'stopped' (StopEvent) whenever the bridge stops the motors. */
export class Motion extends EventEmitter {
  private gate: CommandGate;
  private deadman: Deadman;
  private readonly now: () => number;
  /** Session whose command is being obeyed (its silence trips the deadman). */
  private commander: string | null = null;
  private moving = false;
  private readonly onMotorsLost: () => void;

  /**
   * `now` (milliseconds) is for tests on a fake clock: it then drives the gate, the deadman and
   * arrival times alike. By default the gate and arrivals use Date.now and the deadman
   * performance.now, as each does on its own.
   */
  constructor(private motors: Motors, deadmanMs: number, private log: Logger, now?: () => number) {
    super();
    this.now = now ?? Date.now;
    this.gate = new CommandGate(now);
    // The board went quiet while moving: the ESP32's own watchdog stops the tracks, and the
    // operator must hear why, and must re-command after the link is back (targets start at zero).
    this.onMotorsLost = () => {
      if (this.moving) void this.stop('serial_lost', this.commander ?? undefined);
    };
    motors.on('disconnected', this.onMotorsLost);
    this.deadman = new Deadman(deadmanMs, (silentMs) => {
      // silentMs beyond deadmanMs is how late the timer ran (a busy event loop): the bench's stop time.
      this.log.warn('deadman: driver silent, stopping', { session: this.commander, deadmanMs: this.deadman.timeout, silentMs: Math.round(silentMs * 10) / 10 });
      void this.stop('deadman', this.commander ?? undefined);
    }, now);
  }

  setDeadmanMs(ms: number): void {
    this.deadman.setTimeout(ms);
  }

  get isMoving(): boolean {
    return this.moving;
  }

  /** Applies a motion command from `session` if it is the newest and still fresh. */
  async command(session: string, cmd: MotionCommand, arrivedAt = this.now()): Promise<MotionOutcome> {
    const verdict = this.gate.admit(session, cmd.seq, cmd.t, cmd.ttl, arrivedAt);
    if (verdict !== 'ok') {
      this.log.debug('motion command not applied', { session, seq: cmd.seq, verdict, ageMs: arrivedAt - cmd.t });
      return { result: verdict, reason: verdict === 'expired' ? 'arrived after its ttl' : 'a newer command was received' };
    }
    if (!this.gate.stillFresh(arrivedAt, cmd.ttl)) {
      this.log.debug('motion command not applied', { session, seq: cmd.seq, verdict: 'expired', waitedMs: this.now() - arrivedAt });
      return { result: 'expired', reason: 'waited longer than its ttl' };
    }
    const moving = cmd.left !== 0 || cmd.right !== 0;
    // How long ago the driver sent it: the deadman counts its silence from there. A moving command
    // sent a whole deadman time ago would move the robot past the moment the rule says it must be
    // stopped: it is never applied (a stop is always applied, however late).
    const agoMs = this.gate.ageOf(session, cmd.t, arrivedAt) + (this.now() - arrivedAt);
    if (moving && agoMs >= this.deadman.timeout) {
      this.log.debug('motion command not applied', { session, seq: cmd.seq, verdict: 'expired', agoMs });
      return { result: 'expired', reason: 'sent longer ago than the deadman time' };
    }
    this.commander = session;
    this.moving = moving;
    if (moving) this.deadman.arm(agoMs);
    else this.deadman.feed(agoMs);
    try {
      const { rttMs } = await this.motors.set(cmd.left, cmd.right);
      return { result: 'applied', serialRttMs: Math.round(rttMs * 10) / 10 };
    } catch (err) {
      return { result: 'refused', reason: `motor board did not confirm: ${(err as Error).message}`.slice(0, 200) };
    }
  }

  /**
   * A sign of life from the session in command (heartbeat), stamped `t` by the sender and
   * arrived at `arrivedAt` (both optional: without them it counts as sent now).
   */
  feed(session: string, t?: number, arrivedAt = this.now()): void {
    if (this.commander !== session) return;
    const agoMs = t === undefined ? 0 : this.gate.ageOf(session, t, arrivedAt) + (this.now() - arrivedAt);
    this.deadman.feed(agoMs);
  }

  /** The session's round trip to us as it measured it (heartbeat `rtt`): see CommandGate.noteRoundTrip. */
  noteRoundTrip(session: string, rttMs: number): void {
    this.gate.noteRoundTrip(session, rttMs);
  }

  /** Stops now and tells everyone why. Never throws: a failed stop is logged (the ESP32 watchdog is the backstop). */
  async stop(reason: StopReason, by?: string): Promise<void> {
    this.deadman.disarm();
    this.moving = false;
    const event: StopEvent = by === undefined ? { reason, at: this.now() } : { reason, by, at: this.now() };
    // The stop frame is written (synchronously, inside motors.stop) before anyone is told: the
    // broadcast serialises a message per session, and the motors must not wait for that.
    const stopping = this.motors.stop();
    this.emit('stopped', event);
    try {
      await stopping;
    } catch (err) {
      this.log.error('stop failed; relying on the ESP32 watchdog', { reason, err });
    }
  }

  /** The session left: forget its pace, and stop at once if it was the one driving. */
  async sessionGone(session: string, reason: StopReason = 'disconnect'): Promise<void> {
    this.gate.forget(session);
    if (this.commander === session) {
      this.commander = null;
      await this.stop(reason, session);
    }
  }

  close(): void {
    this.deadman.disarm();
    this.motors.off('disconnected', this.onMotorsLost);
  }
}
