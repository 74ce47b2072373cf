import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { api, Operator, startRig, TOKEN, type Rig } from './harness.ts';

describe('operator access', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  afterEach(() => Operator.closeAll());
  after(async () => { await rig?.stop(); });

  test('an API request without a token is refused with 401', async () => {
    const r = await api(rig, 'GET', '/system_status', undefined, {});
    assert.equal(r.status, 401);
    assert.equal((r.body as { ok: boolean }).ok, false);
  });

  test('a wrong token is refused with 401, slowed down, and never logged', async () => {
    const wrong = 'wrong-token-XYZ-should-not-appear';
    const t0 = Date.now();
    const r = await api(rig, 'GET', '/config', undefined, { Authorization: `Bearer ${wrong}` });
    assert.equal(r.status, 401);
    assert.ok(Date.now() - t0 >= 90, 'a failed attempt is answered after a delay');
    const q = await api(rig, 'GET', `/config?token=${wrong}`, undefined, {});
    assert.equal(q.status, 401);
    assert.ok(!rig.bridgeLog.some((l) => l.includes(wrong)), 'the presented token is not in the log');
    assert.ok(rig.bridgeLog.some((l) => l.includes('authentication failed')));
  });

  test('the right token works as a Bearer header and as ?token=', async () => {
    assert.equal((await api(rig, 'GET', '/system_status')).status, 200);
    assert.equal((await api(rig, 'GET', `/system_status?token=${TOKEN}`, undefined, {})).status, 200);
    assert.ok(!rig.bridgeLog.some((l) => l.includes(TOKEN)), 'the real token is never logged');
  });

  test('health and the app shell need no token', async () => {
    assert.equal((await api(rig, 'GET', '/health', undefined, {})).status, 200);
  });

  test('a session cookie from POST /auth/session authenticates same-origin requests only', async () => {
    const r = await api(rig, 'POST', '/auth/session');
    assert.equal(r.status, 200);
    const setCookie = r.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^havatar_session=[\w-]+;/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Max-Age=\d+/);
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await api(rig, 'GET', '/system_status', undefined, { Cookie: cookie })).status, 200);
    assert.equal((await api(rig, 'GET', '/system_status', undefined, { Cookie: cookie, Origin: rig.http })).status, 200);
    assert.equal((await api(rig, 'GET', '/system_status', undefined, { Cookie: cookie, Origin: 'https://evil.example' })).status, 401);
    assert.equal((await api(rig, 'GET', '/system_status', undefined, { Cookie: 'havatar_session=forged' })).status, 401);
    // Signing out ends the session.
    await api(rig, 'DELETE', '/auth/session', undefined, { Cookie: cookie });
    assert.equal((await api(rig, 'GET', '/system_status', undefined, { Cookie: cookie })).status, 401);
  });

  test('POST /auth/session with a wrong token sets no cookie', async () => {
    const r = await api(rig, 'POST', '/auth/session', undefined, { Authorization: 'Bearer nope' });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('set-cookie'), null);
  });

  test('a WebSocket upgrade without or with a wrong token is refused with 401 before the upgrade', async () => {
    await assert.rejects(Operator.open(`ws://127.0.0.1:${rig.httpPort}/ws`), (e: { status?: number }) => e.status === 401);
    await assert.rejects(Operator.open(`ws://127.0.0.1:${rig.httpPort}/ws?token=bad`), (e: { status?: number }) => e.status === 401);
    const op = await Operator.connect(rig);
    const welcome = await op.next('welcome');
    assert.match(welcome.session, /^s-/);
    await op.close();
  });

  test('a cookie-authenticated WebSocket upgrade is accepted only from the bridge\'s own origin', async () => {
    const cookie = ((await api(rig, 'POST', '/auth/session')).headers.get('set-cookie') ?? '').split(';')[0]!;
    const url = `ws://127.0.0.1:${rig.httpPort}/ws`;
    await assert.rejects(Operator.open(url, { Cookie: cookie, Origin: 'https://evil.example' }), (e: { status?: number }) => e.status === 401);
    await assert.rejects(Operator.open(url, { Cookie: cookie }), (e: { status?: number }) => e.status === 401);
    const op = await Operator.open(url, { Cookie: cookie, Origin: rig.http });
    await op.next('welcome');
    await op.close();
  });

  test('cross-origin callers get CORS without credentials', async () => {
    const r = await fetch(`${rig.http}/system_status`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
  });

  test('HTTPS serves the same API with the generated certificate', async () => {
    const { request } = await import('node:https');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${rig.https}/health`, { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  });
});
