// Invite links: read from the query or the fragment and taken out of the URL; redeemed with the
// relay (fake fetch) into settings saved in IndexedDB, Auto mode on; media URLs from the relay or
// derived; a refused invite leaves settings alone and says why.

import { expect } from '@open-wc/testing';
import { acceptInvite, createServices } from '../../app/services.ts';
import { FakeLink, uniqueDbName } from '../../test/fake-link.ts';
import { defaultMediaUrls } from '../link/server-api.ts';
import { readInviteFromUrl } from './invite-from-url.ts';
import { SettingsStore } from './settings-store.ts';

const answer = (status: number, body: unknown) =>
  (async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })) as unknown as typeof fetch;

describe('invite links', () => {
  it('reads ?invite=&server= and #invite=, keeping every other part of the URL', () => {
    const q = readInviteFromUrl('https://app.example/drive?invite=hi_abc&server=https%3A%2F%2Frelay.example%2F&x=1#token=t1');
    expect(q).to.deep.equal({ invite: 'hi_abc', server: 'https://relay.example', cleanUrl: '/drive?x=1#token=t1' });
    const h = readInviteFromUrl('https://app.example/#invite=hi_def&server=http://127.0.0.1:3000');
    expect(h).to.deep.equal({ invite: 'hi_def', server: 'http://127.0.0.1:3000', cleanUrl: '/' });
    // No server named: the app's own origin.
    expect(readInviteFromUrl('https://relay.example/?invite=hi_x')!.server).to.equal('https://relay.example');
    expect(readInviteFromUrl('https://app.example/?x=1')).to.equal(null);
  });

  it('redeems the invite and stores session, robot, role and media URLs; switches to Auto', async () => {
    const s = createServices(uniqueDbName(), new FakeLink());
    await s.settings.load();
    let sent: { url: string; body: string } | null = null;
    const f = (async (url: string, init: RequestInit) => {
      sent = { url, body: String(init.body) };
      return new Response(JSON.stringify({ ok: true, token: 'hs_0123456789abcdef', session: 's1', robot: 'sim', role: 'driver', expiresAt: Date.now() + 60_000, whepUrl: 'http://m:8889/robots/sim/whep', whipUrl: 'http://m:8889/robots/sim/talk/whip', hlsUrl: 'http://m:8888/robots/sim/index.m3u8' }), { status: 201 });
    }) as unknown as typeof fetch;
    expect(await acceptInvite(s, { invite: 'hi_abc', server: 'http://127.0.0.1:3000' }, f)).to.equal(true);
    expect(sent!.url).to.equal('http://127.0.0.1:3000/api/session');
    expect(JSON.parse(sent!.body)).to.deep.equal({ invite: 'hi_abc' });
    const v = s.settings.value;
    expect(v.mode).to.equal('auto');
    expect(v.sessionToken).to.equal('hs_0123456789abcdef');
    expect(v.robotId).to.equal('sim');
    expect(v.sessionRole).to.equal('driver');
    expect(v.whepUrl).to.equal('http://m:8889/robots/sim/whep');
    expect(v.hlsUrl).to.equal('http://m:8888/robots/sim/index.m3u8');
    // Persisted: a fresh store over the same database reads it back.
    const again = new SettingsStore(s.db);
    expect((await again.load()).sessionToken).to.equal('hs_0123456789abcdef');
  });

  it('a refused invite changes nothing and leaves a message; media URLs default to MediaMTX ports', async () => {
    const name = uniqueDbName();
    const s = createServices(name, new FakeLink());
    await s.settings.load();
    expect(await acceptInvite(s, { invite: 'hi_bad', server: 'http://127.0.0.1:3000' }, answer(401, { ok: false, error: 'unauthorized' }))).to.equal(false);
    expect(s.inviteError).to.match(/unknown or expired/);
    // An invite used before: the relay's own words, not a guess.
    const used = 'This invite link has already been used (2026-12-06T10:00:00.000Z). Each link works once: ask the person who sent it for a new one.';
    expect(await acceptInvite(s, { invite: 'hi_used', server: 'http://127.0.0.1:3000' }, answer(410, { ok: false, error: 'invite_used', msg: used }))).to.equal(false);
    expect(s.inviteError).to.equal(`Invite link not accepted: ${used}`);
    expect(s.settings.value.mode).to.equal('local');
    expect(s.settings.value.sessionToken).to.equal('');
    expect(await acceptInvite(s, { invite: 'hi_ok', server: 'https://relay.example' }, answer(201, { ok: true, token: 'hs_0123456789abcdef', session: 's', robot: 'r2', role: 'viewer', expiresAt: Date.now() + 1000 }))).to.equal(true);
    expect(s.settings.value.whepUrl).to.equal(defaultMediaUrls('https://relay.example', 'r2').whepUrl);
    expect(s.settings.value.whepUrl).to.equal('http://relay.example:8889/robots/r2/whep');
  });
});
