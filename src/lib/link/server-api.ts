// The relay's HTTP API as the app uses it (server/README.md): redeem an invite for a session,
// refresh the session, and ask /health. Media URLs come with the session; when an older relay
// does not send them they are derived from the server URL (MediaMTX's default ports).

import type { Settings } from '../storage/settings.ts';
import { MEDIAMTX_PORTS } from '../../../protocol/limits.ts';

export const API_TIMEOUT_MS = 5000;
export const HEALTH_TIMEOUT_MS = 1500;

export interface SessionAnswer {
  token: string;
  session: string;
  robot: string;
  role: 'driver' | 'viewer';
  expiresAt: number;
  whepUrl?: string;
  whipUrl?: string;
  hlsUrl?: string;
  playbackUrl?: string;
}

export type SessionPatch = Pick<Settings, 'serverUrl' | 'sessionToken' | 'sessionExpiresAt' | 'robotId' | 'sessionRole' | 'whepUrl' | 'whipUrl' | 'hlsUrl' | 'playbackUrl'>;

export function apiBase(serverUrl: string): URL {
  return new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
}

/** Media URLs when the relay did not say: MediaMTX's standard WebRTC and HLS ports on the server's host. */
export function defaultMediaUrls(serverUrl: string, robot: string): { whepUrl: string; whipUrl: string; hlsUrl: string; playbackUrl: string } {
  const host = new URL(serverUrl).hostname;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    whepUrl: `http://${h}:${MEDIAMTX_PORTS.webrtc}/robots/${robot}/whep`,
    whipUrl: `http://${h}:${MEDIAMTX_PORTS.webrtc}/robots/${robot}/talk/whip`,
    hlsUrl: `http://${h}:${MEDIAMTX_PORTS.hls}/robots/${robot}/index.m3u8`,
    playbackUrl: `http://${h}:${MEDIAMTX_PORTS.playback}`,
  };
}

/** Checks a relay answer's shape; throws with a sentence for the operator. */
export function parseSessionAnswer(body: unknown): SessionAnswer {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object') throw new Error('The server answered something that is not a session.');
  const { token, session, robot, role, expiresAt } = b;
  if (typeof token !== 'string' || !token || typeof robot !== 'string' || !robot || typeof expiresAt !== 'number' || (role !== 'driver' && role !== 'viewer')) {
    throw new Error('The server answered something that is not a session.');
  }
  const out: SessionAnswer = { token, session: typeof session === 'string' ? session : '', robot, role, expiresAt };
  for (const k of ['whepUrl', 'whipUrl', 'hlsUrl', 'playbackUrl'] as const) if (typeof b[k] === 'string' && b[k]) out[k] = b[k] as string;
  return out;
}

export function sessionPatch(serverUrl: string, a: SessionAnswer): SessionPatch {
  const d = defaultMediaUrls(serverUrl, a.robot);
  return {
    serverUrl,
    sessionToken: a.token,
    sessionExpiresAt: a.expiresAt,
    robotId: a.robot,
    sessionRole: a.role,
    whepUrl: a.whepUrl ?? d.whepUrl,
    whipUrl: a.whipUrl ?? d.whipUrl,
    hlsUrl: a.hlsUrl ?? d.hlsUrl,
    playbackUrl: a.playbackUrl ?? d.playbackUrl,
  };
}

async function call(url: URL, init: RequestInit, fetchImpl: typeof fetch): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchImpl(url.href, { ...init, signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  } catch (e) {
    throw new Error(`The server ${url.origin} cannot be reached (${(e as Error).message}).`);
  }
  const body = (await res.json().catch(() => null)) as { msg?: string } | null;
  if (res.status === 401) throw new Error('The invite or session is unknown or expired: ask for a new invite link.');
  // An invite with no use left: the relay's message says so and what to do, shown as it is.
  if (res.status === 410 && body?.msg) throw new Error(body.msg);
  if (res.status === 429) throw new Error('Too many failed attempts from here: wait a minute.');
  if (!res.ok) throw new Error(`The server answered ${res.status}${body?.msg ? `: ${body.msg}` : ''}.`);
  return body;
}

/** `POST /api/session {invite}` → what to save in settings. */
export async function redeemInvite(serverUrl: string, invite: string, fetchImpl: typeof fetch = fetch): Promise<SessionPatch> {
  const body = await call(new URL('api/session', apiBase(serverUrl)), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ invite }),
  }, fetchImpl);
  return sessionPatch(serverUrl, parseSessionAnswer(body));
}

/** `POST /api/session/refresh` with the current token (when no relay socket is open to ask on). */
export async function refreshSession(serverUrl: string, token: string, fetchImpl: typeof fetch = fetch): Promise<SessionPatch> {
  const body = await call(new URL('api/session/refresh', apiBase(serverUrl)), { method: 'POST', headers: { Authorization: `Bearer ${token}` } }, fetchImpl);
  return sessionPatch(serverUrl, parseSessionAnswer(body));
}

/** `GET /health`: 200 when the relay and its MediaMTX (and Redis) are up. */
export async function serverHealthy(serverUrl: string, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  try {
    const res = await fetchImpl(new URL('health', apiBase(serverUrl)).href, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), cache: 'no-store' });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
