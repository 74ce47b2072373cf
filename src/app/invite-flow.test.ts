// Attack: a crafted invite link `?invite=…&server=https://stranger.example`
// would move the operator to a stranger's relay (session, talk audio, drive commands). Now a
// server other than the one in use is shown to the operator first, and nothing at all (no fetch,
// no WebSocket) reaches it before they confirm; declining keeps the settings; accepting redeems.
// fetch and WebSocket are replaced by recorders for each test; the real dialog is clicked.

import { expect, waitUntil } from '@open-wc/testing';
import { createServices, type AppServices } from './services.ts';
import { FakeLink, uniqueDbName } from '../test/fake-link.ts';
import { redeemInviteLink } from './invite-flow.ts';
import type { InviteConfirm } from './invite-confirm.ts';
import { readInviteFromUrl, serverNeedsConfirm, takeInviteFromLocation } from '../lib/storage/invite-from-url.ts';

const OURS = 'https://relay-ours.example';
const STRANGER = 'https://stranger.example:8443';

const session = (robot: string) => ({ ok: true, token: 'hs_0123456789abcdef', session: 's', robot, role: 'driver', expiresAt: Date.now() + 60_000 });

let fetched: string[] = [];
let sockets: string[] = [];
const realFetch = window.fetch;
const RealWebSocket = window.WebSocket;

beforeEach(() => {
  fetched = [];
  sockets = [];
  window.fetch = (async (input: RequestInfo | URL) => {
    fetched.push(String(input instanceof Request ? input.url : input));
    return new Response(JSON.stringify(session('stranger-bot')), { status: 201, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
  window.WebSocket = class extends EventTarget {
    constructor(url: string | URL) {
      super();
      sockets.push(String(url));
      throw new Error('no sockets in this test');
    }
  } as unknown as typeof WebSocket;
});

afterEach(() => {
  window.fetch = realFetch;
  window.WebSocket = RealWebSocket;
  document.querySelectorAll('hv-invite-confirm').forEach((d) => d.remove());
});

/** Services whose settings already use our relay, in Auto mode with a session. */
async function servicesOnOurRelay(): Promise<AppServices> {
  const s = createServices(uniqueDbName(), new FakeLink());
  await s.settings.load();
  const r = await s.settings.save({ mode: 'auto', serverUrl: OURS, sessionToken: 'hs_ours0123456789', sessionExpiresAt: Date.now() + 60_000, robotId: 'ours', sessionRole: 'driver' });
  expect(r.ok).to.equal(true);
  return s;
}

const dialog = async (): Promise<InviteConfirm> => {
  await waitUntil(() => document.querySelector('hv-invite-confirm')?.shadowRoot?.querySelector('button.go'), 'the confirm dialog is shown');
  return document.querySelector('hv-invite-confirm')!;
};
const button = (d: InviteConfirm, cls: 'go' | 'stay') => d.shadowRoot!.querySelector<HTMLButtonElement>(`button.${cls}`)!;

describe('invite link naming another server', () => {
  it('asks first, showing the host; declining sends nothing there and changes nothing', async () => {
    const s = await servicesOnOurRelay();
    const before = { ...s.settings.value };
    const outcome = redeemInviteLink(s, { invite: 'hi_crafted', server: STRANGER });
    const d = await dialog();
    expect(d.shadowRoot!.querySelector('[data-host]')!.textContent).to.equal('stranger.example:8443');
    expect(d.shadowRoot!.textContent).to.contain('relay-ours.example');
    expect(fetched, 'no request before the operator answers').to.deep.equal([]);
    expect(sockets, 'no WebSocket before the operator answers').to.deep.equal([]);
    button(d, 'stay').click();
    expect(await outcome).to.equal('declined');
    expect(fetched).to.deep.equal([]);
    expect(sockets).to.deep.equal([]);
    expect(s.settings.value).to.deep.equal(before);
    expect(document.querySelector('hv-invite-confirm'), 'the dialog is gone').to.equal(null);
    expect(s.log.all.map((e) => e.text).join('\n')).to.match(/declined/);
  });

  it('accepting redeems the invite with that server and switches to it', async () => {
    const s = await servicesOnOurRelay();
    const outcome = redeemInviteLink(s, { invite: 'hi_wanted', server: STRANGER });
    const d = await dialog();
    expect(fetched).to.deep.equal([]);
    button(d, 'go').click();
    expect(await outcome).to.equal('accepted');
    expect(fetched).to.deep.equal([`${STRANGER}/api/session`]);
    expect(s.settings.value.serverUrl).to.equal(STRANGER);
    expect(s.settings.value.robotId).to.equal('stranger-bot');
  });

  it('the server in use, or the app\'s own origin when none is set, is redeemed without a question', async () => {
    const s = await servicesOnOurRelay();
    expect(await redeemInviteLink(s, { invite: 'hi_same', server: `${OURS}/` }, { confirm: () => Promise.reject(new Error('asked')) })).to.equal('accepted');
    expect(fetched).to.deep.equal([`${OURS}/api/session`]);

    const fresh = createServices(uniqueDbName(), new FakeLink());
    await fresh.settings.load();
    expect(await redeemInviteLink(fresh, { invite: 'hi_here', server: location.origin }, { confirm: () => Promise.reject(new Error('asked')) })).to.equal('accepted');
    // A fresh app and a server that is not where the app came from: asked.
    expect(serverNeedsConfirm(STRANGER, '', location.origin)).to.equal(true);
    expect(serverNeedsConfirm('http://relay-ours.example', OURS, location.origin), 'http is another origin').to.equal(true);
  });

  it('a server that is not http(s) is refused without a request; the invite leaves the address bar', async () => {
    const s = await servicesOnOurRelay();
    expect(await redeemInviteLink(s, { invite: 'hi_x', server: 'javascript:alert(1)' }, { confirm: () => Promise.reject(new Error('asked')) })).to.equal('failed');
    expect(s.inviteError).to.match(/not an http\(s\) address/);
    expect(fetched).to.deep.equal([]);
    expect(s.settings.value.serverUrl).to.equal(OURS);

    const was = location.href;
    history.replaceState(history.state, '', `${location.pathname}?invite=hi_link&server=${encodeURIComponent(STRANGER)}&keep=1`);
    try {
      expect(takeInviteFromLocation()).to.deep.equal({ invite: 'hi_link', server: STRANGER });
      expect(readInviteFromUrl(location.href), 'the invite is out of the URL before any question').to.equal(null);
      expect(location.search).to.equal('?keep=1');
    } finally {
      history.replaceState(history.state, '', was);
    }
  });
});
