// The relay's HTTP API as a table (method + path pattern → handler), with the dispatch in front of
// it: CORS for the app's origins, the table, 404 for anything else. The admin and session
// handlers are here; MediaMTX's auth hook is mediamtx-auth.ts; the WebSocket handshakes are in
// server.ts. Every route is listed in docs/API_REFERENCE.md and server/README.md.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { stripQuery, type Logger } from '../../common/log.ts';
import { MEDIAMTX_PORTS } from '../../protocol/limits.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import { bearer, parseDuration, type Access } from './access.ts';
import type { Health } from './health.ts';
import { clientIp, HttpError, readJson, send } from './http.ts';
import type { Hub } from './hub.ts';
import type { RelayLimits } from './limits.ts';
import { postMediamtxAuth } from './mediamtx-auth.ts';
import type { Metrics } from './metrics.ts';
import { splitCredential } from './internal-api.ts';
import type { Recordings } from './recording.ts';

export interface HttpContext {
  access: Access; hub: Hub; metrics: Metrics; limits: RelayLimits; log: Logger;
  adminApiKey?: string; trustProxy?: boolean; appOrigins: string[];
  mediaPublicUrl?: string; hlsPublicUrl?: string;
  /** Recording on demand (recording.ts). */
  recordings: Recordings;
  /** MediaMTX's playback server as the relay reaches it, with the internal credential (admin listing). */
  mediamtxPlaybackUrl?: string;
  /** MediaMTX's playback server as browsers reach it (handed out with sessions). */
  playbackPublicUrl?: string;
  /** The secret MediaMTX's auth hook calls carry (mediamtx-auth.ts); none: the hook refuses all. */
  mediamtxAuthSecret?: string;
  /** The password of MediaMTX's API and metrics (internal-api.ts); none: nobody may use them. */
  mediamtxApiSecret?: string;
  inviteLink(token: string): string;
  health(): Promise<Health>;
  /** Does this session hold `robot`'s driver lease (and so may publish its talk path)? */
  talker(robot: string, session: string): boolean;
}

type Handler = (c: HttpContext, req: IncomingMessage, res: ServerResponse, param: string) => Promise<void>;
interface Route { method: string; path: RegExp; fn: Handler }

/**
 * Where an app finds a robot's media, handed out with every session so the app never guesses
 * MediaMTX's address (one source of truth: the relay's configuration). A configured base may be a
 * comma-separated list, for a relay reached under several names (`npm start -- --lan`: 127.0.0.1
 * on this machine, the HTTPS front on the LAN address for phones): the one on the host the client
 * asked by, else the first.
 */
export function mediaUrlsFor(robot: string, requestHost: string | undefined, mediaPublicUrl?: string, hlsPublicUrl?: string): { whepUrl: string; whipUrl: string; hlsUrl: string } {
  const host = (() => {
    try { return new URL(`http://${requestHost ?? '127.0.0.1'}`).hostname; } catch { return '127.0.0.1'; }
  })();
  const onHost = (u: string) => { try { return new URL(u).hostname === host; } catch { return false; } };
  const pick = (list: string) => { const all = list.split(',').map((s) => s.trim()).filter(Boolean); return all.find(onHost) ?? all[0]; };
  const base = (u: string | undefined, port: number) => (u ? pick(u)!.replace(/\/+$/, '') : `http://${host}:${port}`);
  const media = base(mediaPublicUrl, MEDIAMTX_PORTS.webrtc);
  const hls = base(hlsPublicUrl, MEDIAMTX_PORTS.hls);
  return { whepUrl: `${media}/robots/${robot}/whep`, whipUrl: `${media}/robots/${robot}/talk/whip`, hlsUrl: `${hls}/robots/${robot}/index.m3u8` };
}

/**
 * MediaMTX's playback server (recordings: its /list and /get of `robots/<id>`) as the client
 * reaches it, chosen like the media bases above (default: its standard port on the relay's host).
 */
