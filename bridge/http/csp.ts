// The app's Content-Security-Policy, built per response from the current config, so a change of
// server_url (POST /server/config) is in the very next page load. The app may talk to the bridge
// itself (its API and /ws), to the relay in server_url, and to MediaMTX (WHEP/WHIP/HLS), which
// lives on the relay's host or the one in rtsp_url, on ports the bridge's config does not name:
// those hosts are allowed on any port, and no other host at all (never a bare `https:` or `ws:`).
// blob: only where the app needs it: hls.js plays through MediaSource (media-src blob:); its ES
// module build makes no blob worker, so workers (the service worker) come from the app's origin.
// No inline script or style: index.html links its CSS, and Lit's styles are constructed style
// sheets (e2e/csp.test.ts runs the app in Chromium and sees no violation).

import type { Config } from '../config/schema.ts';

/** A Host header that is only a host name or address and a port: anything else is left out. */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

/** `host` of a URL as a CSP host-source (IPv6 in brackets), or null when it does not parse. */
function hostOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const host = new URL(url).hostname;
    return host && HOST_PORT.test(host) ? host : null;
  } catch {
    return null;
  }
}

/** Sources for the configured relay and media hosts: http(s) and ws(s), any port. */
export function serverSources(config: Pick<Config, 'server_mode'>): string[] {
  const hosts = new Set<string>();
  for (const url of [config.server_mode.server_url, config.server_mode.rtsp_url]) {
    const h = hostOf(url);
    if (h) hosts.add(h);
  }
  return [...hosts].flatMap((h) => ['https', 'wss', 'http', 'ws'].map((scheme) => `${scheme}://${h}:*`));
}

/**
 * The bridge's own WebSocket by name (ws:// or wss:// to the Host the page was loaded from), for
 * browsers whose 'self' does not cover WebSockets yet. Left out when Host is not a plain host:port.
 */
function selfSocket(host: string | undefined, secure: boolean): string[] {
  return host && HOST_PORT.test(host) ? [`${secure ? 'wss' : 'ws'}://${host}`] : [];
}

export function contentSecurityPolicy(config: Pick<Config, 'server_mode'>, host: string | undefined, secure: boolean): string {
  const servers = serverSources(config);
  const directives: [string, ...string[]][] = [
    ['default-src', "'self'"],
    ['script-src', "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self'"],
    ['media-src', "'self'", 'blob:', ...servers.filter((s) => s.startsWith('http'))],
    ['connect-src', "'self'", ...selfSocket(host, secure), ...servers],
    ['worker-src', "'self'"],
    ['manifest-src', "'self'"],
    ['object-src', "'none'"],
    ['frame-ancestors', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
  ];
  return directives.map((d) => d.join(' ')).join('; ');
}
