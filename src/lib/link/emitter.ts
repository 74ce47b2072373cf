// A tiny typed event emitter: listeners get a function to unsubscribe, so controllers can drop
// every subscription in hostDisconnected without keeping the handler around.

export class Emitter<Events extends Record<string, unknown>> {
  private readonly map = new Map<keyof Events, Set<(v: never) => void>>();

  on<K extends keyof Events>(type: K, fn: (value: Events[K]) => void): () => void {
    let set = this.map.get(type);
    if (!set) this.map.set(type, (set = new Set()));
    set.add(fn as (v: never) => void);
    return () => set.delete(fn as (v: never) => void);
  }

  emit<K extends keyof Events>(type: K, value: Events[K]): void {
    for (const fn of [...(this.map.get(type) ?? [])]) (fn as (v: Events[K]) => void)(value);
  }
}
