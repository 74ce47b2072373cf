// A link like https://robot:5443/#token=abc fills in the token. The fragment never reaches a
// server; we still take it out of the address bar at once so it is not bookmarked or shared.

export interface UrlToken { token: string; cleanUrl: string }

/** Pure: the token in a URL's fragment, and the same URL without it. */
export function readTokenFromUrl(href: string): UrlToken | null {
  const url = new URL(href);
  const params = new URLSearchParams(url.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token === null || token.trim() === '') return null;
  params.delete('token');
  const rest = params.toString();
  url.hash = rest ? `#${rest}` : '';
  return { token: token.trim(), cleanUrl: url.pathname + url.search + url.hash };
}

/** Takes the token out of the current address bar; returns it for saving. */
export function takeTokenFromLocation(): string | null {
  const found = readTokenFromUrl(location.href);
  if (!found) return null;
  history.replaceState(history.state, '', found.cleanUrl);
  return found.token;
}
