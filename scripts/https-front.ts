// The HTTPS front of `npm start -- --lan`: what Caddy is to a deployed server (server/Caddyfile),
// for phones on the LAN. A phone's app comes from the robot's HTTPS port (the microphone needs a
// secure page), and an https page may reach nothing over plain http or ws (mixed content): so the
// relay and MediaMTX's WHEP/WHIP/HLS are offered here, on one https origin with the robot CA's
// certificate, which the phone trusts once anyway (docs/SETUP_ROBOT.md). The same routes as the
// Caddyfile; the relay and MediaMTX themselves stay on 127.0.0.1, and each request names its
// client in X-Forwarded-For (set here, never taken from the client) so their login brakes count
// each phone by its own address.
//
//   node --import tsx scripts/https-front.ts --port 3443 [--host 0.0.0.0] --data-dir DIR
//        --relay http://127.0.0.1:3000 --webrtc http://127.0.0.1:8889 --hls http://127.0.0.1:8888
// Prints {"event":"listening","port":N} on stdout when ready; logs go to stderr.
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { watchFile } from 'node:fs';
import { join } from 'node:path';
import { createLogger, stripQuery, type Logger } from '../common/log.ts';
import { watchParent } from '../common/parent-watch.ts';
import { loadOrCreateTls, tlsDir } from '../bridge/http/tls.ts';
import { SERVER_CERT } from '../bridge/http/ca.ts';

export interface Upstreams {
  relay: string;
  webrtc: string;
  hls: string;
}

interface Route { upstream: keyof Upstreams; match: (path: string) => boolean; strip?: string }

/** The Caddyfile's routes; anything else (MediaMTX's auth hook, metrics, the API) is not offered. */
const ROUTES: Route[] = [
  { upstream: 'relay', match: (p) => p === '/health' || p.startsWith('/api/') || p.startsWith('/ws/') },
  { upstream: 'webrtc', match: (p) => /^\/robots\/[A-Za-z0-9_-]+(\/talk)?\/(whep|whip)(\/.*)?$/.test(p) },
  { upstream: 'hls', match: (p) => p.startsWith('/hls/'), strip: '/hls' },
];

/** Per connection, not per message: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

/** The upstream and path for a request URL, or null when it is not offered. */
export function routeFor(url: string, upstreams: Upstreams): { target: URL; path: string; prefix: string } | null {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  // `/robots/x/whep/../../metrics` would match a route here and be resolved upstream: Caddy
  // normalizes paths before matching; this front refuses dot segments (plain or %2e) instead.
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path)) return null;
  const route = ROUTES.find((r) => r.match(path));
  if (!route) return null;
  const prefix = route.strip ?? '';
  return { target: new URL(upstreams[route.upstream]), path: url.slice(prefix.length), prefix };
}

function forwardedHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  headers['x-forwarded-proto'] = 'https';
  headers['x-forwarded-host'] = req.headers.host ?? '';
  return headers;
}

function refuse(res: ServerResponse, status: number, msg: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${msg}\n`);
}

function proxy(req: IncomingMessage, res: ServerResponse, upstreams: Upstreams, log: Logger): void {
  const route = routeFor(req.url ?? '/', upstreams);
  if (!route) return refuse(res, 404, 'not found');
  const up = request({ host: route.target.hostname, port: route.target.port, method: req.method, path: route.path, headers: forwardedHeaders(req) }, (answer) => {
    const headers = { ...answer.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    // MediaMTX's HLS answers a first request with a redirect to an absolute path (`Location:
    // /robots/x/index.m3u8?cookieCheck=1`), which must keep the prefix taken off on the way in.
    if (route.prefix && headers.location?.startsWith('/')) headers.location = route.prefix + headers.location;
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
    answer.pipe(res);
  });
  up.on('error', (err) => {
    log.warn('upstream unreachable', { path: stripQuery(req.url ?? ''), upstream: route.target.origin, err });
    if (res.headersSent) res.destroy();
    else refuse(res, 502, 'upstream unreachable');
  });
  // A client gone before the answer ended (a player dropping a blocking LL-HLS request): so is the request upstream.
  res.on('close', () => { if (!res.writableFinished) up.destroy(); });
  req.pipe(up);
}

