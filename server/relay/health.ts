// GET /health's checks: the relay is healthy when what it depends on answers — MediaMTX's API
// (unless configured off) and, with REDIS_URL, Redis for both the store and the bus.
import type { Bus } from './bus.ts';
import type { Store } from './store.ts';

export interface Health { ok: boolean; reasons: string[] }

export interface HealthDeps {
  /** MediaMTX's API ('' or undefined: not checked). */
  mediamtxApiUrl?: string;
  redisUrl?: string;
  timeoutMs: number;
  store: Store;
  bus: Bus;
}

export async function checkHealth(d: HealthDeps): Promise<Health> {
  const reasons: string[] = [];
  if (d.mediamtxApiUrl) {
    try {
      const r = await fetch(`${d.mediamtxApiUrl.replace(/\/$/, '')}/v3/paths/list`, { signal: AbortSignal.timeout(d.timeoutMs) });
      if (!r.ok) reasons.push(`mediamtx API answered ${r.status}`);
      await r.body?.cancel();
    } catch (err) {
      reasons.push(`mediamtx API unreachable: ${(err as Error).message}`);
    }
  }
  if (d.redisUrl) {
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), d.timeoutMs).unref());
    try { await Promise.race([Promise.all([d.store.ping(), d.bus.ping()]), timeout]); } catch (err) { reasons.push(`redis unreachable: ${(err as Error).message}`); }
  }
  return { ok: reasons.length === 0, reasons };
}
