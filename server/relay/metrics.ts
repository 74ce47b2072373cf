// Prometheus metrics (GET /metrics), one registry per relay instance so tests can run several.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'havatar_relay_process_' });
  const messages = new Counter({
    name: 'havatar_relay_messages_total', help: 'Messages relayed, by direction and type',
    labelNames: ['direction', 'type'] as const, registers: [registry],
  });
  const refused = new Counter({
    name: 'havatar_relay_refused_total', help: 'Messages or connections refused, by error code',
    labelNames: ['code'] as const, registers: [registry],
  });
  const authFailures = new Counter({
    name: 'havatar_relay_auth_failures_total', help: 'Failed logins, by kind',
    labelNames: ['kind'] as const, registers: [registry],
  });
  const latency = new Histogram({
    name: 'havatar_relay_forward_seconds', help: 'Time from receiving a frame to handing it to the next socket',
    labelNames: ['direction'] as const, buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registers: [registry],
  });
  const robots = new Gauge({ name: 'havatar_relay_robots_online', help: 'Robots connected to this relay', registers: [registry] });
  const clients = new Gauge({ name: 'havatar_relay_clients', help: 'Operator sockets connected to this relay', labelNames: ['role'] as const, registers: [registry] });
  return { registry, messages, refused, authFailures, latency, robots, clients };
}
export type Metrics = ReturnType<typeof createMetrics>;
