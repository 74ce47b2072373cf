// An invite link from the relay: `APP_URL?invite=hi_…&server=<relay URL>` (or the same in the
// fragment, `#invite=…&server=…`, which never reaches any server). The invite is taken out of the
// address bar at once — it is a credential — and traded for a session (lib/link/server-api.ts),
// after the operator confirms a server other than the one in use (app/invite-flow.ts).

export interface UrlInvite { invite: string; server: string; cleanUrl: string }

/** Pure: the invite and server in a URL (query or fragment), and the URL without them. */
export function readInviteFromUrl(href: string): UrlInvite | null {
  const url = new URL(href);
  const hash = new URLSearchParams(url.hash.replace(/^#/, ''));
  const inQuery = url.searchParams.get('invite');
  const inHash = hash.get('invite');
  const invite = (inQuery ?? inHash ?? '').trim();
  if (!invite) return null;
  const server = (url.searchParams.get('server') ?? hash.get('server') ?? '').trim() || url.origin;
  for (const k of ['invite', 'server']) {
    url.searchParams.delete(k);
    hash.delete(k);
  }
  const rest = hash.toString();
  url.hash = rest ? `#${rest}` : '';
  return { invite, server: server.replace(/\/+$/, ''), cleanUrl: url.pathname + url.search + url.hash };
}

/** Takes the invite out of the current address bar; returns it for redeeming. */
export function takeInviteFromLocation(): Omit<UrlInvite, 'cleanUrl'> | null {
  const found = readInviteFromUrl(location.href);
  if (!found) return null;
  history.replaceState(history.state, '', found.cleanUrl);
  return { invite: found.invite, server: found.server };
}

/** The origin of an invite's server (`https://host:port`), or null when it is not an http(s) URL. */
export function inviteServerOrigin(server: string): string | null {
  try {
    const u = new URL(server);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * Whether the operator must confirm the invite's server before the app sends it anything: a link
 * can name any server, and the session, the talk audio and the drive commands would all go there.
 * No confirmation for the server already in use, nor for the origin that served this app (it
 * already runs the app's code; a question would only teach clicking through).
 */
export function serverNeedsConfirm(serverOrigin: string, currentServerUrl: string, pageOrigin: string): boolean {
  const current = currentServerUrl ? inviteServerOrigin(currentServerUrl) : null;
  if (current) return current !== serverOrigin;
  return serverOrigin !== pageOrigin;
}
