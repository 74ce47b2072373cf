// A TCP proxy on loopback that holds the client's bytes the way a bad link does: a one-way delay
// with jitter (never reordering: TCP delivers in order, so a late segment holds back all behind
// it), stalls (nothing delivered for N ms, as while TCP waits out a retransmission timeout), and a
// cut (the operator gone without a FIN: nothing more ever arrives). The robot → client direction
// passes straight through. For the drive-through-stalls test and bench.

import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface StallProxyOptions {
  /** Where to forward (the bridge's HTTP port). */
  targetPort: number;
  /** One-way delay added to every client chunk, ms. */
  delayMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per chunk, kept in order. */
  jitterMs?: number;
  /** Random source in [0, 1) (seeded in tests that need repeatable jitter). */
  random?: () => number;
}

interface Held { due: number; chunk: Buffer }

export class StallProxy {
  readonly server: Server;
  delayMs: number;
  jitterMs: number;
  private readonly random: () => number;
  private holdUntil = 0;
  private cutOff = false;
  private readonly pipes = new Set<{ client: Socket; upstream: Socket; timer: NodeJS.Timeout | null }>();

  private constructor(private readonly opts: StallProxyOptions) {
    this.delayMs = opts.delayMs ?? 0;
    this.jitterMs = opts.jitterMs ?? 0;
    this.random = opts.random ?? Math.random;
    this.server = createServer((client) => this.accept(client));
  }

  static async start(opts: StallProxyOptions): Promise<StallProxy> {
    const p = new StallProxy(opts);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Nothing from the client is delivered for the next `ms` (what is held arrives at once after). */
  stall(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, performance.now() + ms);
  }

  /** From now on nothing from the client is delivered, and nothing held either (no FIN is sent). */
  cut(): void {
    this.cutOff = true;
  }

  async close(): Promise<void> {
    for (const p of this.pipes) {
      if (p.timer) clearTimeout(p.timer);
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pipes.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    const upstream = connect(this.opts.targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    const pipe = { client, upstream, timer: null as NodeJS.Timeout | null };
    this.pipes.add(pipe);
    const queue: Held[] = [];
    let lastDue = 0;
    const pump = (): void => {
      pipe.timer = null;
      if (this.cutOff) { queue.length = 0; return; }
      const now = performance.now();
      while (queue.length && queue[0]!.due <= now && now >= this.holdUntil) upstream.write(queue.shift()!.chunk);
      if (queue.length) pipe.timer = setTimeout(pump, Math.max(1, Math.ceil(Math.max(queue[0]!.due, this.holdUntil) - now)));
    };
    client.on('data', (chunk: Buffer) => {
      if (this.cutOff) return;
      const due = Math.max(lastDue, performance.now() + this.delayMs + this.random() * this.jitterMs);
      lastDue = due;
      queue.push({ due, chunk });
      if (!pipe.timer) pump();
    });
    upstream.on('data', (chunk: Buffer) => { if (!client.destroyed) client.write(chunk); });
    const end = (): void => {
      if (pipe.timer) clearTimeout(pipe.timer);
      this.pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }
}
