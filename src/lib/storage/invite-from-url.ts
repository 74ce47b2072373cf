// An invite link from the relay: `APP_URL?invite=hi_…&server=<relay URL>` (or the same in the
// fragment, `#invite=…&server=…`, which never reaches any server). The invite is taken out of the
// address bar at once — it is a credential — and traded for a session (lib/link/server-api.ts).

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
