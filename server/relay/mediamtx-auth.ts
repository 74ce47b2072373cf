// POST /mediamtx/auth: MediaMTX asks the relay about every publish and read (authMethod: http).
// The decision itself is access.ts's (decideMediamtx); this is the hook's HTTP side.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MediamtxAuthRequest } from './access.ts';
import { HttpError, readJson, send } from './http.ts';
import type { HttpContext } from './http-routes.ts';

export async function postMediamtxAuth(c: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // MediaMTX calls this directly; through a proxy it would be a public token oracle whose
  // failed-login brake could be dodged by lying about `ip`.
  if (req.headers['x-forwarded-for']) throw new HttpError(404, 'not_found', 'no such route');
  const q = (await readJson(req)) as MediamtxAuthRequest;
  const d = await c.access.decideMediamtx(q);
  const fields = { action: q.action, path: q.path, protocol: q.protocol, ip: q.ip };
  if (d.allow) { c.hub.mediaAllowed(q, d.who); c.log.debug('mediamtx allowed', { ...fields, who: d.who }); return send(res, 200, { ok: true }); }
  c.log.info('mediamtx denied', { ...fields, reason: d.reason });
  return send(res, d.status, { ok: false, error: d.status === 429 ? 'rate_limited' : d.status === 401 ? 'unauthorized' : 'forbidden', msg: d.reason });
}
