// GET /health's checks: the relay is healthy when what it depends on answers — MediaMTX's API
// (unless configured off) and, with REDIS_URL, Redis for both the store and the bus.
import { explainRedisError, type Bus } from './bus.ts';
import { splitCredential } from './internal-api.ts';
import type { Store } from './store.ts';

export interface Health { ok: boolean; reasons: string[] }

export interface HealthDeps {
  /** MediaMTX's API ('' or undefined: not checked), with the internal credential as user:password. */
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
      // The URL may carry the internal credential (internal-api.ts): MediaMTX asks the relay's hook.
      const { base, headers } = splitCredential(d.mediamtxApiUrl);
      const r = await fetch(`${base}/v3/paths/list`, { headers, signal: AbortSignal.timeout(d.timeoutMs) });
      if (r.status === 401) reasons.push('mediamtx API refused the relay (401): check MEDIAMTX_API_SECRET');
      else if (!r.ok) reasons.push(`mediamtx API answered ${r.status}`);
      await r.body?.cancel();
    } catch (err) {
      reasons.push(`mediamtx API unreachable: ${(err as Error).message}`);
    }
  }
  if (d.redisUrl) {
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), d.timeoutMs).unref());
    try { await Promise.race([Promise.all([d.store.ping(), d.bus.ping()]), timeout]); } catch (err) { reasons.push(`redis unreachable: ${explainRedisError(err as Error).message}`); }
  }
  return { ok: reasons.length === 0, reasons };
}
