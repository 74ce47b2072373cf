// server/Caddyfile in a real Caddy (plain HTTP on a free loopback port, admin endpoint off) in
// front of the real relay and MediaMTX: the public routes reach the right upstream, the private
// ones (/mediamtx/auth, /metrics) do not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Peer, api, freePort, launch, mediamtxPorts, sessionFor, startMediamtx, startRelay, stopAll, tempDir, type RelayProc } from './helpers.ts';

const hasCaddy = spawnSync('sh', ['-c', 'command -v caddy']).status === 0;
let relay: RelayProc;
let base = '';

before(async () => {
  if (!hasCaddy) return;
  const ports = await mediamtxPorts();
  relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}` });
  await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
  const port = await freePort();
  const dir = tempDir('havatar-caddy-');
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', 'index.html'), '<!doctype html><title>Havatar</title>');
  base = `http://127.0.0.1:${port}`;
  await launch('caddy', ['run', '--adapter', 'caddyfile', '--config', new URL('../Caddyfile', import.meta.url).pathname], /serving initial configuration|server running/, {
    env: {
      HAVATAR_DOMAIN: base, CADDY_ADMIN: 'off', APP_ROOT: join(dir, 'app'), XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir,
      RELAY_UPSTREAM: `127.0.0.1:${relay.port}`, WEBRTC_UPSTREAM: `127.0.0.1:${ports.webrtc}`, HLS_UPSTREAM: `127.0.0.1:${ports.hls}`,
    },
  });
});
after(stopAll);

describe('Caddy in front (server/Caddyfile)', { skip: hasCaddy ? false : 'caddy is not installed (apt-get install caddy)' }, () => {
  test('the app, the relay API, health and WebSockets are served through Caddy', async () => {
    const app = await api(base, 'GET', '/drive/some/route');
    assert.equal(app.status, 200);
    assert.match(app.text, /<title>Havatar<\/title>/);
    assert.equal((await api(base, 'GET', '/health')).status, 200);
    assert.equal((await api(base, 'GET', '/api/status')).status, 200);
    const token = await sessionFor(relay.url, 'sim', 'viewer');
    const c = await Peer.open(`${base.replace('http', 'ws')}/ws/client/through-caddy?token=${token}`);
    await c.next((f) => f.type === 'welcome');
    c.close();
  });

  test('WHEP and HLS reach MediaMTX (which asks for credentials)', async () => {
    const whep = await fetch(`${base}/robots/sim/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(whep.status, 401);
    assert.match(whep.headers.get('www-authenticate') ?? '', /Basic/);
    // MediaMTX's first answer is its cookie check, a redirect to an absolute path: it keeps /hls,
    // and following it reaches MediaMTX again (its 401), not the app's index.html.
    const hls = await fetch(`${base}/hls/robots/sim/index.m3u8`, { redirect: 'manual' });
    assert.equal(hls.status, 302);
    assert.equal(hls.headers.get('location'), '/hls/robots/sim/index.m3u8?cookieCheck=1');
    assert.equal((await fetch(`${base}/hls/robots/sim/index.m3u8`)).status, 401);
  });

  test('the relay\'s private routes are not reachable through Caddy', async () => {
    const auth = await api(base, 'POST', '/mediamtx/auth', { action: 'read', path: 'robots/sim', token: 'x', ip: '1.2.3.4' });
    assert.equal(auth.status, 404);
    const metrics = await api(base, 'GET', '/metrics');
    assert.equal(metrics.status, 404);
    assert.doesNotMatch(metrics.text, /havatar_relay/);
  });
});
