// Latest-wins for motion commands, per session: a command with a seq not newer than the last one
// seen is superseded; a command that arrives later than its ttl allows is expired. Neither is ever
// applied. Lateness is measured without trusting the sender's clock: the smallest (arrival - t)
// seen on a session is its clock offset plus the best transit time, and anything arriving more
// than ttl behind that pace was held up somewhere (a stalled socket, a queue) and is stale.
// That pace still includes the best transit, so a message's age alone would leave the robot one
// one-way trip behind its driver; the driver's own round trip to us (heartbeat rtt) says how long
// that trip is, and half of it is added back. A sender can only make its own deadline earlier
// with it: an rtt overstated stops the robot sooner, one left out counts as no transit at all.

export type GateVerdict = 'ok' | 'superseded' | 'expired';

interface SessionPace { lastSeq: number; minDelta: number }

/**
 * The most transit a round trip may add, so a driver keeps at least 200 ms (five commands at the
 * app's pace) for jitter and loss. Half a round trip overstates the way in when the way back is
 * the slower one, and a robot on a thin uplink is that case: its own video fills the queue its
 * answers wait in. Uncapped on the bad-4G field profile (1 Mbit/s robot uplink) the deadman took
 * 138-161 false stops in 20 s and drive was smooth 53-65 % of the time, against 6-14 and 92-98 %
 * before (docs/RELIABILITY.md). 50 ms covers the one-way trip of ordinary 4G (field/profiles.ts).
 */
export const MAX_TRANSIT_MS = 50;

export class CommandGate {
  private sessions = new Map<string, SessionPace>();
  /** Half the smallest round trip each session reported: its one-way transit to us. */
  private transit = new Map<string, number>();

  constructor(private now: () => number = Date.now) {}

  /** Judges a command on arrival. */
  admit(session: string, seq: number, t: number, ttl: number, arrivedAt = this.now()): GateVerdict {
    const pace = this.sessions.get(session);
    const delta = arrivedAt - t;
    if (pace && seq <= pace.lastSeq) return 'superseded';
    const minDelta = pace ? Math.min(pace.minDelta, delta) : delta;
    if (pace) pace.minDelta = minDelta;
    else this.sessions.set(session, { lastSeq: -1, minDelta });
    // The seq counts as seen even when expired: an older command must not slip in after it.
    this.sessions.get(session)!.lastSeq = seq;
    return delta - minDelta + this.transitOf(session) > ttl ? 'expired' : 'ok';
  }

  /**
   * The sender's round trip to us (its heartbeat's `rtt`): the smallest one a session reports
   * is the best estimate of its path, as the smallest delta is of its clock.
   */
  noteRoundTrip(session: string, rttMs: number): void {
    const half = Math.min(MAX_TRANSIT_MS, Math.max(0, rttMs / 2));
    this.transit.set(session, Math.min(this.transit.get(session) ?? Infinity, half));
  }

  private transitOf(session: string): number {
    return this.transit.get(session) ?? 0;
  }

  /**
   * How long ago the session sent a message stamped `t`, in our clock: how far it arrived behind
   * the session's best pace, plus the session's one-way transit (0 while unknown). `t + minDelta`
   * is the earliest the message could have reached us and the transit the least any message
   * spends on the way, so the age is never overstated beyond what the sender itself reported. A
   * heartbeat is a pace sample too (same sender clock), so it can set the pace as a command does.
   */
  ageOf(session: string, t: number, arrivedAt = this.now()): number {
    const pace = this.sessions.get(session);
    const delta = arrivedAt - t;
    if (!pace) return this.transitOf(session);
    if (delta < pace.minDelta) pace.minDelta = delta;
    return delta - pace.minDelta + this.transitOf(session);
  }

  /** True while an admitted command is still within its ttl (checked again right before applying). */
  stillFresh(arrivedAt: number, ttl: number): boolean {
    return this.now() - arrivedAt <= ttl;
  }

  /** Whether `seq` is still the newest admitted for the session (a newer one makes it moot). */
  isLatest(session: string, seq: number): boolean {
    return this.sessions.get(session)?.lastSeq === seq;
  }

  forget(session: string): void {
    this.sessions.delete(session);
    this.transit.delete(session);
  }
}
