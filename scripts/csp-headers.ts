// Reading a Content-Security-Policy header in tests (the bridge's and Caddy's attack tests): the
// directives as lists of sources, and the sources that allow any host at all.

/** A CSP header as directive → sources; throws when there is none. */
export function parseCsp(header: string | null): Map<string, string[]> {
  if (!header) throw new Error('no Content-Security-Policy header');
  const out = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

/** Sources that name no host: `*` or a bare scheme (`https:`, `ws:`), except the ones in `allowed` (e.g. blob:). */
export function anyHostSources(sources: readonly string[], allowed: readonly string[] = ['blob:']): string[] {
  return sources.filter((s) => s === '*' || (/^[a-z][a-z0-9+.-]*:$/i.test(s) && !allowed.includes(s)));
}
