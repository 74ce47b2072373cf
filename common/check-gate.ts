// A bound on expensive checks (scrypt): a few run at once, a few wait, the rest are turned away at
// once with `full()`'s error instead of queueing behind a flood of guesses. A finished check hands
// its place straight to the next waiter. The bridge's operator token and the relay's robot
// passwords share it.

export class CheckGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly atOnce: number,
    private readonly maxWaiting: number,
    private readonly full: () => Error,
  ) {}

  /** A slot is free now. */
  get idle(): boolean { return this.running < this.atOnce; }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.atOnce) {
      if (this.waiting.length >= this.maxWaiting) throw this.full();
      await new Promise<void>((r) => this.waiting.push(r));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); else this.running--;
    }
  }
}
