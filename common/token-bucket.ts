// A message-rate limit: a bucket of `burst` tokens refilled at `perSecond`; each message takes one.
// Unlike a fixed one-second window it has no boundary where twice the rate slips through, and a
// steady sender at the rate is never refused. The time is passed in (monotonic ms), so tests and
// the relay's fake clock drive it without timers.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes a token if there is one. `perSecond`/`burst` may be given per call for a bucket whose
   * rate follows something else (the relay's robot answers for a whole room).
   */
  take(now: number, perSecond = this.perSecond, burst = this.burst): boolean {
    this.tokens = Math.min(burst, this.tokens + (Math.max(0, now - this.last) / 1000) * perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
