// Reconnect pause: doubles per failed attempt up to a ceiling, with jitter so several phones do
// not hammer a rebooting robot in step.

export interface BackoffOptions { baseMs: number; maxMs: number }
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 8000 };

/** attempt 1 = first retry. Result in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}
