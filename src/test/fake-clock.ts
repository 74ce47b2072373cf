// A fake clock for the browser tests: setTimeout/setInterval, Date.now and performance.now are
// replaced while installed, and time moves only when the test says so. A rule about time (a
// 25 Hz drive loop, "no reconnect after stop") is then tested exactly and instantly, and a test
// that asserts that nothing happens can let an hour pass instead of guessing how long to wait.

interface Timer { id: number; at: number; every: number | null; fn: () => void }

export class FakeClock {
  private nowMs: number;
  private timers = new Map<number, Timer>();
  private nextId = 1;
  private readonly saved = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
    dateNow: Date.now,
    perfNow: performance.now.bind(performance),
  };
  /** performance.now()'s zero on the Date.now() scale, so both fake clocks move together. */
  private readonly origin = this.saved.dateNow() - this.saved.perfNow();

  private constructor(start: number) {
    this.nowMs = start;
  }

  /** Takes over the timers and clocks until uninstall(); starts at the real time now. */
  static install(): FakeClock {
    const clock = new FakeClock(Date.now());
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = (fn: () => void, ms = 0) => clock.add(fn, ms, null);
    g.setInterval = (fn: () => void, ms = 0) => clock.add(fn, ms, Math.max(1, ms));
    g.clearTimeout = g.clearInterval = (id: number | undefined) => { if (id !== undefined) clock.timers.delete(id); };
    Date.now = () => clock.nowMs;
    performance.now = () => clock.nowMs - clock.origin;
    return clock;
  }

  uninstall(): void {
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = this.saved.setTimeout;
    g.clearTimeout = this.saved.clearTimeout;
    g.setInterval = this.saved.setInterval;
    g.clearInterval = this.saved.clearInterval;
    Date.now = this.saved.dateNow;
    performance.now = this.saved.perfNow;
  }

  get now(): number {
    return this.nowMs;
  }

  /** Timers still scheduled (a stopped component should leave none). */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due in order, with the promises
   * they settle given their turn in between (as the event loop would).
   */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      await flushMicrotasks();
      const due = [...this.timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.nowMs = Math.max(this.nowMs, due.at);
      if (due.every === null) this.timers.delete(due.id);
      else due.at += due.every;
      due.fn();
    }
    this.nowMs = end;
    await flushMicrotasks();
  }

  private add(fn: () => void, ms: number, every: number | null): number {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.nowMs + Math.max(0, ms), every, fn });
    return id;
  }
}

/** Lets chains of already-settled promises run (await inside await…) without real time passing. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Runs `test` with a fake clock installed, and the real timers back afterwards whatever happens. */
export async function withFakeClock(test: (clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = FakeClock.install();
  try {
    await test(clock);
  } finally {
    clock.uninstall();
  }
}
