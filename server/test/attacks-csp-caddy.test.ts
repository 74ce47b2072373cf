// Attack: the Caddy-served app keeps the relay session in IndexedDB. A page on
// another site that frames it (clickjacking: "click here" over the talk or drive buttons), an
// injected script that sends the session elsewhere, or a Referer that carries the app's URL must
// all be refused by the browser: so every answer through Caddy carries a strict
// Content-Security-Policy (connect-src only the app's own origin, where Caddy also serves the
// relay and MediaMTX), frame-ancestors 'none' and X-Frame-Options DENY, no-referrer, and a
// Permissions-Policy with the microphone for the app only. On the old Caddyfile none of these
// (but Referrer-Policy) were sent. Real Caddy with server/Caddyfile, serving the built app (dist/)
// in front of the real relay.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { anyHostSources as anyHost, parseCsp } from '../../scripts/csp-headers.ts';
import { buildAppIfStale } from '../../scripts/stack.ts';
import { freePort, launch, startRelay, stopAll, tempDir } from './helpers.ts';

const hasCaddy = spawnSync('sh', ['-c', 'command -v caddy']).status === 0;
/** The built app (npm run build), served as it is in production. */
const DIST = new URL('../../dist/', import.meta.url).pathname;
const skip = !hasCaddy ? 'caddy is not installed (apt-get install caddy)' : false;
let base = '';
let port = 0;

before(async () => {
  if (skip) return;
  // Caddy serves the built app; on a fresh clone nothing has built it yet.
  await buildAppIfStale();
  const [relay, webrtc, hls] = [await startRelay(), await freePort(), await freePort()];
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const home = tempDir('havatar-caddy-csp-');
  const env = {
    HAVATAR_DOMAIN: base, CADDY_ADMIN: 'off', APP_ROOT: DIST, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home,
    RELAY_UPSTREAM: `127.0.0.1:${relay.port}`, WEBRTC_UPSTREAM: `127.0.0.1:${webrtc}`, HLS_UPSTREAM: `127.0.0.1:${hls}`,
  };
  await launch('caddy', ['run', '--adapter', 'caddyfile', '--config', new URL('../Caddyfile', import.meta.url).pathname], /serving initial configuration|server running/, { env });
});
after(stopAll);

async function assertHardened(path: string): Promise<Map<string, string[]>> {
  const res = await fetch(`${base}${path}`);
  if (path === '/') {
    // The policy allows no inline script or style: the built app has none.
    const page = await res.text();
    assert.doesNotMatch(page, /<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler in index.html');
    assert.match(page, /<link rel="stylesheet"[^>]*href="\/assets\//, 'its styles are a file');
  } else await res.body?.cancel();
  const csp = parseCsp(res.headers.get('content-security-policy'));
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], `${path}: no site may frame the app`);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
  const perms = res.headers.get('permissions-policy') ?? '';
  assert.match(perms, /(^|,\s*)microphone=\(self\)/, `${path}: microphone for the app only`);
  assert.match(perms, /(^|,\s*)camera=\(\)/, `${path}: camera off`);
  for (const [d, sources] of csp) assert.deepEqual(anyHost(sources), [], `${path}: ${d} names hosts, never a whole scheme`);
  assert.deepEqual(csp.get('script-src'), ["'self'"], `${path}: scripts from the app only, nothing inline`);
  assert.ok(!(csp.get('style-src') ?? []).includes("'unsafe-inline'"), `${path}: no inline styles`);
  assert.deepEqual(csp.get('media-src'), ["'self'", 'blob:'], `${path}: media from the app's origin (MediaMTX behind Caddy) and hls.js's MediaSource`);
  return csp;
}

describe('browser hardening headers through Caddy', { skip }, () => {
  test('the app (any route, its files) carries a strict CSP, cannot be framed, sends no referrer', async () => {
    for (const path of ['/', '/drive/some/route', '/index.html', '/sw.js', '/manifest.webmanifest']) {
      const connect = (await assertHardened(path)).get('connect-src')!;
      // The relay's API and WebSocket, WHEP/WHIP and HLS are all on this origin (the Caddyfile).
      assert.deepEqual(connect, ["'self'", `ws://127.0.0.1:${port}`], `${path}: connect-src is this origin only`);
    }
  });

  test('the relay\'s answers through Caddy carry the same headers', async () => {
    await assertHardened('/health');
    await assertHardened('/api/status');
  });
});
