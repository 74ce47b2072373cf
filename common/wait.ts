// The one waiting helper of the test suites, for Node and the browser alike (no Node imports):
// tests wait for the outcome they expect, never for a guessed amount of time, and a wait that
// gives up says what it waited for and what it saw last, so a failure explains itself.

export interface WaitOptions {
  /** Give up after this long (default 3000 ms). */
  timeoutMs?: number;
  /** Look again this often while polling (default 20 ms). */
  everyMs?: number;
}

export class WaitTimeout extends Error {
  constructor(readonly what: string, readonly timeoutMs: number, readonly lastSeen: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${describe(lastSeen)}`);
    this.name = 'WaitTimeout';
  }
}

/** A short, readable rendering of whatever a wait saw last (objects as JSON, cut at 400 chars). */
function describe(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

/**
 * Polls `probe` until `done` accepts its value, and returns that value. A probe that throws counts
 * as not done yet (a server still starting); its error is what the timeout reports as last seen.
 * `options` may be just the timeout in ms.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (v: T) => boolean = (v) => Boolean(v),
  options: WaitOptions | number = {},
): Promise<T> {
  const opts = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const everyMs = opts.everyMs ?? 20;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (done(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) throw new WaitTimeout(what, timeoutMs, last);
    await sleep(everyMs);
  }
}

/** Resolves `promise` or fails naming `what`, after `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(what, timeoutMs, 'no outcome')), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits a fixed time. Only for time that is itself the stimulus (a driver that stays silent, a
 * steady pace of commands), never to guess when something happened: use waitFor for that.
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
