// Where server mode connects, derived from the `server_mode` config block in one place. URLs with
// credentials are built only here and only handed to FFmpeg; everything shown or logged uses the
// credential-free forms.

import type { Config } from '../config/schema.ts';
import { MEDIAMTX_PORTS } from '../../protocol/limits.ts';

export type ServerModeConfig = Config['server_mode'];

/** Default RTSP port of MediaMTX (server/mediamtx.yml). */
export const DEFAULT_RTSP_PORT = MEDIAMTX_PORTS.rtsp;

/** ws(s)://<server>/ws/robot/<stream_key>: http → ws, https → wss, a path prefix kept (behind a proxy). */
export function relayWsUrl(c: ServerModeConfig): string {
  const u = new URL(c.server_url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/robot/${encodeURIComponent(c.stream_key)}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** rtsp://host:port of MediaMTX, no credentials, no path. */
export function rtspBase(c: ServerModeConfig): string {
  if (c.rtsp_url) return c.rtsp_url.replace(/\/+$/, '');
  const host = new URL(c.server_url).hostname;
  return `rtsp://${host.includes(':') ? `[${host}]` : host}:${DEFAULT_RTSP_PORT}`;
}

/** host and port of MediaMTX's RTSP listener (for the reachability probe). */
export function rtspHostPort(c: ServerModeConfig): { host: string; port: number } {
  const u = new URL(rtspBase(c));
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || DEFAULT_RTSP_PORT) };
}

function withCredentials(base: string, c: ServerModeConfig, path: string): string {
  const u = new URL(base);
  u.username = encodeURIComponent(c.stream_key);
  u.password = encodeURIComponent(c.stream_password);
  return `${u.protocol}//${u.username}:${u.password}@${u.host}/${path}`;
}

/** Where the robot publishes: robots/<stream_key> (credentials inside: FFmpeg only). */
export const publishUrl = (c: ServerModeConfig): string => withCredentials(rtspBase(c), c, `robots/${c.stream_key}`);
/** Where the driver's talk audio is read from: robots/<stream_key>/talk (credentials inside). */
export const talkUrl = (c: ServerModeConfig): string => withCredentials(rtspBase(c), c, `robots/${c.stream_key}/talk`);

/** The robot's relay credentials: Basic <stream_key>:<stream_password>. */
export const basicAuth = (c: ServerModeConfig): string =>
  `Basic ${Buffer.from(`${c.stream_key}:${c.stream_password}`).toString('base64')}`;

/** Why server mode cannot start with this config, or null. */
export function notConfigured(c: ServerModeConfig): { field: string; msg: string } | null {
  if (!c.stream_password) return { field: 'server_mode.stream_password', msg: 'server_mode.stream_password is not set (register the robot on the relay)' };
  return null;
}
