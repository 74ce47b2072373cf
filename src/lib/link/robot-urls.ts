// Every URL the app builds towards the robot, in one place. The bridge serves this app, so the
// default base is the page's own origin; a robot address in settings points elsewhere. Tokens go
// in `Authorization` for fetch, and in `?token=` where a header cannot be set (<img>, WebSocket);
// the bridge never logs query strings.

export interface RobotTarget { robotUrl: string; token: string; audioEnabled: boolean; videoSize: string }

export function robotBase(t: Pick<RobotTarget, 'robotUrl'>, pageHref: string = location.href): URL {
  const base = t.robotUrl.trim() || new URL(pageHref).origin;
  return new URL(base.endsWith('/') ? base : `${base}/`);
}

/** An HTTP API route such as `system_status` (relative: keeps any path prefix of the base). */
export function apiUrl(t: Pick<RobotTarget, 'robotUrl'>, route: string, pageHref?: string): string {
  return new URL(route.replace(/^\//, ''), robotBase(t, pageHref)).href;
}

export function authHeaders(t: Pick<RobotTarget, 'token'>): Record<string, string> {
  return t.token ? { Authorization: `Bearer ${t.token}` } : {};
}

export function videoUrl(t: RobotTarget, pageHref?: string): string {
  const url = new URL('video', robotBase(t, pageHref));
  if (t.token) url.searchParams.set('token', t.token);
  if (t.videoSize !== 'auto') url.searchParams.set('size', t.videoSize);
  return url.href;
}

/**
 * The local WebSocket. Robot audio is asked for here (`audio=1`) and only here: when the bridge's
 * mechanism changes, this is the one line to change.
 */
export function wsUrl(t: RobotTarget, pageHref?: string): string {
  const url = new URL('ws', robotBase(t, pageHref));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (t.token) url.searchParams.set('token', t.token);
  if (t.audioEnabled) url.searchParams.set('audio', '1');
  return url.href;
}