export function playbackUrlFor(requestHost: string | undefined, playbackPublicUrl?: string): string {
  const fallback = (() => {
    try { return `http://${new URL(`http://${requestHost ?? '127.0.0.1'}`).host.replace(/:\d+$/, '')}:${MEDIAMTX_PORTS.playback}`; } catch { return `http://127.0.0.1:${MEDIAMTX_PORTS.playback}`; }
  })();
  const whep = mediaUrlsFor('_', requestHost, playbackPublicUrl ?? fallback).whepUrl;
  return whep.slice(0, -'/robots/_/whep'.length);
}

const media = (c: HttpContext, req: IncomingMessage, robot: string) => ({
  ...mediaUrlsFor(robot, req.headers.host, c.mediaPublicUrl, c.hlsPublicUrl), playbackUrl: playbackUrlFor(req.headers.host, c.playbackPublicUrl),
});

/**
 * A wrong credential: counted against the address and held back by the brake, then 401 — or 429
 * once the address has failed too often. Only wrong credentials are braked: a right one is never
 * refused for failures from the same address (one proxy, one NAT, one attacker beside you).
 */
async function refuseCredential(c: HttpContext, ip: string, kind: string, message: string): Promise<never> {
  const locked = c.access.locked(ip);
  await c.access.failed(ip, kind);
  if (locked) throw new HttpError(429, 'rate_limited', 'too many failed logins, try later');
  throw new HttpError(401, 'unauthorized', message);
}

// Wrong admin keys count toward the same per-address brake as every other failed login.
async function requireAdmin(c: HttpContext, req: IncomingMessage): Promise<void> {
  const key = req.headers['x-api-key'];
  if (c.access.isAdmin(req.headers.authorization, typeof key === 'string' ? key : undefined)) return;
  if (!c.adminApiKey) throw new HttpError(401, 'unauthorized', 'admin API disabled: set ADMIN_API_KEY');
  await refuseCredential(c, clientIp(req, c.trustProxy), 'admin', 'admin API key required');
}

/**
 * Public routes that show more to the admin: false without a key, true with the right one; a
 * wrong key is a failed login like anywhere else (else this would be a free admin-key oracle).
 */
async function askedAsAdmin(c: HttpContext, req: IncomingMessage): Promise<boolean> {
  if (!req.headers.authorization && req.headers['x-api-key'] === undefined) return false;
  await requireAdmin(c, req);
  return true;
}

/** Anyone may ask whether the relay is up; what is down, and why, is for the admin. */
async function getHealth(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const admin = await askedAsAdmin(c, req);
  const h = await c.health();
  if (h.ok) return send(res, 200, { ok: true });
  send(res, 503, admin
    ? { ok: false, error: 'unavailable', msg: h.reasons.join('; '), reasons: h.reasons }
    : { ok: false, error: 'unavailable', msg: 'a service the relay depends on is not answering' });
}

/** Counts for anyone; robot ids and the drivers' client ids only with the admin key. */
async function getStatus(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const admin = await askedAsAdmin(c, req);
  const { robotsOnline, clients, drivers, recording, ...rest } = c.hub.status();
  send(res, 200, { ok: true, status: admin ? { robotsOnline, clients, drivers, recording, ...rest } : { robots: robotsOnline.length, clients, driving: Object.keys(drivers).length, recording: Object.keys(recording).length, ...rest } });
}

async function postRegister(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await requireAdmin(c, req);
  const body = await readJson(req);
  const id = typeof body.robot === 'string' ? body.robot : `robot-${randomBytes(4).toString('hex')}`;
  if (!ROBOT_ID_PATTERN.test(id)) throw new HttpError(400, 'bad_message', 'robot must be 1-64 of A-Z a-z 0-9 _ -');
  const creds = await c.access.registerRobot(id);
  send(res, 201, { ok: true, ...creds });
}

async function postInvite(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await requireAdmin(c, req);
  const body = await readJson(req);
  const robot = body.robot, role = body.role;
  if (typeof robot !== 'string' || !ROBOT_ID_PATTERN.test(robot)) throw new HttpError(400, 'bad_message', 'robot must be 1-64 of A-Z a-z 0-9 _ -');
  if (role !== 'driver' && role !== 'viewer') throw new HttpError(400, 'bad_message', 'role must be driver or viewer');
  const ttl = body.ttl === undefined ? c.limits.defaultInviteTtlMs : typeof body.ttl === 'number' ? body.ttl : parseDuration(String(body.ttl));
  if (ttl === null || !(ttl > 0 && ttl <= c.limits.maxInviteTtlMs)) throw new HttpError(400, 'bad_message', 'ttl must be like 30m, 1h, 7d (at most 30d)');
  const inv = await c.access.invites.createInvite(robot, role, ttl, body.uses);
  send(res, 201, { ok: true, invite: inv, link: c.inviteLink(inv.token) });
}

async function postSession(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  if (typeof body.invite !== 'string' || !body.invite) throw new HttpError(400, 'bad_message', 'invite is required');
  const ip = clientIp(req, c.trustProxy);
  const issued = await c.access.invites.redeemInvite(body.invite, ip);
  if (!issued) return refuseCredential(c, ip, 'invite', 'invite unknown or expired');
  const s = issued.session;
  send(res, 201, { ok: true, token: issued.token, session: s.id, robot: s.robot, role: s.role, expiresAt: s.expiresAt, ...media(c, req, s.robot) });
}

/** The session whose token the request carries (Bearer); a wrong token counts as a failed login. */
async function bearerSession(c: HttpContext, req: IncomingMessage) {
  const token = bearer(req.headers.authorization);
  const s = token ? await c.access.verifySession(token) : null;
  if (s) return s;
  const message = 'session token required (Authorization: Bearer)';
  if (!token) throw new HttpError(401, 'unauthorized', message);
  return refuseCredential(c, clientIp(req, c.trustProxy), 'session', message);
}

/** What a driver's session may hand out: one use, this long unless asked for less. */
export const SESSION_INVITE_MAX_TTL_MS = 24 * 3600_000;

/**
 * A driver adds another phone or a viewer without the admin key: a single-use invite to the same
 * robot, at most a day and never past the driver's own invite. Viewers may not make invites.
 */
async function postSessionInvite(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const s = await bearerSession(c, req);
  if (s.role !== 'driver') throw new HttpError(403, 'forbidden', 'only a driver may make invites');
  const body = await readJson(req);
  if (body.role !== 'driver' && body.role !== 'viewer') throw new HttpError(400, 'bad_message', 'role must be driver or viewer');
  const ttl = body.ttl === undefined ? SESSION_INVITE_MAX_TTL_MS : typeof body.ttl === 'number' ? body.ttl : parseDuration(String(body.ttl));
  if (ttl === null || !(ttl > 0 && ttl <= SESSION_INVITE_MAX_TTL_MS)) throw new HttpError(400, 'bad_message', 'ttl must be like 30m or 12h (at most 24h)');
  const inv = await c.access.invites.inviteFromSession(s, body.role, ttl);
  if (!inv) throw new HttpError(401, 'unauthorized', 'the invite behind this session was revoked or expired');
  send(res, 201, { ok: true, invite: { id: inv.id, robot: inv.robot, role: inv.role, expiresAt: inv.expiresAt, uses: inv.uses }, link: c.inviteLink(inv.token) });
}

async function refreshSession(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const s = await bearerSession(c, req);
  const issued = await c.access.refreshSession(s);
  if (!issued) throw new HttpError(401, 'unauthorized', 'the invite behind this session was revoked or expired');
  send(res, 200, { ok: true, token: issued.token, session: s.id, robot: s.robot, role: s.role, expiresAt: issued.session.expiresAt, ...media(c, req, s.robot) });
}

async function deleteSession(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await c.access.revokeSession((await bearerSession(c, req)).id);
  send(res, 200, { ok: true });
}

/** One recording as MediaMTX's playback server lists it: start (RFC 3339), duration (s), its /get URL. */
export interface RecordingEntry { start: string; duration: number; url: string }

/** MediaMTX's playback /list for `robot`, asked with the internal credential ([] when it has none). */
async function listRecordings(c: HttpContext, robot: string): Promise<RecordingEntry[]> {
  if (!c.mediamtxPlaybackUrl) throw new HttpError(503, 'unavailable', 'recording is not set up on this server (MEDIAMTX_PLAYBACK_URL)');
  const { base, headers } = splitCredential(c.mediamtxPlaybackUrl);
  const res = await fetch(`${base}/list?path=robots/${robot}`, { headers, signal: AbortSignal.timeout(c.limits.healthTimeoutMs * 5) })
    .catch((err: Error) => { throw new HttpError(503, 'unavailable', `MediaMTX's playback server is not answering: ${err.message}`); });
  if (res.status === 404) return []; // "no recordings found"
  if (!res.ok) throw new HttpError(503, 'unavailable', `MediaMTX's playback server answered ${res.status}`);
  return (await res.json()) as RecordingEntry[];
}

const robotParam = (robot: string): string => {
  if (!ROBOT_ID_PATTERN.test(robot)) throw new HttpError(400, 'bad_message', 'robot must be 1-64 of A-Z a-z 0-9 _ -');
  return robot;
};

/** The admin starts or stops recording a robot (as the driver can from the app). */
const adminRecord = (action: 'start' | 'stop'): Handler => async (c, req, res, robot) => {
  await requireAdmin(c, req);
  const r = action === 'start' ? await c.recordings.start(robotParam(robot), 'admin') : await c.recordings.stop(robotParam(robot), 'request');
  if (!r.ok) throw new HttpError(r.status, r.status === 507 ? 'insufficient_storage' : 'unavailable', r.message);
  send(res, 200, { ok: true, recording: c.recordings.frame(robot) });
};

async function getRecordings(c: HttpContext, req: IncomingMessage, res: ServerResponse, robot: string): Promise<void> {
  await requireAdmin(c, req);
  const { active, since, by, available } = c.recordings.frame(robotParam(robot));
  send(res, 200, { ok: true, robot, available, active, since, by, recordings: await listRecordings(c, robot) });
}

/** An admin DELETE of what `revoke` names by id. */
const adminRevoke = (revoke: (a: Access, id: string) => Promise<unknown>): Handler => async (c, req, res, id) => {
  await requireAdmin(c, req);
  await revoke(c.access, id);
  send(res, 200, { ok: true });
};

export const RELAY_ROUTES: Route[] = [
  { method: 'GET', path: /^\/health$/, fn: getHealth },
  { method: 'GET', path: /^\/api\/status$/, fn: getStatus },
  { method: 'GET', path: /^\/metrics$/, fn: async (c, _req, res) => send(res, 200, await c.metrics.registry.metrics(), c.metrics.registry.contentType) },
  { method: 'POST', path: /^\/mediamtx\/auth$/, fn: postMediamtxAuth },
  { method: 'POST', path: /^\/api\/robot\/register$/, fn: postRegister },
  { method: 'POST', path: /^\/api\/invites$/, fn: postInvite },
  { method: 'GET', path: /^\/api\/invites$/, fn: async (c, req, res) => { await requireAdmin(c, req); send(res, 200, { ok: true, invites: await c.access.invites.list() }); } },
  { method: 'DELETE', path: /^\/api\/invites\/([\w-]{1,64})$/, fn: adminRevoke((a, id) => a.revokeInvite(id)) },
  { method: 'POST', path: /^\/api\/session$/, fn: postSession },
  { method: 'POST', path: /^\/api\/session\/refresh$/, fn: refreshSession },
  { method: 'POST', path: /^\/api\/session\/invites$/, fn: postSessionInvite },
  { method: 'DELETE', path: /^\/api\/session$/, fn: deleteSession },
  { method: 'DELETE', path: /^\/api\/sessions\/([\w-]{1,64})$/, fn: adminRevoke((a, id) => a.revokeSession(id)) },
  { method: 'GET', path: /^\/api\/recordings\/([^/]{1,64})$/, fn: getRecordings },
  { method: 'POST', path: /^\/api\/recordings\/([^/]{1,64})\/start$/, fn: adminRecord('start') },
  { method: 'POST', path: /^\/api\/recordings\/([^/]{1,64})\/stop$/, fn: adminRecord('stop') },
];

/** The app calls the session API and /health ("Test connection") from its own origin. */
function cors(c: HttpContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const origin = req.headers.origin;
  if (!origin || !(path.startsWith('/api/session') || path === '/health') || !(c.appOrigins.includes(origin) || c.appOrigins.includes('*'))) return false;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
  return true;
}

async function route(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://relay').pathname;
  const method = req.method ?? 'GET';
  if (cors(c, req, res, path) && method === 'OPTIONS') return send(res, 204, '');
  for (const r of RELAY_ROUTES) {
    const m = r.method === method ? r.path.exec(path) : null;
    if (m) return r.fn(c, req, res, m[1] ?? '');
  }
  throw new HttpError(404, 'not_found', 'no such route');
}

export function createRequestHandler(c: HttpContext): RequestListener {
  return (req, res) => {
    route(c, req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
      if (!(err instanceof HttpError)) c.log.error('request failed', { path: stripQuery(req.url ?? ''), error: err as Error });
      if (!res.headersSent) send(res, e.status, { ok: false, error: e.code, msg: e.message });
      else res.end();
    });
  };
}
