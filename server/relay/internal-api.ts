// MediaMTX's control API and metrics are not excluded from its auth (server/mediamtx.yml): MediaMTX
// asks the relay's hook about them like about any publish or read. Whoever reaches their ports
// (anything on the compose network, a local user) could otherwise list every session with its
// query (tokens included), kick viewers, or rewrite MediaMTX's configuration. Only the
// deployment's internal credential passes: user `havatar`, password MEDIAMTX_API_SECRET, held by
// the relay (its kicks and health check) and Prometheus (its scrape).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { send } from './http.ts';

/** The user name of the internal credential (the password is MEDIAMTX_API_SECRET). */
export const MEDIAMTX_API_USER = 'havatar';
/** Long enough that guessing is hopeless (the hook does not brake it: there is no lockout to aim at). */
export const MIN_API_SECRET_LENGTH = 16;

/** MediaMTX's auth actions that are the operator's business, not a viewer's or a robot's. */
export const isInternalAction = (action: string | undefined): boolean => action === 'api' || action === 'metrics' || action === 'pprof';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when MediaMTX forwarded the internal credential (from the caller's Basic auth). */
export function internalCredentialOk(q: { user?: string; password?: string }, secret: string | undefined): boolean {
  if (!secret || q.user !== MEDIAMTX_API_USER) return false;
  return timingSafeEqual(digest(q.password ?? ''), digest(secret));
}

/** The hook's answer for an api/metrics/pprof action: 200 only with the internal credential. */
export function answerInternal(res: ServerResponse, q: { user?: string; password?: string; action?: string }, secret: string | undefined): void {
  if (internalCredentialOk(q, secret)) return send(res, 200, { ok: true });
  send(res, 401, { ok: false, error: 'unauthorized', msg: `MediaMTX's ${q.action} needs the internal credential` });
}

/** `url` with the internal credential as its user:password (MediaKick turns it into Basic auth). */
export function withApiCredential(url: string, secret: string | undefined): string {
  if (!secret) return url;
  const u = new URL(url);
  u.username = MEDIAMTX_API_USER;
  u.password = secret;
  return u.href;
}

/** fetch() refuses URLs with credentials: the base without them, and them as a header. */
export function splitCredential(url: string): { base: string; headers: Record<string, string> } {
  const u = new URL(url);
  const headers: Record<string, string> = u.username
    ? { Authorization: `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` }
    : {};
  u.username = ''; u.password = '';
  return { base: u.href.replace(/\/+$/, ''), headers };
}
