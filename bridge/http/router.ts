// The bridge's request handler (node:http, no framework): counts, CORS and security headers,
// authentication for everything but /health, /auth/session, /ca.crt and the static app shell, then the
// route table. The same handler serves HTTP and HTTPS.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { stripQuery } from '../../common/log.ts';
import { retryAfter } from '../auth/access.ts';
import { applyCommonHeaders, fail, preflight } from './respond.ts';
import {
  deleteSession, getCaCert, getConfig, getHealth, getServerStatus, getSystemStatus, getVideo, postConfig, postMotor,
  postServerConfig, postServerStart, postServerStop, postSession, postTts, type RouteDeps, type RouteRequest,
} from './routes.ts';
import type { StaticFiles } from './static.ts';

type RouteFn = (d: RouteDeps, r: RouteRequest, param: string) => void | Promise<void>;
interface Route { method: string; path: RegExp; auth: boolean; fn: RouteFn }

export const ROUTES: Route[] = [
  { method: 'POST', path: /^\/auth\/session$/, auth: false, fn: postSession },
  { method: 'DELETE', path: /^\/auth\/session$/, auth: false, fn: deleteSession },
  { method: 'GET', path: /^\/health$/, auth: false, fn: getHealth },
  { method: 'GET', path: /^\/ca\.crt$/, auth: false, fn: getCaCert },
  { method: 'GET', path: /^\/system_status$/, auth: true, fn: getSystemStatus },
  { method: 'POST', path: /^\/motor\/([^/]+)$/, auth: true, fn: postMotor },
  { method: 'POST', path: /^\/tts$/, auth: true, fn: postTts },
  { method: 'GET', path: /^\/config$/, auth: true, fn: getConfig },
  { method: 'POST', path: /^\/config$/, auth: true, fn: postConfig },
  { method: 'GET', path: /^\/video$/, auth: true, fn: getVideo },
  { method: 'POST', path: /^\/server\/start$/, auth: true, fn: postServerStart },
  { method: 'POST', path: /^\/server\/stop$/, auth: true, fn: postServerStop },
  { method: 'GET', path: /^\/server\/status$/, auth: true, fn: getServerStatus },
  { method: 'POST', path: /^\/server\/config$/, auth: true, fn: postServerConfig },
];

/** Paths that belong to the API: never answered with the app shell, even when unknown. */
const API_PREFIX = /^\/(auth|health|system_status|motor|tts|config|video|ws|api|server)(\/|$)/;

export interface RouterOptions extends RouteDeps {
  staticFiles: StaticFiles | null;
  countRequest(): void;
}

export function createRequestHandler(opts: RouterOptions, secure: boolean): RequestListener {
  const log = opts.log.child(secure ? 'https' : 'http');
  return (req, res) => {
    opts.countRequest();
    handle(opts, req, res, secure).catch((err: unknown) => {
      log.error('request failed', { method: req.method, path: stripQuery(req.url ?? ''), err });
      if (!res.headersSent) fail(res, 500, 'internal error');
      else res.destroy();
    });
  };
}

async function handle(opts: RouterOptions, req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
  applyCommonHeaders(req, res, opts.config.get(), secure);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://bridge');
  } catch {
    return fail(res, 400, 'bad URL');
  }
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS') return preflight(res);

  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.path.exec(url.pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) continue;
    if (route.auth) {
      const auth = await opts.access.authenticate(req);
      if (!auth.ok) {
        req.resume();
        if (auth.status !== 401) return fail(res, auth.status, auth.reason, {}, retryAfter(auth.status));
        return fail(res, 401, `operator token required (${auth.reason})`, {}, { 'WWW-Authenticate': 'Bearer realm="havatar"' });
      }
    }
    return route.fn(opts, { req, res, url, secure }, m[1] ?? '');
  }
  req.resume();
  if (pathMatched) return fail(res, 405, `method ${method} not allowed here`);
  if ((method === 'GET' || method === 'HEAD') && !API_PREFIX.test(url.pathname) && opts.staticFiles) {
    if (await opts.staticFiles.serve(req, res, url.pathname)) return;
  }
  fail(res, 404, API_PREFIX.test(url.pathname) || method !== 'GET' ? 'no such route' : 'not found (is the app built? npm run build)');
}
