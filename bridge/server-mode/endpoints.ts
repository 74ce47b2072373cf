// Where server mode connects, derived from the `server_mode` config block in one place. URLs with
// credentials are built only here and only handed to the RTSP client or FFmpeg; everything shown
// or logged uses the credential-free forms.
//
// The media path never carries the long-lived stream_password when the relay issued a publish
// credential (protocol/relay.ts PublishCredentialMsg): that password goes only to the relay, over
// its link (wss:// in production). And the media path is encrypted (rtsps://, the certificate
// verified) unless MediaMTX is on this machine: plain RTSP to another host is refused, because the
// camera, the microphone, the driver's voice and a credential still valid for minutes would all
// cross the network readable and replaceable by anyone on the path.

import { isIP } from 'node:net';
import type { Config } from '../config/schema.ts';
import { MEDIAMTX_PORTS } from '../../protocol/limits.ts';
import type { PublishCredentialMsg } from '../../protocol/relay.ts';

export type ServerModeConfig = Config['server_mode'];

/** Default RTSP and RTSPS ports of MediaMTX (server/mediamtx.yml, server/compose.yaml). */
export const DEFAULT_RTSP_PORT = MEDIAMTX_PORTS.rtsp;
export const DEFAULT_RTSPS_PORT = MEDIAMTX_PORTS.rtsps;

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain RTSP may go to. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** ws(s)://<server>/ws/robot/<stream_key>: http → ws, https → wss, a path prefix kept (behind a proxy). */
export function relayWsUrl(c: ServerModeConfig): string {
  const u = new URL(c.server_url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/robot/${encodeURIComponent(c.stream_key)}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/**
 * rtsp(s)://host:port of MediaMTX, no credentials, no path. Without rtsp_url: the server_url's host,
 * over RTSPS on 8322 unless that host is this machine (then plain RTSP on 8554, as `npm start` has).
 */
export function rtspBase(c: ServerModeConfig): string {
  if (c.rtsp_url) return c.rtsp_url.replace(/\/+$/, '');
  const host = new URL(c.server_url).hostname;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return isLoopbackHost(host) ? `rtsp://${bracketed}:${DEFAULT_RTSP_PORT}` : `rtsps://${bracketed}:${DEFAULT_RTSPS_PORT}`;
}

/** Why the media path may not be used as configured (plain RTSP to another machine), or null. */
export function clearTextProblem(c: ServerModeConfig): string | null {
  const u = new URL(rtspBase(c));
  if (u.protocol === 'rtsps:' || isLoopbackHost(u.hostname)) return null;
  return `refusing plain RTSP to ${u.host}, another machine: set server_mode.rtsp_url to rtsps://${u.hostname}:${DEFAULT_RTSPS_PORT} (MediaMTX's RTSPS listener)`;
}

/** host and port of MediaMTX's RTSP listener (for the reachability probe). */
export function rtspHostPort(c: ServerModeConfig): { host: string; port: number } {
  const u = new URL(rtspBase(c));
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'rtsps:' ? DEFAULT_RTSPS_PORT : DEFAULT_RTSP_PORT)) };
}

/**
 * The RTSP user and password: the relay's publish credential while it is valid; with none (a relay
 * from before they existed) the long-lived password, but only over TLS or to this machine.
 */
export function mediaCredentials(c: ServerModeConfig, issued: PublishCredentialMsg | null, now = Date.now()): { user: string; password: string } {
  const problem = clearTextProblem(c);
  if (problem) throw new Error(problem);
  if (issued && issued.user === c.stream_key && issued.expiresAt > now) return { user: issued.user, password: issued.password };
  return { user: c.stream_key, password: c.stream_password };
}

function withCredentials(base: string, cred: { user: string; password: string }, path: string): string {
  const u = new URL(base);
  u.username = encodeURIComponent(cred.user);
  u.password = encodeURIComponent(cred.password);
  return `${u.protocol}//${u.username}:${u.password}@${u.host}/${path}`;
}

/** Where the robot publishes: robots/<stream_key> (credentials inside: the RTSP client only). */
export const publishUrl = (c: ServerModeConfig, cred: { user: string; password: string }): string =>
  withCredentials(rtspBase(c), cred, `robots/${c.stream_key}`);
/** Where the driver's talk audio is read from: robots/<stream_key>/talk, at `base` (credentials inside: FFmpeg only). */
export const talkUrl = (c: ServerModeConfig, cred: { user: string; password: string }, base = rtspBase(c)): string =>
  withCredentials(base, cred, `robots/${c.stream_key}/talk`);

/** The robot's relay credentials: Basic <stream_key>:<stream_password>. */
export const basicAuth = (c: ServerModeConfig): string =>
  `Basic ${Buffer.from(`${c.stream_key}:${c.stream_password}`).toString('base64')}`;

/** Why server mode cannot start with this config, or null. */
export function notConfigured(c: ServerModeConfig): { field: string; msg: string } | null {
  if (!c.stream_password) return { field: 'server_mode.stream_password', msg: 'server_mode.stream_password is not set (register the robot on the relay)' };
  return null;
}

/** Why server mode may not start with this media path (plain RTSP to another machine), or null. */
export function mediaPathProblem(c: ServerModeConfig): { field: string; msg: string } | null {
  const clear = clearTextProblem(c);
  return clear ? { field: 'server_mode.rtsp_url', msg: clear } : null;
}
