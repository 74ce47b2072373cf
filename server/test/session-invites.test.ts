// A driver adds another phone or a viewer from the app, which never holds the admin key: POST
// /api/session/invites with the driver's session token makes a single-use invite to the same
// robot, at most a day long and never outliving the driver's own invite. Against the real relay.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { admin, api, sessionFor, startRelay, stopAll, type RelayProc } from './helpers.ts';

let relay: RelayProc;
before(async () => { relay = await startRelay({ env: { APP_URL: 'https://app.example/' } }); });
after(stopAll);

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const make = (token: string, body: Record<string, unknown>) => api(relay.url, 'POST', '/api/session/invites', body, bearer(token));
const inviteOf = (link: string) => new URL(link).searchParams.get('invite')!;

describe('invites made by a driver session', () => {
  test('a driver makes a viewer invite: single-use, 24 h at most, a link to the app that redeems as a viewer of the same robot', async () => {
    const driver = await sessionFor(relay.url, 'sim', 'driver');
    const before = Date.now();
    const r = await make(driver, { role: 'viewer' });
    assert.equal(r.status, 201, r.text);
    const inv = r.json.invite as { role: string; robot: string; uses: number; expiresAt: number };
    assert.deepEqual([inv.role, inv.robot, inv.uses], ['viewer', 'sim', 1]);
    // The driver's own invite runs 1 h (sessionFor): the new one ends with it, not a day later.
    assert.ok(inv.expiresAt > before && inv.expiresAt <= before + 3600_000 + 5000, `expiresAt ${new Date(inv.expiresAt).toISOString()}`);
    assert.match(String(r.json.link), /^https:\/\/app\.example\/\?invite=hi_/);
    assert.doesNotMatch(JSON.stringify(r.json.invite), /hi_/, 'the token is only in the link');
    const s = await api(relay.url, 'POST', '/api/session', { invite: inviteOf(String(r.json.link)) });
    assert.equal(s.status, 201, s.text);
    assert.deepEqual([s.json.role, s.json.robot], ['viewer', 'sim']);
    assert.equal((await api(relay.url, 'POST', '/api/session', { invite: inviteOf(String(r.json.link)) })).status, 410, 'used once only');
  });

  test('a driver invite for another phone; a shorter ttl is kept', async () => {
    const driver = await sessionFor(relay.url, 'sim', 'driver');
    const r = await make(driver, { role: 'driver', ttl: '10m' });
    assert.equal(r.status, 201, r.text);
    const inv = r.json.invite as { role: string; expiresAt: number };
    assert.equal(inv.role, 'driver');
    assert.ok(Math.abs(inv.expiresAt - (Date.now() + 600_000)) < 60_000);
    const s = await api(relay.url, 'POST', '/api/session', { invite: inviteOf(String(r.json.link)) });
    assert.equal(s.json.role, 'driver');
  });

  test('refused: viewers (403), no or a wrong token (401), a bad role or a ttl over 24 h (400), a revoked driver invite (401)', async () => {
    const viewer = await sessionFor(relay.url, 'sim', 'viewer');
    assert.equal((await make(viewer, { role: 'viewer' })).status, 403);
    assert.equal((await api(relay.url, 'POST', '/api/session/invites', { role: 'viewer' })).status, 401);
    assert.equal((await make('hs_not-a-session', { role: 'viewer' })).status, 401);
    const driver = await sessionFor(relay.url, 'sim', 'driver');
    assert.equal((await make(driver, { role: 'admin' })).status, 400);
    assert.equal((await make(driver, { role: 'viewer', ttl: '2d' })).status, 400);
    const listed = await api(relay.url, 'GET', '/api/invites', undefined, admin);
    for (const i of listed.json.invites as { id: string }[]) await api(relay.url, 'DELETE', `/api/invites/${i.id}`, undefined, admin);
    assert.equal((await make(driver, { role: 'viewer' })).status, 401);
  });
});