/** A WebSocket handshake (the relay's /ws/*): forwarded, then the two sockets are joined. */
function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, upstreams: Upstreams, log: Logger): void {
  socket.on('error', () => socket.destroy());
  const route = routeFor(req.url ?? '/', upstreams);
  if (!route || route.target.origin !== new URL(upstreams.relay).origin) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    return;
  }
  const headers = { ...forwardedHeaders(req), connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' };
  const up = request({ host: route.target.hostname, port: route.target.port, method: req.method, path: route.path, headers });
  const statusLine = (m: IncomingMessage) => `HTTP/1.1 ${m.statusCode} ${m.statusMessage}\r\n`;
  const headerLines = (m: IncomingMessage, skip: string[] = []) => {
    let out = '';
    for (let i = 0; i < m.rawHeaders.length; i += 2) if (!skip.includes(m.rawHeaders[i]!.toLowerCase())) out += `${m.rawHeaders[i]}: ${m.rawHeaders[i + 1]}\r\n`;
    return out;
  };
  up.on('upgrade', (answer, upstream: Duplex, upHead: Buffer) => {
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.write(`${statusLine(answer)}${headerLines(answer)}\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  // A refused handshake (401, 429, …) reaches the client with the relay's status, headers and
  // body (decoded here, so sent whole, and the connection closed after it).
  up.on('response', (answer) => {
    socket.write(`${statusLine(answer)}${headerLines(answer, HOP_BY_HOP)}Connection: close\r\n\r\n`);
    answer.pipe(socket);
  });
  up.on('error', (err) => {
    log.warn('upstream unreachable', { path: stripQuery(req.url ?? ''), upstream: route.target.origin, err });
    socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
  });
  up.end();
}

export function createHttpsFront(tls: { cert: Buffer; key: Buffer }, upstreams: Upstreams, log: Logger = createLogger('https-front')): Server {
  const server = createServer(tls, (req, res) => proxy(req, res, upstreams, log));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => proxyUpgrade(req, socket, head, upstreams, log));
  return server;
}

function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new Error(`expected --name value pairs, got ${argv.slice(i).join(' ')}`);
    out.set(k.slice(2), v);
  }
  return out;
}

async function main(): Promise<void> {
  const log = createLogger('https-front');
  const f = flags(process.argv.slice(2));
  const need = (k: string) => f.get(k) ?? (() => { throw new Error(`--${k} is required`); })();
  const dataDir = need('data-dir');
  // The robot's certificate, made here when missing, exactly as the bridge makes it (the dev stack
  // runs robot and server on one machine, so the names are the same); the bridge, started after
  // this, finds it fitting and keeps it. Re-read when the bridge re-issues it for a new address.
  const load = () => loadOrCreateTls(dataDir, { https: { cert_path: null, key_path: null } }, log);
  const server = createHttpsFront(await load(), { relay: need('relay'), webrtc: need('webrtc'), hls: need('hls') }, log);
  watchFile(join(tlsDir(dataDir), SERVER_CERT), { interval: 5000 }, () => {
    load().then((m) => { server.setSecureContext(m); log.info('certificate reloaded'); }, (err: unknown) => log.warn('could not reload the certificate', { err }));
  }).unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(need('port')), f.get('host') ?? '0.0.0.0', resolve);
  });
  const port = (server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ event: 'listening', port }) + '\n');
  log.info('listening', { port });
  // Nothing to tidy: the relay and MediaMTX see their sockets close.
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  watchParent(stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: Error) => {
    process.stderr.write(`https-front: ${err.message}\n`);
    process.exit(2);
  });
}
