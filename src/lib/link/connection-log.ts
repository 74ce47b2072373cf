// The app's own connection log, shown on the status view: what the link did and why.

export interface LogEntry { at: number; text: string }

export class ConnectionLog {
  private readonly entries: LogEntry[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly capacity = 200) {}

  add(text: string, at: number = Date.now()): void {
    this.entries.push({ at, text });
    if (this.entries.length > this.capacity) this.entries.shift();
    for (const fn of this.listeners) fn();
  }

  get all(): readonly LogEntry[] {
    return this.entries;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
