// Slows down guessing: every failed authentication from an address makes that address wait
// longer before its next answer (100 ms, doubling, up to 5 s), forgotten after 10 quiet minutes.
// Other addresses are not slowed; the map is bounded so a flood of addresses cannot grow it.

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;
const FORGET_AFTER_MS = 10 * 60 * 1000;
const MAX_ADDRESSES = 4096;

export class FailureBrake {
  private failures = new Map<string, { count: number; last: number }>();

  constructor(private now: () => number = Date.now) {}

  /** Records a failure and returns how long to wait before answering it. */
  fail(address: string): number {
    const t = this.now();
    const prev = this.failures.get(address);
    const count = prev && t - prev.last < FORGET_AFTER_MS ? prev.count + 1 : 1;
    if (!prev && this.failures.size >= MAX_ADDRESSES) {
      const first = this.failures.keys().next().value;
      if (first !== undefined) this.failures.delete(first);
    }
    this.failures.delete(address);
    this.failures.set(address, { count, last: t });
    return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(count - 1, 10));
  }

  failuresOf(address: string): number {
    return this.failures.get(address)?.count ?? 0;
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
