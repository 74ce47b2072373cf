// POST /mediamtx/auth: MediaMTX asks the relay about every publish and read (authMethod: http).
// The decision about credentials is access.ts's (decideMediamtx); this is the hook's HTTP side:
// the shared secret that proves the caller is our MediaMTX, and the driver's voice rule.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/log.ts';
import type { MediamtxAuthRequest } from './access.ts';
import { HttpError, readJson, send } from './http.ts';
import type { HttpContext } from './http-routes.ts';
import { answerInternal, internalCredentialOk, isInternalAction } from './internal-api.ts';

/** The hook's shared secret must be at least this long (it is the only thing guarding the hook). */
export const MIN_HOOK_SECRET_LENGTH = 16;

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Checks `Authorization: Basic <any user>:<secret>`, which MediaMTX sends from the user:password
 * of its authHTTPAddress. Without the secret the body's `ip` (the brake's key) and its
 * credentials could come from anyone who reaches the relay's port: a token oracle.
 */
export function hookSecretOk(authorization: string | undefined, secret: string | undefined): boolean {
  if (!secret) return false;
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const given = decoded.slice(decoded.indexOf(':') + 1);
  return timingSafeEqual(digest(given), digest(secret));
}

/** One warning per interval: a misconfigured MediaMTX says so without flooding the log. */
function warnOnce(log: Logger, state: { last: number }, msg: string, fields: Record<string, unknown>): void {
  const now = Date.now();
  if (now - state.last < 10_000) return;
  state.last = now;
  log.warn(msg, fields);
}
const refusedHook = { last: 0 };

/** `robots/<id>/talk` → `<id>`, else null. */
const talkRobot = (path: string | undefined): string | null => /^robots\/([A-Za-z0-9_-]{1,64})\/talk$/.exec(path ?? '')?.[1] ?? null;

export async function postMediamtxAuth(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // MediaMTX calls this directly; through a proxy it would be a public token oracle whose
  // failed-login brake could be dodged by lying about `ip`.
  if (req.headers['x-forwarded-for']) throw new HttpError(404, 'not_found', 'no such route');
  if (!hookSecretOk(req.headers.authorization, c.mediamtxAuthSecret)) {
    warnOnce(c.log, refusedHook, 'mediamtx auth hook refused: wrong or missing secret (MEDIAMTX_AUTH_SECRET and the password in MediaMTX\'s authHTTPAddress must match)', { peer: req.socket.remoteAddress });
    throw new HttpError(404, 'not_found', 'no such route');
  }
  const q = (await readJson(req)) as MediamtxAuthRequest;
  // MediaMTX's API and metrics: the internal credential only, never a robot's or a session's.
  if (isInternalAction(q.action)) return answerInternal(res, q, c.mediamtxApiSecret);
  // The admin's recordings listing (GET /api/recordings/<id>) asks the playback server as the relay.
  if (q.action === 'playback' && internalCredentialOk(q, c.mediamtxApiSecret)) return send(res, 200, { ok: true });
  let d = await c.access.decideMediamtx(q);
  // The driver's voice belongs to whoever holds the lease, not to every driver-role session.
  const robot = talkRobot(q.path);
  if (d.allow && robot && q.action === 'publish' && d.session && !c.talker(robot, d.session.id)) {
    d = { allow: false, status: 403, reason: 'only the driver holding the lease may talk' };
  }
  // Talk is published over WebRTC (WHIP) only. Revoked access ends media with MediaMTX's kick, and
  // v1.20.1 kicks an RTSP publisher from its API goroutine while the session is still delivering
  // packets: a nil dereference in SubStream.WriteUnit that takes MediaMTX down for every robot (2
  // of 22 kicks of an 8 Mbps publisher here, docs/SECURITY.md). Kicking a reader is safe (80 of
  // 80); the robot's own RTSP publish is never kicked (media-kick.ts remembers operator sessions).
  if (d.allow && robot && q.action === 'publish' && d.session && q.protocol !== 'webrtc') {
    d = { allow: false, status: 403, reason: 'talk is published over WebRTC (WHIP) only' };
  }
  const fields = { action: q.action, path: q.path, protocol: q.protocol, ip: q.ip };
  if (d.allow) { c.hub.mediaAllowed(q, d.who); c.log.debug('mediamtx allowed', { ...fields, who: d.who }); return send(res, 200, { ok: true }); }
  c.log.info('mediamtx denied', { ...fields, reason: d.reason });
  return send(res, d.status, { ok: false, error: d.status === 429 ? 'rate_limited' : d.status === 401 ? 'unauthorized' : 'forbidden', msg: d.reason });
}
