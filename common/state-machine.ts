// The two pieces every lifecycle in the app, the bridge and the relay is built from:
//
// - StateMachine: named states and the allowed transitions, listed once as `{ from: [to, …] }`.
//   `to(next)` is the only way to change the state. An illegal transition throws in tests and in
//   the dev server, and in the built app logs loudly and is refused (the state stays): a robot UI
//   must never crash mid-drive over a bookkeeping mistake, but a mistake must never pass a test.
//   The switch is `import.meta.env.PROD`, which only Vite's production build sets: the browser
//   tests (esbuild through web-test-runner) and `vite` dev have it unset, so they throw.
// - Timers: every timer a machine starts, so one clearAll() on each exit path leaves none behind.

export type Transitions<S extends string> = { readonly [K in S]: readonly S[] };

const nodeEnv = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
/** True where an illegal transition must throw: tests and the dev server, not production. */
export const STRICT_TRANSITIONS: boolean = nodeEnv
  ? nodeEnv.NODE_TEST_CONTEXT !== undefined || nodeEnv.HAVATAR_STRICT_STATES === '1'
  : !(import.meta as ImportMeta & { env?: { PROD?: boolean } }).env?.PROD;

export class IllegalTransition extends Error {
  constructor(machine: string, from: string, to: string) {
    super(`${machine}: illegal transition ${from} → ${to}`);
    this.name = 'IllegalTransition';
  }
}

export class StateMachine<S extends string> {
  private current: S;

  constructor(
    /** Named in messages, e.g. 'whep session'. */
    readonly name: string,
    initial: S,
    readonly transitions: Transitions<S>,
    private readonly strict = STRICT_TRANSITIONS,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  is(...states: S[]): boolean {
    return states.includes(this.current);
  }

  can(next: S): boolean {
    return this.transitions[this.current].includes(next);
  }

  /** Moves to `next`; false (after throwing in strict mode, or logging) when that is not allowed. */
  to(next: S): boolean {
    if (!this.can(next)) {
      const err = new IllegalTransition(this.name, this.current, next);
      if (this.strict) throw err;
      console.error(`${err.message} (refused)`);
      return false;
    }
    this.current = next;
    return true;
  }
}

/** The timers one owner started; clearAll() on every exit path. */
export class Timers {
  private readonly live = new Map<string, { id: ReturnType<typeof setTimeout>; every: boolean }>();
  /** Ends each poll() still waiting, with false. */
  private readonly polls = new Set<() => void>();
  private anon = 0;

  /** Runs `fn` once after `ms`; a timer of the same name is replaced. Unnamed ones are all kept. */
  after(ms: number, fn: () => void, name = `#${++this.anon}`): void {
    this.clear(name);
    const id = setTimeout(() => {
      this.live.delete(name);
      fn();
    }, ms);
    this.live.set(name, { id, every: false });
  }

  /** Runs `fn` every `ms`; a timer of the same name is replaced. */
  every(ms: number, fn: () => void, name: string): void {
    this.clear(name);
    this.live.set(name, { id: setInterval(fn, ms), every: true });
  }

  clear(name: string): void {
    const t = this.live.get(name);
    if (!t) return;
    if (t.every) clearInterval(t.id);
    else clearTimeout(t.id);
    this.live.delete(name);
  }

  /** Clears every timer; a poll() still waiting ends with false. */
  clearAll(): void {
    for (const name of [...this.live.keys()]) this.clear(name);
    for (const end of [...this.polls]) end();
  }

  /** Checks `cond` now and every `everyMs`: true once it holds, false after `timeoutMs` or at clearAll(). */
  poll(cond: () => boolean, everyMs: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const end = performance.now() + timeoutMs;
      const name = `poll#${++this.anon}`;
      const done = (ok: boolean): void => {
        this.polls.delete(cancel);
        this.clear(name);
        resolve(ok);
      };
      const cancel = (): void => done(false);
      this.polls.add(cancel);
      const tick = (): void => {
        if (cond()) return done(true);
        if (performance.now() > end) return done(false);
        this.after(everyMs, tick, name);
      };
      tick();
    });
  }

  has(name: string): boolean {
    return this.live.has(name);
  }

  /** How many are scheduled now. */
  get size(): number {
    return this.live.size;
  }
}
