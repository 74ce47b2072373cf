// What the relay counts about the frames it carries: Prometheus counters and latency histograms
// (metrics.ts) and the recent rate and forward latencies that /api/status reports. Messages are
// counted in plain numbers and handed to prom-client when a scrape reads them (metrics.ts
// beforeScrape): its inc() hashes and checks its labels on every call, and at 28,000 msg/s that
// was 2 % of the relay's busy time (bench/relay/capacity.ts, `--cpu-prof`).
import type { Metrics } from './metrics.ts';

type Direction = 'client_to_relay' | 'robot_to_relay' | 'relay_to_robot';

/** How many forward latencies status() takes its quantiles from. */
const LATENCY_SAMPLES = 2000;

/** One direction's counts by message type, with the prom-client child each is handed to. */
type Counts = Map<string, { n: number; child: { inc(n: number): void } }>;

export class Traffic {
  private readonly counts = new Map<Direction, Counts>();
  private readonly forwardSeconds;
  private readonly answerSeconds;
  /** Messages per second over the last 10 s, and the count of the second under way. */
  private readonly perSecond: number[] = [];
  private count = 0;
  /** The last LATENCY_SAMPLES forward latencies (ms), a ring. */
  private readonly latencies: number[] = [];
  private latencyAt = 0;

  constructor(private readonly metrics: Metrics) {
    this.forwardSeconds = metrics.latency.labels({ direction: 'client_to_robot' });
    this.answerSeconds = metrics.latency.labels({ direction: 'robot_to_client' });
    metrics.beforeScrape.push(() => this.flush());
  }

  counted(direction: Direction, type: string): void {
    let byType = this.counts.get(direction);
    if (!byType) { byType = new Map(); this.counts.set(direction, byType); }
    const c = byType.get(type);
    if (c) c.n++;
    else byType.set(type, { n: 1, child: this.metrics.messages.labels({ direction, type }) });
  }

  /** Hands the counts so far to prom-client. */
  private flush(): void {
    for (const byType of this.counts.values()) {
      for (const c of byType.values()) if (c.n) { c.child.inc(c.n); c.n = 0; }
    }
  }

  /** A message that came in and passed validation (the rate in /api/status). */
  received(direction: Direction, type: string): void {
    this.counted(direction, type);
    this.count++;
  }

  forwarded(ms: number): void {
    this.forwardSeconds.observe(ms / 1000);
    this.latencies[this.latencyAt] = ms;
    this.latencyAt = (this.latencyAt + 1) % LATENCY_SAMPLES;
  }

  answered(ms: number): void { this.answerSeconds.observe(ms / 1000); }

  /** Once a second. */
  second(): void {
    this.perSecond.push(this.count);
    this.count = 0;
    if (this.perSecond.length > 10) this.perSecond.shift();
  }

  status() {
    const rate = this.perSecond.length ? this.perSecond.reduce((a, b) => a + b, 0) / this.perSecond.length : 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3)) : null);
    return {
      messagesPerSecond: Number(rate.toFixed(1)),
      forwardLatencyMs: { p50: q(0.5), p99: q(0.99), samples: sorted.length },
    };
  }
}
