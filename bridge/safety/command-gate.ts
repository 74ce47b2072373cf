// Latest-wins for motion commands, per session: a command with a seq not newer than the last one
// seen is superseded; a command that arrives later than its ttl allows is expired. Neither is ever
// applied. Lateness is measured without trusting the sender's clock: the smallest (arrival - t)
// seen on a session is its clock offset plus the best transit time, and anything arriving more
// than ttl behind that pace was held up somewhere (a stalled socket, a queue) and is stale.

export type GateVerdict = 'ok' | 'superseded' | 'expired';

interface SessionPace { lastSeq: number; minDelta: number }

export class CommandGate {
  private sessions = new Map<string, SessionPace>();

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
    return delta - minDelta > ttl ? 'expired' : 'ok';
  }

  /**
   * How long ago the session sent a message stamped `t`, in our clock: how far it arrived behind
   * the session's best pace (0 when on pace or unknown). `t + minDelta` is the earliest the
   * message could have reached us, so the age is never overstated. A heartbeat is a pace sample
   * too (same sender clock), so it can set the pace as a command does.
   */
  ageOf(session: string, t: number, arrivedAt = this.now()): number {
    const pace = this.sessions.get(session);
    const delta = arrivedAt - t;
    if (!pace) return 0;
    if (delta < pace.minDelta) pace.minDelta = delta;
    return delta - pace.minDelta;
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
  }
}
