// The links Settings shows as QR codes to add a phone or a viewer: a single-use invite a driver's
// session asks the relay for (POST /api/session/invites, so the app never needs the admin key),
// and the robot's own local-mode link with the operator token in its #fragment.

import { API_TIMEOUT_MS, apiBase } from '../lib/link/server-api.ts';
import { robotBase } from '../lib/link/robot-urls.ts';
import type { Settings } from '../lib/storage/settings.ts';

export interface SharedInvite { role: 'driver' | 'viewer'; link: string; expiresAt: number }

/** Asks the relay for a single-use invite; throws with a sentence for the operator. */
export async function makeInvite(s: Pick<Settings, 'serverUrl' | 'sessionToken'>, role: 'driver' | 'viewer', fetchImpl: typeof fetch = fetch): Promise<SharedInvite> {
  let res: Response;
  try {
    res = await fetchImpl(new URL('api/session/invites', apiBase(s.serverUrl)).href, {
      method: 'POST',
      headers: { Authorization: `Bearer ${s.sessionToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ role }),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch {
    throw new Error('Cannot reach the server to make an invite.');
  }
  const body = (await res.json().catch(() => ({}))) as { link?: unknown; invite?: { expiresAt?: unknown }; msg?: unknown };
  if (res.status === 404) throw new Error('This server cannot make invites from the app: ask its admin for an invite link.');
  if (!res.ok) throw new Error(`The server refused the invite (${res.status})${typeof body.msg === 'string' ? `: ${body.msg}` : ''}.`);
  if (typeof body.link !== 'string' || typeof body.invite?.expiresAt !== 'number') throw new Error('The server answered something that is not an invite.');
  return { role, link: withServer(body.link, s.serverUrl), expiresAt: body.invite.expiresAt };
}

/** An invite link names its server, so the phone that opens it knows where to redeem it. */
export function withServer(link: string, serverUrl: string): string {
  const u = new URL(link);
  if (!u.searchParams.has('server')) u.searchParams.set('server', serverUrl);
  return u.href;
}

/** The robot's local-mode link: its address with the operator token in the fragment (never sent to a server). */
export function localLink(s: Pick<Settings, 'robotUrl' | 'token'>, pageHref: string = location.href): string {
  const u = robotBase(s, pageHref);
  u.hash = new URLSearchParams({ token: s.token }).toString();
  return u.href;
}

/** A link no other device can open: it points at this machine's loopback address. */
export function loopbackOnly(link: string): boolean {
  const host = new URL(link).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
