// Prometheus metrics (GET /metrics), one registry per relay instance so tests can run several.
// server/prometheus/alerts.yml and the Grafana dashboard query these names (a test checks them).
import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

/** `dataDir`: the filesystem whose free space is exported (the relay's state; in compose, Docker's volume disk). */
export function createMetrics(opts: { dataDir?: string } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'havatar_relay_process_' });
  /** Counts the hot path keeps in plain numbers (traffic.ts), handed over when a scrape reads them. */
  const beforeScrape: (() => void)[] = [];
  const messages = new Counter({
    name: 'havatar_relay_messages_total', help: 'Messages relayed, by direction and type',
    labelNames: ['direction', 'type'] as const, registers: [registry],
    collect() { for (const f of beforeScrape) f(); },
  });
  const refused = new Counter({
    name: 'havatar_relay_refused_total', help: 'Messages or connections refused, by error code',
    labelNames: ['code'] as const, registers: [registry],
  });
  const authFailures = new Counter({
    name: 'havatar_relay_auth_failures_total', help: 'Failed logins, by kind',
    labelNames: ['kind'] as const, registers: [registry],
  });
  const latency = new LatencyHistogram(
    'havatar_relay_forward_seconds', 'Time from receiving a frame to handing it to the next socket',
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registry,
  );
  const robots = new Gauge({ name: 'havatar_relay_robots_online', help: 'Robots connected to this relay', registers: [registry] });
  const clients = new Gauge({ name: 'havatar_relay_clients', help: 'Operator sockets connected to this relay', labelNames: ['role'] as const, registers: [registry] });
  // Per robot, so an alert can name the robot. Robot ids are registered ones only (a socket logs in
  // first), so the label set stays as small as the fleet.
  const robotConnected = new Gauge({
    name: 'havatar_relay_robot_connected', labelNames: ['robot'] as const, registers: [registry],
    help: 'Per robot: 1 while it is connected to this relay, 0 after it left (kept until the relay restarts)',
  });
  const robotClients = new Gauge({
    name: 'havatar_relay_robot_clients', labelNames: ['robot'] as const, registers: [registry],
    help: 'Per robot: operator sockets (drivers and viewers) open on its page on this relay, whether or not the robot is here',
  });
  if (opts.dataDir) registerDiskGauges(registry, opts.dataDir);
  return { registry, beforeScrape, messages, refused, authFailures, latency, robots, clients, robotConnected, robotClients };
}

/**
 * A Prometheus histogram by `direction`, observed twice per relayed message: a bucket search and
 * three additions. prom-client's Histogram hashes and checks its labels on every observe() (0.7 us
 * on this machine, 2-3 % of the relay's busy time at 28,000 msg/s); this one is registered in the
 * same registry and exported in the same text (the registry reads it through get()).
 */
class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one direction, bound once by the hot path (traffic.ts). */
  labels(l: { direction: string }): { observe(seconds: number): void } {
    let s = this.series.get(l.direction);
    if (!s) { s = { counts: this.bounds.map(() => 0), sum: 0, count: 0 }; this.series.set(l.direction, s); }
    const series = s, bounds = this.bounds;
    return {
      observe(seconds: number) {
        let i = 0;
        while (i < bounds.length && seconds > bounds[i]!) i++;
        if (i < bounds.length) series.counts[i]!++;
        series.sum += seconds;
        series.count++;
      },
    };
  }

  observe(l: { direction: string }, seconds: number): void { this.labels(l).observe(seconds); }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [direction, s] of this.series) {
      let acc = 0;
      this.bounds.forEach((le, i) => { acc += s.counts[i]!; values.push({ labels: { le, direction }, value: acc, metricName: `${this.name}_bucket` }); });
      values.push({ labels: { le: '+Inf', direction }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { direction }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { direction }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void { this.series.clear(); }
}

/**
 * Free and total bytes of the data dir's filesystem, read at each scrape. In compose that is the
 * disk Docker keeps every volume on (Redis, Prometheus, recordings), which is what fills up; it
 * spares a node_exporter with the host's root mounted into it.
 */
function registerDiskGauges(registry: Registry, dataDir: string): void {
  const read = async () => { const s = await statfs(dataDir); return { avail: s.bavail * s.bsize, size: s.blocks * s.bsize }; };
  new Gauge({
    name: 'havatar_relay_data_fs_avail_bytes', help: 'Bytes free for unprivileged writers on the filesystem of the relay\'s data dir', registers: [registry],
    async collect() { this.set((await read()).avail); },
  });
  new Gauge({
    name: 'havatar_relay_data_fs_size_bytes', help: 'Size in bytes of the filesystem of the relay\'s data dir', registers: [registry],
    async collect() { this.set((await read()).size); },
  });
}
export type Metrics = ReturnType<typeof createMetrics>;
