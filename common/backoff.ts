// Pause before the next retry: doubles per failed attempt from baseMs up to maxMs. With jitter the
// pause lands in [ceiling/2, ceiling], so several clients do not hammer a rebooting robot or relay
// in step; without it, it is exact (a supervisor restarting its own FFmpeg has nobody to collide
// with, and its tests read the pause). Pure: the browser and Node share it.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Spread each pause over [ceiling/2, ceiling]. */
  jitter?: boolean;
}

/** The pause before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return opts.jitter ? Math.round(ceiling * (0.5 + 0.5 * random())) : ceiling;
}

/** The retry count of one connection or process: next() after a failure, reset() once it works. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The pause before the next retry; each call counts one more failed attempt. */
  next(): number {
    this.attempt += 1;
    return backoffDelay(this.attempt, this.opts, this.random);
  }

  /** What next() would return, without counting an attempt (for logs and status). */
  peek(): number {
    return backoffDelay(this.attempt + 1, this.opts, () => 1);
  }

  /** Failed attempts since the last reset(). */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
