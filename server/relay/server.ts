// The relay's HTTP server: routes, WebSocket handshakes (authenticated before the upgrade), and
// the wiring of store, bus, access and hub. main.ts is the CLI around createRelay().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createLogger, stripQuery, type Logger } from '../../common/log.ts';
import { MAX_HTTP_BODY_BYTES } from '../../protocol/limits.ts';
import { CLIENT_ID_PATTERN, ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import { Access, bearer, parseDuration, type MediamtxAuthRequest } from './access.ts';
import { LocalBus, RedisBus, type Bus } from './bus.ts';
import { Hub } from './hub.ts';
import { RelayLimits } from './limits.ts';
import { createMetrics } from './metrics.ts';
import { FileStore, RedisStore, type Store } from './store.ts';
import { randomBytes } from 'node:crypto';
import { MEDIAMTX_PORTS } from '../../protocol/limits.ts';

export interface RelayOptions {
  port: number;
  host?: string;
  dataDir: string;
  adminApiKey?: string;
  redisUrl?: string;
  /** MediaMTX's API for /health ('' to skip the check). */
  mediamtxApiUrl?: string;
  /** Origins allowed to call the session API from a browser and to open client sockets. */
  appOrigins?: string[];
  /** Base URL of the app, for invite links. */
  appUrl?: string;
  /** Public URL of this relay as the app should reach it (put in invite links). */
  publicUrl?: string;
  /** Base URL of MediaMTX's WebRTC server as browsers reach it (WHEP/WHIP); default MediaMTX's standard WebRTC port on the relay's host. */
  mediaPublicUrl?: string;
  /** Base URL of MediaMTX's HLS server as browsers reach it; default MediaMTX's standard HLS port on the relay's host. */
  hlsPublicUrl?: string;
  /** Take the client address from X-Forwarded-For (behind Caddy). */
  trustProxy?: boolean;
  limits?: Partial<RelayLimits>;
  log?: Logger;
}

export interface Relay {
  port: number;
  access: Access;
  hub: Hub;
  inviteLink(token: string): string;
  close(): Promise<void>;
}

export function makeStore(dataDir: string, redisUrl?: string): Store {
  return redisUrl ? new RedisStore(redisUrl) : new FileStore(dataDir);
}

export function inviteLinkFor(appUrl: string, publicUrl: string | undefined, token: string): string {
  const u = new URL(appUrl);
  if (publicUrl) u.searchParams.set('server', publicUrl);
  u.searchParams.set('invite', token);
  return u.toString();
}

/**
 * Where an app finds a robot's media, handed out with every session so the app never guesses
 * MediaMTX's address (one source of truth: the relay's configuration).
 */
export function mediaUrlsFor(robot: string, requestHost: string | undefined, mediaPublicUrl?: string, hlsPublicUrl?: string): { whepUrl: string; whipUrl: string; hlsUrl: string } {
  const host = (() => {
    try { return new URL(`http://${requestHost ?? '127.0.0.1'}`).hostname; } catch { return '127.0.0.1'; }
  })();
  const base = (u: string | undefined, port: number) => (u ? u.replace(/\/+$/, '') : `http://${host}:${port}`);
  const media = base(mediaPublicUrl, MEDIAMTX_PORTS.webrtc);
  const hls = base(hlsPublicUrl, MEDIAMTX_PORTS.hls);
  return { whepUrl: `${media}/robots/${robot}/whep`, whipUrl: `${media}/robots/${robot}/talk/whip`, hlsUrl: `${hls}/robots/${robot}/index.m3u8` };
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export async function createRelay(opts: RelayOptions): Promise<Relay> {
  const log = opts.log ?? createLogger('relay');
  const limits: RelayLimits = { ...RelayLimits, ...opts.limits };
  const metrics = createMetrics();
  const store = makeStore(opts.dataDir, opts.redisUrl);
  let bus: Bus = new LocalBus();
  if (opts.redisUrl) {
    // Redis down at start is not fatal: /health reports it, ioredis reconnects and resubscribes.
    let lastError = '';
    const rb = new RedisBus(opts.redisUrl, (err) => {
      if (err.message !== lastError) log.warn('redis unavailable', { error: err.message });
      lastError = err.message;
    });
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limits.healthTimeoutMs * 2).unref());
    if ((await Promise.race([rb.start().catch(() => 'timeout' as const), timeout])) === 'timeout') log.warn('redis not reachable at start; continuing');
    else lastError = '';
    bus = rb;
  }
  const access = new Access(store, limits, log.child('access'), opts.adminApiKey, (kind) => metrics.authFailures.inc({ kind }));
  const hub = new Hub(access, store, bus, limits, metrics, log.child('hub'));
  const appOrigins = opts.appOrigins ?? [];
  const appUrl = opts.appUrl ?? 'http://127.0.0.1:5173/';
  const inviteLink = (token: string) => inviteLinkFor(appUrl, opts.publicUrl, token);

  const media = (req: IncomingMessage, robot: string) => mediaUrlsFor(robot, req.headers.host, opts.mediaPublicUrl, opts.hlsPublicUrl);

  const clientIp = (req: IncomingMessage): string => {
    const xff = opts.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
    return xff || req.socket.remoteAddress || 'unknown';
  };

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_HTTP_BODY_BYTES) throw new HttpError(413, 'too_large', `body larger than ${MAX_HTTP_BODY_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
    if (!size) return {};
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* fall through */ }
    throw new HttpError(400, 'bad_json', 'body must be a JSON object');
  }

  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  // Wrong admin keys count toward the same per-address brake as every other failed login.
  const requireAdmin = async (req: IncomingMessage) => {
    const ip = clientIp(req);
    if (access.locked(ip)) throw new HttpError(429, 'rate_limited', 'too many failed logins, try later');
    const key = req.headers['x-api-key'];
    if (!access.isAdmin(req.headers.authorization, typeof key === 'string' ? key : undefined)) {
      if (opts.adminApiKey) await access.failed(ip, 'admin');
      throw new HttpError(401, 'unauthorized', opts.adminApiKey ? 'admin API key required' : 'admin API disabled: set ADMIN_API_KEY');
    }
  };

  async function health(): Promise<{ ok: boolean; reasons: string[] }> {
    const reasons: string[] = [];
    if (opts.mediamtxApiUrl) {
      try {
        const r = await fetch(`${opts.mediamtxApiUrl.replace(/\/$/, '')}/v3/paths/list`, { signal: AbortSignal.timeout(limits.healthTimeoutMs) });
        if (!r.ok) reasons.push(`mediamtx API answered ${r.status}`);
        await r.body?.cancel();
      } catch (err) {
        reasons.push(`mediamtx API unreachable: ${(err as Error).message}`);
      }
    }
    if (opts.redisUrl) {
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), limits.healthTimeoutMs).unref());
      try { await Promise.race([Promise.all([store.ping(), bus.ping()]), timeout]); } catch (err) { reasons.push(`redis unreachable: ${(err as Error).message}`); }
    }
    return { ok: reasons.length === 0, reasons };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const path = url.pathname;
    const m = req.method ?? 'GET';
    const origin = req.headers.origin;
    // /health too: the app's "Test connection" asks it from the app's origin.
    if (origin && (path.startsWith('/api/session') || path === '/health') && (appOrigins.includes(origin) || appOrigins.includes('*'))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
      if (m === 'OPTIONS') return void send(res, 204, '');
    }

    if (m === 'GET' && path === '/health') {
      const h = await health();
      return send(res, h.ok ? 200 : 503, h.ok ? { ok: true } : { ok: false, error: 'unavailable', msg: h.reasons.join('; '), reasons: h.reasons });
    }
    if (m === 'GET' && path === '/api/status') return send(res, 200, { ok: true, status: hub.status() });
    if (m === 'GET' && path === '/metrics') return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);

    if (m === 'POST' && path === '/mediamtx/auth') {
      // MediaMTX calls this directly; through a proxy it would be a public token oracle whose
      // failed-login brake could be dodged by lying about `ip`.
      if (req.headers['x-forwarded-for']) throw new HttpError(404, 'not_found', 'no such route');
      const q = (await readJson(req)) as MediamtxAuthRequest;
      const d = await access.decideMediamtx(q);
      const fields = { action: q.action, path: q.path, protocol: q.protocol, ip: q.ip };
      if (d.allow) { log.debug('mediamtx allowed', { ...fields, who: d.who }); return send(res, 200, { ok: true }); }
      log.info('mediamtx denied', { ...fields, reason: d.reason });
      return send(res, d.status, { ok: false, error: d.status === 429 ? 'rate_limited' : d.status === 401 ? 'unauthorized' : 'forbidden', msg: d.reason });
    }

    if (m === 'POST' && path === '/api/robot/register') {
      await requireAdmin(req);
      const body = await readJson(req);
      const id = typeof body.robot === 'string' ? body.robot : `robot-${randomBytes(4).toString('hex')}`;
      if (!ROBOT_ID_PATTERN.test(id)) throw new HttpError(400, 'bad_message', 'robot must be 1-64 of A-Z a-z 0-9 _ -');
      const creds = await access.registerRobot(id);
      return send(res, 201, { ok: true, ...creds });
    }

    if (m === 'POST' && path === '/api/invites') {
      await requireAdmin(req);
      const body = await readJson(req);
      const robot = body.robot, role = body.role;
      if (typeof robot !== 'string' || !ROBOT_ID_PATTERN.test(robot)) throw new HttpError(400, 'bad_message', 'robot must be 1-64 of A-Z a-z 0-9 _ -');
      if (role !== 'driver' && role !== 'viewer') throw new HttpError(400, 'bad_message', 'role must be driver or viewer');
      const ttl = body.ttl === undefined ? limits.defaultInviteTtlMs : typeof body.ttl === 'number' ? body.ttl : parseDuration(String(body.ttl));
      if (ttl === null || !(ttl > 0 && ttl <= limits.maxInviteTtlMs)) throw new HttpError(400, 'bad_message', 'ttl must be like 30m, 1h, 7d (at most 30d)');
      const inv = await access.createInvite(robot, role, ttl);
      return send(res, 201, { ok: true, invite: inv, link: inviteLink(inv.token) });
    }
    const inviteId = /^\/api\/invites\/([\w-]{1,64})$/.exec(path);
    if (m === 'DELETE' && inviteId) {
      await requireAdmin(req);
      await access.revokeInvite(inviteId[1]!);
      return send(res, 200, { ok: true });
    }

    if (m === 'POST' && path === '/api/session') {
      const ip = clientIp(req);
      if (access.locked(ip)) throw new HttpError(429, 'rate_limited', 'too many failed logins, try later');
      const body = await readJson(req);
      if (typeof body.invite !== 'string' || !body.invite) throw new HttpError(400, 'bad_message', 'invite is required');
      const issued = await access.redeemInvite(body.invite);
      if (!issued) { await access.failed(ip, 'invite'); throw new HttpError(401, 'unauthorized', 'invite unknown or expired'); }
      const s = issued.session;
      return send(res, 201, { ok: true, token: issued.token, session: s.id, robot: s.robot, role: s.role, expiresAt: s.expiresAt, ...media(req, s.robot) });
    }
    if ((m === 'POST' && path === '/api/session/refresh') || (m === 'DELETE' && path === '/api/session')) {
      const ip = clientIp(req);
      if (access.locked(ip)) throw new HttpError(429, 'rate_limited', 'too many failed logins, try later');
      const token = bearer(req.headers.authorization);
      const s = token ? await access.verifySession(token) : null;
      if (!s) {
        if (token) await access.failed(ip, 'session');
        throw new HttpError(401, 'unauthorized', 'session token required (Authorization: Bearer)');
      }
      if (m === 'DELETE') { await access.revokeSession(s.id); return send(res, 200, { ok: true }); }
      const issued = await access.refreshSession(s);
      if (!issued) throw new HttpError(401, 'unauthorized', 'the invite behind this session was revoked or expired');
      return send(res, 200, { ok: true, token: issued.token, session: s.id, robot: s.robot, role: s.role, expiresAt: issued.session.expiresAt, ...media(req, s.robot) });
    }
    const sessionId = /^\/api\/sessions\/([\w-]{1,64})$/.exec(path);
    if (m === 'DELETE' && sessionId) {
      await requireAdmin(req);
      await access.revokeSession(sessionId[1]!);
      return send(res, 200, { ok: true });
    }
    throw new HttpError(404, 'not_found', 'no such route');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
      if (!(err instanceof HttpError)) log.error('request failed', { path: stripQuery(req.url ?? ''), error: err as Error });
      if (!res.headersSent) send(res, e.status, { ok: false, error: e.code, msg: e.message });
      else res.end();
    });
  });

  // ---- WebSocket handshakes ------------------------------------------------------------------
  // Large enough that an oversized protocol frame gets an error frame (hub.ts) instead of 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  const refuseUpgrade = (socket: Duplex, status: number, code: string, message: string) => {
    const body = JSON.stringify({ ok: false, error: code, msg: message });
    const text = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}\r\n${body}`);
    metrics.refused.inc({ code });
  };

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const ip = clientIp(req);
    const robotPath = /^\/ws\/robot\/([^/]+)$/.exec(url.pathname);
    const clientPath = /^\/ws\/client\/([^/]+)$/.exec(url.pathname);
    if (!robotPath && !clientPath) return refuseUpgrade(socket, 404, 'not_found', 'no such socket');
    if (access.locked(ip)) return refuseUpgrade(socket, 429, 'rate_limited', 'too many failed logins, try later');

    if (robotPath) {
      const robot = decodeURIComponent(robotPath[1]!);
      if (!ROBOT_ID_PATTERN.test(robot)) return refuseUpgrade(socket, 404, 'not_found', 'bad robot id');
      const secret = access.robotSecretFrom(robot, req.headers.authorization);
      if (!secret) return refuseUpgrade(socket, 401, 'unauthorized', 'robot credentials required (Basic robotId:password or Bearer password)');
      if (!(await access.verifyRobot(robot, secret))) {
        await access.failed(ip, 'robot');
        return refuseUpgrade(socket, 401, 'unauthorized', 'bad robot credentials');
      }
      return wss.handleUpgrade(req, socket, head, (ws) => hub.addRobot(ws, robot, socket));
    }

    const clientId = decodeURIComponent(clientPath![1]!);
    if (!CLIENT_ID_PATTERN.test(clientId)) return refuseUpgrade(socket, 404, 'not_found', 'bad client id');
    const origin = req.headers.origin;
    if (origin && appOrigins.length && !appOrigins.includes('*') && !appOrigins.includes(origin)) {
      return refuseUpgrade(socket, 403, 'forbidden', 'origin not allowed');
    }
    const token = url.searchParams.get('token') ?? bearer(req.headers.authorization);
    if (!token) return refuseUpgrade(socket, 401, 'unauthorized', 'session token required (?token= or Bearer)');
    const session = await access.verifySession(token);
    if (!session) {
      await access.failed(ip, 'client');
      return refuseUpgrade(socket, 401, 'unauthorized', 'session unknown or expired');
    }
    if (hub.clientIdTaken(session.robot, clientId, session.id)) return refuseUpgrade(socket, 409, 'busy', 'client id in use by another session');
    if (hub.clientCount(session.robot) >= limits.maxClientsPerRobot) return refuseUpgrade(socket, 503, 'busy', 'too many clients for this robot');
    wss.handleUpgrade(req, socket, head, (ws) => void hub.addClient(ws, clientId, session, socket));
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      log.error('upgrade failed', { error: err as Error });
      refuseUpgrade(socket, 503, 'unavailable', 'internal error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;

  return {
    port, access, hub, inviteLink,
    async close() {
      hub.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      await bus.close();
    },
  };
}
