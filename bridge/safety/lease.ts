// One driver at a time. A session takes the lease when nobody holds it; anyone else is refused
// with the holder named. Released explicitly, or when the driver's connection goes away.

export interface Holder { session: string; name: string }

export type TakeResult = { ok: true; already: boolean } | { ok: false; holder: Holder };

export class Lease {
  private holder: Holder | null = null;
  private requestedBy: string | undefined;
  private listeners = new Set<(holder: Holder | null, requestedBy: string | undefined) => void>();

  get driver(): Holder | null {
    return this.holder ? { ...this.holder } : null;
  }

  isDriver(session: string): boolean {
    return this.holder?.session === session;
  }

  take(session: string, name: string): TakeResult {
    if (this.holder?.session === session) {
      this.holder.name = name;
      return { ok: true, already: true };
    }
    if (this.holder) return { ok: false, holder: { ...this.holder } };
    this.holder = { session, name };
    this.requestedBy = undefined;
    this.emit();
    return { ok: true, already: false };
  }

  /** Releases if `session` holds the lease; returns whether it did. */
  release(session: string): boolean {
    if (this.holder?.session !== session) return false;
    this.holder = null;
    this.requestedBy = undefined;
    this.emit();
    return true;
  }

  /** Asks the driver to hand over; returns false when there is no other driver to ask. */
  request(session: string): boolean {
    if (!this.holder || this.holder.session === session) return false;
    this.requestedBy = session;
    this.emit();
    return true;
  }

  /** Keeps the driver's shown name current (hello after take). */
  rename(session: string, name: string): void {
    if (this.holder?.session === session && this.holder.name !== name) {
      this.holder.name = name;
      this.emit();
    }
  }

  get pendingRequest(): string | undefined {
    return this.requestedBy;
  }

  onChange(fn: (holder: Holder | null, requestedBy: string | undefined) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.driver, this.requestedBy);
  }
}
