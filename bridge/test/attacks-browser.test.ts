// Attack: the app keeps the operator token and relay session in IndexedDB, so
// the page it runs in must not be framable (clickjacking), must not leak its URL to other sites,
// and an injected script or a tampered setting must not be able to send data anywhere but the
// robot itself and the relay/MediaMTX the robot is configured for. On the old bridge the policy
// said `connect-src 'self' ws: wss: https: http:` (any host at all). The real bridge process is
// started and its headers read on the app shell, the service worker and the API.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { anyHostSources as anyHost, parseCsp } from '../../scripts/csp-headers.ts';
import { buildAppIfStale } from '../../scripts/stack.ts';
import { api, startRig, type Rig } from './harness.ts';

let rig: Rig;

before(async () => {
  // The app shell is one of the answers checked: on a fresh clone nothing has built it yet.
  await buildAppIfStale();
  rig = await startRig({
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      server_mode: { server_url: 'https://relay-a.example', rtsp_url: 'rtsp://media-a.example:8554' },
    })),
  });
});
after(() => rig?.stop());

function assertHardened(headers: Headers, what: string): Map<string, string[]> {
  const csp = parseCsp(headers.get('content-security-policy'));
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], `${what}: no site may frame the app`);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
  const perms = headers.get('permissions-policy') ?? '';
  assert.match(perms, /(^|,\s*)microphone=\(self\)/, `${what}: microphone for the app itself only`);
  assert.match(perms, /(^|,\s*)camera=\(\)/, `${what}: camera off`);
  assert.match(perms, /(^|,\s*)geolocation=\(\)/, `${what}: geolocation off`);
  const connect = csp.get('connect-src') ?? [];
  assert.deepEqual(anyHost(connect), [], `${what}: connect-src names hosts, never a whole scheme: ${connect.join(' ')}`);
  for (const d of ['default-src', 'script-src', 'style-src', 'img-src', 'media-src', 'worker-src']) {
    assert.deepEqual(anyHost(csp.get(d) ?? []), [], `${what}: ${d} names hosts`);
  }
  assert.ok(!(csp.get('script-src') ?? csp.get('default-src') ?? []).some((s) => /unsafe/.test(s)), `${what}: no unsafe script sources`);
  assert.ok(!(csp.get('style-src') ?? []).some((s) => /unsafe/.test(s)), `${what}: no inline styles`);
  assert.deepEqual(csp.get('worker-src'), ["'self'"], `${what}: workers from the app only (no blob: workers)`);
  return csp;
}

describe('browser hardening headers on the bridge', () => {
  test('the app shell, the service worker and the API carry a strict CSP and the other headers', async () => {
    const page = await fetch(`${rig.http}/drive`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const csp = assertHardened(page.headers, 'app shell');
    const connect = csp.get('connect-src')!;
    assert.ok(connect.includes("'self'"), 'the bridge itself (API, /ws)');
    assert.ok(connect.includes('https://relay-a.example:*') && connect.includes('wss://relay-a.example:*'), `the relay: ${connect.join(' ')}`);
    assert.ok(connect.includes('https://media-a.example:*'), `MediaMTX's host (WHEP/WHIP/HLS): ${connect.join(' ')}`);
    assert.ok(connect.includes(`ws://127.0.0.1:${rig.httpPort}`), `the bridge's own WebSocket by name: ${connect.join(' ')}`);
    assert.ok(!connect.some((s) => s.includes('evil')), 'nothing else');

    const sw = await fetch(`${rig.http}/sw.js`);
    assert.equal(sw.status, 200);
    assertHardened(sw.headers, 'service worker');
    await sw.body?.cancel();
    await page.body?.cancel();

    const health = await api(rig, 'GET', '/health');
    assertHardened(health.headers, '/health');
    const denied = await api(rig, 'GET', '/config', undefined, {});
    assert.equal(denied.status, 401);
    assertHardened(denied.headers, '401 from the API');
  });

  test('a Host header cannot write into the policy', async () => {
    const { request } = await import('node:http');
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: rig.httpPort, path: '/', headers: { Host: "evil.example 'unsafe-inline' *" } }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
    const csp = String(headers['content-security-policy'] ?? '');
    assert.ok(csp, 'a policy is still sent');
    assert.doesNotMatch(csp, /evil|unsafe-inline'? \*/, csp);
  });

  test('after POST /server/config with a new server_url the policy names the new relay, not the old', async () => {
    const r = await api(rig, 'POST', '/server/config', { server_url: 'https://relay-b.example:8443', rtsp_url: null, stream_password: 'a-new-password-for-relay-b' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = await fetch(`${rig.http}/`);
    await page.body?.cancel();
    const connect = assertHardened(page.headers, 'app shell after the change').get('connect-src')!;
    assert.ok(connect.includes('https://relay-b.example:*') && connect.includes('wss://relay-b.example:*'), connect.join(' '));
    assert.ok(!connect.some((s) => s.includes('relay-a') || s.includes('media-a')), `the old relay and media hosts are gone: ${connect.join(' ')}`);
  });
});
