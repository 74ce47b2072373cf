// Serves the built app (dist/) with no way out of it: the decoded path is resolved and must stay
// under the root. Unknown non-file paths get index.html (the app's router handles them). The
// app shell and the service worker are revalidated on every load so updates arrive. The security
// headers (CSP included) are set by the router on every answer (respond.ts).

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

const NO_CACHE = new Set(['index.html', 'sw.js', 'manifest.webmanifest', 'registerSW.js']);

/** Resolves a URL path to a file under root, or null when it would leave root or is malformed. */
export function resolveUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const full = resolve(root, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  return full === root || full.startsWith(root + sep) ? full : null;
}

export class StaticFiles {
  private root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Serves a GET/HEAD; returns false when nothing was found and there is no index.html. */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    const file = resolveUnder(this.root, pathname);
    if (file === null) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('bad path');
      return true;
    }
    const found = (await this.fileAt(file)) ?? (await this.fileAt(join(file, 'index.html')));
    if (found) return this.send(req, res, found.path, found.size);
    // SPA fallback: a path that looks like a route (no extension) gets the app.
    if (extname(pathname) === '') {
      const index = await this.fileAt(join(this.root, 'index.html'));
      if (index) return this.send(req, res, index.path, index.size);
    }
    return false;
  }

  private async fileAt(path: string): Promise<{ path: string; size: number } | null> {
    try {
      const s = await stat(path);
      if (!s.isFile()) return null;
      // A symlink inside dist/ must not lead outside it either.
      const real = await realpath(path);
      const realRoot = await realpath(this.root);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
      return { path: real, size: s.size };
    } catch {
      return null;
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, path: string, size: number): boolean {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const type = TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'Content-Type': type, 'Content-Length': String(size) };
    if (NO_CACHE.has(name)) headers['Cache-Control'] = 'no-cache';
    else if (path.includes(`${sep}assets${sep}`)) headers['Cache-Control'] = 'public, max-age=31536000, immutable';
    else headers['Cache-Control'] = 'no-cache';
    if (name === 'sw.js') headers['Service-Worker-Allowed'] = '/';
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    createReadStream(path).on('error', () => res.destroy()).pipe(res);
    return true;
  }
}
