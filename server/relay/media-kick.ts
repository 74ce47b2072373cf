// Revoked or expired access ends media too, not only the relay's WebSocket. MediaMTX asks the relay
// once when a reader or publisher starts (WHEP, WHIP, the HLS multivariant playlist, RTSP SETUP)
// and never again: an open WebRTC session, an RTSP session, and an HLS session (whose later
// playlists and segments are let through by MediaMTX's own session cookie or query secret, see
// internal/servers/hls/http_server.go in v1.20.1) keep flowing after the token dies. So the auth
// hook's allows are remembered here (MediaMTX session id ↔ relay session id), and every hub tick
// (1 s) the sessions whose relay session no longer stands are kicked through MediaMTX's API.
import type { Logger } from '../../common/log.ts';
import { splitCredential } from './internal-api.ts';

/** The fields of MediaMTX's auth request that name the media session (v1.20.1). */
export interface MediaAuthFields { protocol?: string; id?: string | null; path?: string }

/** MediaMTX API collections by the protocol its auth request names; RTSP may be plain or TLS. */
const KINDS: Record<string, string[]> = {
  webrtc: ['webrtcsessions'], hls: ['hlssessions'], rtsp: ['rtspsessions', 'rtspssessions'],
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Entry { kinds: string[]; id: string; path: string; since: number }

export interface MediaKickOptions {
  /** MediaMTX's API base, e.g. http://127.0.0.1:9997 (credentials in the URL become Basic auth). */
  apiUrl: string;
  log: Logger;
  timeoutMs?: number;
  /**
   * How long an entry whose kick found nothing is kept and retried: MediaMTX asks before it lists
   * the session (an HLS session joins its muxer after the allow), so an early kick can miss it.
   */
  graceMs?: number;
  /** How often entries MediaMTX no longer lists are forgotten (bounds the map without kicks). */
  pruneEveryMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export class MediaKick {
  /** Relay session id → the MediaMTX sessions it opened. */
  private readonly bySession = new Map<string, Map<string, Entry>>();
  private readonly base: string;
  private readonly auth: Record<string, string>;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private lastPrune: number;
  private failing = false;
  private refused = false;
  /** A sweep still waiting on MediaMTX (timeouts) is not overlapped by the next tick's. */
  private sweeping = false;

  constructor(private readonly o: MediaKickOptions) {
    ({ base: this.base, headers: this.auth } = splitCredential(o.apiUrl));
    this.now = o.now ?? (() => Date.now());
    this.fetch = o.fetch ?? fetch;
    this.lastPrune = this.now();
  }

  /** How many MediaMTX sessions are remembered (metrics and tests). */
  get size(): number { let n = 0; for (const m of this.bySession.values()) n += m.size; return n; }

  /** The auth hook allowed `who` ("session:<id>" for operators); remember which media session it opened. */
  note(q: MediaAuthFields, who: string): void {
    const session = /^session:(.+)$/.exec(who)?.[1];
    const kinds = KINDS[q.protocol ?? ''];
    if (!session || !kinds || !q.id || !UUID.test(q.id)) return;
    let m = this.bySession.get(session);
    if (!m) this.bySession.set(session, (m = new Map()));
    m.set(q.id, { kinds, id: q.id, path: q.path ?? '', since: this.now() });
  }

  /**
   * Kicks the media of every remembered relay session that `live` says no longer stands (revoked,
   * its invite revoked, or expired). Called from the hub's 1 s tick.
   */
  async sweep(live: (session: string) => Promise<boolean>): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try { await this.sweepOnce(live); } finally { this.sweeping = false; }
  }

  private async sweepOnce(live: (session: string) => Promise<boolean>): Promise<void> {
    for (const [session, entries] of [...this.bySession]) {
      if (await live(session).catch(() => true)) continue; // the store down: keep, ask again next tick
      for (const e of [...entries.values()]) {
        const gone = await this.kick(e);
        if (gone === 'kicked') this.o.log.info('media kicked', { session, path: e.path, kind: e.kinds[0], media: e.id });
        if (gone === 'kicked' || (gone === 'absent' && this.now() - e.since >= (this.o.graceMs ?? 10_000))) entries.delete(e.id);
      }
      if (!entries.size) this.bySession.delete(session);
    }
    if (this.size && this.now() - this.lastPrune >= (this.o.pruneEveryMs ?? 30_000)) await this.prune();
  }

  /** 'kicked', 'absent' (MediaMTX does not know it), or 'error' (try again next tick). */
  private async kick(e: Entry): Promise<'kicked' | 'absent' | 'error'> {
    let result: 'kicked' | 'absent' | 'error' = 'absent';
    for (const kind of e.kinds) {
      const status = await this.call('POST', `/v3/${kind}/kick/${e.id}`);
      if (status === 200) return 'kicked';
      if (status !== 404) result = 'error';
    }
    return result;
  }

  /** Forgets entries that MediaMTX no longer lists (the reader left on its own). */
  private async prune(): Promise<void> {
    this.lastPrune = this.now();
    const listed = new Set<string>();
    for (const kind of new Set(Object.values(KINDS).flat())) {
      const items = await this.list(kind);
      if (!items) return; // unknown: keep everything
      for (const id of items) listed.add(id);
    }
    for (const [session, entries] of this.bySession) {
      for (const e of entries.values()) if (!listed.has(e.id) && this.now() - e.since >= (this.o.graceMs ?? 10_000)) entries.delete(e.id);
      if (!entries.size) this.bySession.delete(session);
    }
  }

  private async list(kind: string): Promise<string[] | null> {
    try {
      const r = await this.fetch(`${this.base}/v3/${kind}/list?itemsPerPage=1000`, { headers: this.auth, signal: AbortSignal.timeout(this.o.timeoutMs ?? 2000) });
      if (r.status === 404) { await r.body?.cancel(); return []; } // a server that is off has no such list
      if (!r.ok) { await r.body?.cancel(); return null; }
      const body = (await r.json()) as { items?: { id?: string }[] };
      return (body.items ?? []).map((i) => String(i.id));
    } catch { return null; }
  }

  /** An API call's status, 0 when MediaMTX could not be reached (logged once per outage). */
  private async call(method: string, path: string): Promise<number> {
    try {
      const r = await this.fetch(this.base + path, { method, headers: this.auth, signal: AbortSignal.timeout(this.o.timeoutMs ?? 2000) });
      await r.body?.cancel();
      if (this.failing) { this.failing = false; this.o.log.info('mediamtx API reachable again'); }
      // Every kick would fail the same way: say once which setting is wrong.
      if (r.status === 401 && !this.refused) this.o.log.warn('mediamtx API refused the relay (401): MEDIAMTX_API_SECRET is not set, or MediaMTX cannot ask this relay\'s auth hook (MEDIAMTX_AUTH_SECRET); revoked media cannot be ended');
      this.refused = r.status === 401;
      return r.status;
    } catch (err) {
      if (!this.failing) this.o.log.warn('mediamtx API unreachable: revoked media not ended yet', { error: (err as Error).message });
      this.failing = true;
      return 0;
    }
  }
}
