// Renders server/mediamtx.yml for given ports, app origin and relay URL. The YAML file stays the
// one template: this only replaces the values of named top-level keys, line by line, and fails
// loudly when a key it must set is missing (so template and renderer cannot drift apart).
import { readFileSync } from 'node:fs';
import { MEDIAMTX_PORTS } from '../protocol/limits.ts';

export const MEDIAMTX_TEMPLATE = new URL('./mediamtx.yml', import.meta.url).pathname;

export interface MediamtxOptions {
  /** Bind host for the public listeners: '' (all interfaces, default) or '127.0.0.1' for tests. */
  host?: string;
  rtspPort?: number;
  webrtcPort?: number;
  /** UDP port for WebRTC ICE. */
  webrtcUdpPort?: number;
  /**
   * Bind host of WebRTC's UDP media when it differs from `host`: `npm start -- --lan` keeps the
   * HTTP listeners on 127.0.0.1 (its HTTPS front faces the LAN) while phones send media here.
   */
  iceHost?: string;
  hlsPort?: number;
  /** API and metrics always bind to 127.0.0.1. */
  apiPort?: number;
  metricsPort?: number;
  /** The playback server (recordings) on 127.0.0.1:<port>; without one it is off. */
  playbackPort?: number;
  /** Where MediaMTX records (recordPath's root instead of /recordings). */
  recordingsDir?: string;
  /** The app's origin(s) allowed by CORS on WHEP/WHIP/HLS, e.g. https://robot.example.org. */
  appOrigins?: string[];
  /** The relay's MediaMTX auth endpoint, e.g. http://127.0.0.1:3000/mediamtx/auth. */
  authUrl?: string;
  /** The hook's shared secret (the relay's MEDIAMTX_AUTH_SECRET), put in authUrl as its password. */
  authSecret?: string;
  /** Addresses of the reverse proxy in front of WebRTC and HLS, trusted to send X-Forwarded-For. */
  trustedProxies?: string[];
  /** Loopback-only WebRTC (tests): no interface addresses, 127.0.0.1 as the only ICE host. */
  loopbackOnly?: boolean;
  /** Extra ICE host candidates (public IP behind NAT). */
  additionalHosts?: string[];
  /**
   * Exactly these ICE host candidates, none from the interfaces: loopback plus the LAN addresses
   * `npm start -- --lan` prints, so no container bridge or VPN address is offered to a phone.
   */
  iceHosts?: string[];
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

const yamlList = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/**
 * The auth hook's URL with the secret as its password: MediaMTX sends it as Basic auth, and Go's
 * HTTP client strips it from the errors MediaMTX logs (a query string would be logged).
 */
export function hookUrl(authUrl: string, secret: string | undefined): string {
  if (!secret) return authUrl;
  const u = new URL(authUrl);
  u.username = 'mediamtx';
  u.password = secret;
  return u.toString();
}

export function renderMediamtxConfig(opts: MediamtxOptions = {}, template = readFileSync(MEDIAMTX_TEMPLATE, 'utf8')): string {
  const host = opts.host ?? '';
  const set: Record<string, string> = {};
  if (opts.rtspPort !== undefined || opts.host !== undefined) set.rtspAddress = `${host}:${opts.rtspPort ?? MEDIAMTX_PORTS.rtsp}`;
  if (opts.webrtcPort !== undefined || opts.host !== undefined) set.webrtcAddress = `${host}:${opts.webrtcPort ?? MEDIAMTX_PORTS.webrtc}`;
  if (opts.webrtcUdpPort !== undefined || opts.host !== undefined || opts.iceHost !== undefined) set.webrtcLocalUDPAddress = `${opts.iceHost ?? host}:${opts.webrtcUdpPort ?? MEDIAMTX_PORTS.webrtcUdp}`;
  if (opts.hlsPort !== undefined || opts.host !== undefined) set.hlsAddress = `${host}:${opts.hlsPort ?? MEDIAMTX_PORTS.hls}`;
  if (opts.apiPort !== undefined) set.apiAddress = `127.0.0.1:${opts.apiPort}`;
  if (opts.metricsPort !== undefined) set.metricsAddress = `127.0.0.1:${opts.metricsPort}`;
  // Off unless given a port: the template's fixed 9996 would collide between stacks on one machine.
  if (opts.playbackPort !== undefined) set.playbackAddress = `127.0.0.1:${opts.playbackPort}`;
  else set.playback = 'no';
  if (opts.appOrigins) set.webrtcAllowOrigins = set.hlsAllowOrigins = set.playbackAllowOrigins = yamlList(opts.appOrigins);
  if (opts.authUrl) set.authHTTPAddress = hookUrl(opts.authUrl, opts.authSecret);
  if (opts.trustedProxies) set.webrtcTrustedProxies = set.hlsTrustedProxies = set.playbackTrustedProxies = yamlList(opts.trustedProxies);
  if (opts.logLevel) set.logLevel = opts.logLevel;
  const iceHosts = opts.iceHosts ?? (opts.loopbackOnly ? ['127.0.0.1', ...(opts.additionalHosts ?? [])] : undefined);
  if (iceHosts) {
    set.webrtcIPsFromInterfaces = 'no';
    set.webrtcAdditionalHosts = yamlList(iceHosts);
  } else if (opts.additionalHosts) {
    set.webrtcAdditionalHosts = yamlList(opts.additionalHosts);
  }
  let out = template;
  for (const [key, value] of Object.entries(set)) {
    const re = new RegExp(`^${key}:.*$`, 'm');
    if (!re.test(out)) throw new Error(`server/mediamtx.yml has no top-level key ${key}`);
    out = out.replace(re, `${key}: ${value}`);
  }
  if (opts.recordingsDir) {
    // recordPath sits under pathDefaults (indented), not at the top level.
    const re = /^( {2}recordPath: )\/recordings\//m;
    if (!re.test(out)) throw new Error('server/mediamtx.yml has no pathDefaults recordPath under /recordings/');
    out = out.replace(re, `$1${opts.recordingsDir.replace(/\/+$/, '')}/`);
  }
  return out;
}
