// Slows down guessing: each failed login from an address within `windowMs` doubles how long its
// answer is held back (baseDelayMs, 2×, 4×, … up to maxDelayMs); with `lockAfter`, an address with
// that many failures in the window is locked until the oldest leaves it. Other addresses are not
// slowed. Callers check the credential first and consult the brake only for a wrong one: a right
// credential is never refused because of failures from its address, which may be a proxy, a NAT
// or an attacker's (else anyone could lock everyone out), while guessing stays slowed and locked. Bounded both ways, so a flood of source addresses cannot grow it without end:
// at most `maxAddresses` addresses (the one that failed longest ago is dropped for a newcomer),
// and per address only the last few failures (enough to reach the cap and the lockout).

export interface LoginBrakeOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** A failure counts for this long. */
  windowMs: number;
  /** Failures in the window that lock an address out; none: never locked, only slowed. */
  lockAfter?: number;
  maxAddresses?: number;
  now?: () => number;
}

export const DEFAULT_MAX_ADDRESSES = 4096;

export class LoginBrake {
  /** Failure times per address, oldest first; Map order is the order of each address's last failure. */
  private readonly failures = new Map<string, number[]>();
  private readonly keep: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly o: LoginBrakeOptions) {
    this.maxAddresses = o.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    this.now = o.now ?? Date.now;
    const toCap = Math.ceil(Math.log2(Math.max(1, o.maxDelayMs / o.baseDelayMs))) + 1;
    this.keep = Math.max(toCap, o.lockAfter ?? 0, 1);
  }

  /** Failures from `address` still in the window. */
  failuresOf(address: string): number {
    return this.recent(address).length;
  }

  /**
   * True while `address` has failed `lockAfter` times in the window: its wrong credentials get a
   * lock-out answer (429). Not a reason to refuse a credential unchecked (see the top).
   */
  locked(address: string): boolean {
    return this.o.lockAfter !== undefined && this.failuresOf(address) >= this.o.lockAfter;
  }

  /** Records a failure and returns how long to hold its answer back. */
  fail(address: string): number {
    const list = this.recent(address);
    list.push(this.now());
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
    this.failures.delete(address);
    if (this.failures.size >= this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(address, list);
    return Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (list.length - 1));
  }

  /** A success forgets the address's failures. */
  succeed(address: string): void {
    this.failures.delete(address);
  }

  /** How many addresses are remembered (bounded by maxAddresses). */
  get size(): number {
    return this.failures.size;
  }

  private recent(address: string): number[] {
    const list = this.failures.get(address);
    if (!list) return [];
    const cutoff = this.now() - this.o.windowMs;
    const live = list.filter((t) => t > cutoff);
    if (!live.length) this.failures.delete(address);
    else if (live.length !== list.length) this.failures.set(address, live);
    return live;
  }
}
