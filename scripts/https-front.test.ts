// The HTTPS front of `npm start -- --lan` against stand-in upstreams: the Caddyfile's routes (and
// nothing else), the client's address in X-Forwarded-For whatever the client claims, WebSockets to
// the relay (accepted and refused), and a clear 502 when an upstream is down. With the real relay
// and MediaMTX behind it, from a phone: e2e/phone-server-lan.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { createHttpsFront, type Upstreams } from './https-front.ts';
import { loadOrCreateTls, tlsDir } from '../bridge/http/tls.ts';
import { CA_CERT } from '../bridge/http/ca.ts';
import { createLogger } from '../common/log.ts';

let dir: string;
let ca: Buffer;
let front: Server;
let frontPort: number;
const upstreams: Server[] = [];
let closedPort: number;

/** An upstream that answers what it was asked: its name, the path, the client address claimed, the body. */
async function echo(name: string): Promise<string> {
  const server = createServer((req, res) => {
    // As MediaMTX's HLS server answers a first request: a redirect to an absolute path.
    if (req.url?.endsWith('index.m3u8')) return void res.writeHead(302, { location: `${req.url}?cookieCheck=1` }).end();
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      name, method: req.method, url: req.url, xff: req.headers['x-forwarded-for'], proto: req.headers['x-forwarded-proto'], host: req.headers.host, body,
    })));
  });
  if (name === 'relay') {
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      if (req.url?.includes('refuse')) { socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'); return; }
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`${name} heard ${m.toString()} from ${req.headers['x-forwarded-for']}`)));
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstreams.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function ask(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: frontPort, method, path, headers, ca }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'havatar-front-'));
  const tls = await loadOrCreateTls(dir, { https: { cert_path: null, key_path: null } }, createLogger('test'));
  ca = readFileSync(join(tlsDir(dir), CA_CERT));
  const ups: Upstreams = { relay: await echo('relay'), webrtc: await echo('webrtc'), hls: await echo('hls') };
  front = createHttpsFront(tls, ups);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontPort = (front.address() as AddressInfo).port;
  // A port nobody listens on, for the unreachable upstream.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  closedPort = (gone.address() as AddressInfo).port;
  await new Promise((resolve) => gone.close(resolve));
});

after(async () => {
  front?.closeAllConnections();
  front?.close();
  for (const s of upstreams) { s.closeAllConnections(); s.close(); }
  rmSync(dir, { recursive: true, force: true });
});

test('the relay, WHEP/WHIP and HLS are routed as the Caddyfile routes them; query and body go along', async () => {
  const cases: [string, string, string, string][] = [
    ['POST', '/api/session', 'relay', '/api/session'],
    ['GET', '/health', 'relay', '/health'],
    ['POST', '/robots/sim/whep', 'webrtc', '/robots/sim/whep'],
    ['PATCH', '/robots/sim/talk/whip/0b1c-uuid', 'webrtc', '/robots/sim/talk/whip/0b1c-uuid'],
    ['GET', '/hls/robots/sim/index.m3u8?cookieCheck=1', 'hls', '/robots/sim/index.m3u8?cookieCheck=1'],
  ];
  for (const [method, path, name, url] of cases) {
    const r = await ask(method, path, { 'content-type': 'application/sdp' }, method === 'GET' ? undefined : 'v=0');
    assert.equal(r.status, 200, `${method} ${path}`);
    const seen = JSON.parse(r.text) as Record<string, string>;
    assert.deepEqual([seen.name, seen.method, seen.url, seen.proto, seen.body], [name, method, url, 'https', method === 'GET' ? '' : 'v=0'], `${method} ${path}`);
    assert.equal(seen.host, `127.0.0.1:${frontPort}`, 'the Host the client asked by (the relay picks media URLs by it)');
  }
});

test('a redirect to an absolute path from behind /hls keeps /hls', async () => {
  const location = await new Promise<string | undefined>((resolve, reject) => {
    request({ host: '127.0.0.1', port: frontPort, path: '/hls/robots/sim/index.m3u8', ca }, (res) => { res.resume(); resolve(res.headers.location); }).on('error', reject).end();
  });
  assert.equal(location, '/hls/robots/sim/index.m3u8?cookieCheck=1');
});

test('nothing else is offered: the auth hook, metrics, MediaMTX\'s other paths', async () => {
  for (const path of ['/mediamtx/auth', '/metrics', '/', '/robots/sim/index.m3u8', '/v3/paths/list', '/robots/sim/whep/../../metrics', '/robots/sim/whep/%2E%2e/%2e%2E/metrics', '/hls/../metrics']) {
    assert.equal((await ask('GET', path)).status, 404, path);
  }
});

test('X-Forwarded-For names the client as the front saw it, never what the client wrote', async () => {
  const seen = JSON.parse((await ask('GET', '/api/status', { 'x-forwarded-for': '203.0.113.9' })).text) as { xff: string };
  assert.equal(seen.xff, '127.0.0.1');
});

test('WebSockets reach the relay both ways; a refused handshake keeps its status; media paths do not upgrade', async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${frontPort}/ws/client/c1?token=t`, { ca, headers: { 'x-forwarded-for': '203.0.113.9' } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const reply = new Promise<string>((resolve) => ws.once('message', (m: Buffer) => resolve(m.toString())));
  ws.send('hello');
  assert.equal(await reply, 'relay heard hello from 127.0.0.1');
  ws.close();
  const status = (path: string) => new Promise<number>((resolve) => {
    const w = new WebSocket(`wss://127.0.0.1:${frontPort}${path}`, { ca });
    w.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); w.terminate(); });
    w.once('error', () => resolve(-1));
  });
  assert.equal(await status('/ws/client/refuse'), 401);
  assert.equal(await status('/robots/sim/whep'), 404);
});

test('an upstream that is down: 502, and the front keeps serving', async () => {
  const down = createHttpsFront(readTls(), { relay: `http://127.0.0.1:${closedPort}`, webrtc: `http://127.0.0.1:${closedPort}`, hls: `http://127.0.0.1:${closedPort}` }, createLogger('test'));
  await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
  try {
    const port = (down.address() as AddressInfo).port;
    const r = await new Promise<number>((resolve, reject) => request({ host: '127.0.0.1', port, path: '/api/session', ca }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end());
    assert.equal(r, 502);
    assert.equal((await ask('GET', '/health')).status, 200);
  } finally {
    down.close();
  }
});

function readTls(): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(join(tlsDir(dir), 'cert.pem')), key: readFileSync(join(tlsDir(dir), 'key.pem')) };
}
