// Settings' QR codes: single-use invites a driver's session gets from the relay (expiry shown next
// to the code), the local-mode link on request, and what a viewer or a failing relay sees.

import { expect, fixture, html } from '@open-wc/testing';
import { encode } from 'uqr';
import { DEFAULT_SETTINGS, type Settings } from '../lib/storage/settings.ts';
import { waitFor } from '../../common/wait.ts';
import { qrPath } from './qr-code.ts';
import { localLink } from './share-links.ts';
import './invite-share.ts';
import type { InviteShare } from './invite-share.ts';

const SERVER = { serverUrl: 'http://192.0.2.10:3000', sessionToken: 'hs_driver', sessionExpiresAt: Date.now() + 600_000, robotId: 'sim' };
const settings = (extra: Partial<Settings>): Settings => ({ ...DEFAULT_SETTINGS, ...extra });

interface Call { url: string; auth: string; body: unknown }
function relay(status: number, answer: object, calls: Call[]): typeof fetch {
  return (async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), auth: new Headers(init?.headers).get('Authorization') ?? '', body: JSON.parse(String(init?.body)) });
    return new Response(JSON.stringify(answer), { status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}

const buttons = (el: InviteShare) => [...el.shadowRoot!.querySelectorAll('button')];
const button = (el: InviteShare, text: string) => buttons(el).find((b) => b.textContent!.includes(text))!;

describe('Settings: add a phone or a viewer', () => {
  it('a driver gets a single-use viewer invite as a QR code naming its server, its expiry beside it', async () => {
    const calls: Call[] = [];
    const expiresAt = Date.now() + 3600_000;
    const el = await fixture<InviteShare>(html`<hv-invite-share .settings=${settings({ ...SERVER, sessionRole: 'driver' })}
      .fetchImpl=${relay(201, { ok: true, invite: { id: 'i1', role: 'viewer', expiresAt, uses: 1 }, link: 'http://192.0.2.10:5000/?invite=hi_abc' }, calls)}></hv-invite-share>`);
    button(el, 'Invite a viewer').click();
    const qr = await waitFor('the QR code', () => el.shadowRoot!.querySelector('hv-qr-code'), (q) => q !== null, 2000);
    expect(calls).to.deep.equal([{ url: 'http://192.0.2.10:3000/api/session/invites', auth: 'Bearer hs_driver', body: { role: 'viewer' } }]);
    expect(qr!.text).to.equal('http://192.0.2.10:5000/?invite=hi_abc&server=http%3A%2F%2F192.0.2.10%3A3000');
    const expiry = el.shadowRoot!.querySelector('.expiry')!;
    expect(expiry.getAttribute('data-expiry')).to.equal(String(expiresAt));
    expect(expiry.textContent).to.match(/^Works once, until .+\.$/);
    await qr!.updateComplete;
    const svg = qr!.shadowRoot!.querySelector('svg')!;
    expect(svg.getAttribute('aria-label')).to.equal(`Viewer invite: ${qr!.text}`);
    const side = qrPath(qr!.text).size;
    expect([svg.getAttribute('viewBox'), svg.getBoundingClientRect().width > 100]).to.deep.equal([`0 0 ${side} ${side}`, true]);
    expect(el.shadowRoot!.textContent).not.to.contain('127.0.0.1');
  });

  it('says why when the relay refuses, and that a relay without the route needs its admin', async () => {
    const el = await fixture<InviteShare>(html`<hv-invite-share .settings=${settings({ ...SERVER, sessionRole: 'driver' })}
      .fetchImpl=${relay(403, { ok: false, error: 'forbidden', msg: 'only a driver may make invites' }, [])}></hv-invite-share>`);
    button(el, 'Invite another driver').click();
    const error = await waitFor('the error', () => el.shadowRoot!.querySelector('.error')?.textContent, Boolean, 2000);
    expect(error).to.equal('The server refused the invite (403): only a driver may make invites.');
    el.fetchImpl = relay(404, { ok: false, error: 'not_found' }, []);
    button(el, 'Invite a viewer').click();
    await waitFor('the older-relay message', () => el.shadowRoot!.querySelector('.error')?.textContent, (t) => /ask its admin/.test(t ?? ''), 2000);
    expect(el.shadowRoot!.querySelector('hv-qr-code')).to.equal(null);
  });

  it('a viewer is told only a driver can invite; no invite buttons', async () => {
    const el = await fixture<InviteShare>(html`<hv-invite-share .settings=${settings({ ...SERVER, sessionRole: 'viewer' })}></hv-invite-share>`);
    expect(buttons(el).map((b) => b.textContent)).to.deep.equal([]);
    expect(el.shadowRoot!.textContent).to.contain('Only a driver can make invites');
  });

  it('local mode: the robot link with the operator token, shown on request, "does not expire", and a warning for 127.0.0.1', async () => {
    const el = await fixture<InviteShare>(html`<hv-invite-share .settings=${settings({ token: 'op-token-1', robotUrl: 'https://127.0.0.1:5443' })}></hv-invite-share>`);
    expect(el.shadowRoot!.querySelector('hv-qr-code'), 'hidden until asked').to.equal(null);
    button(el, 'local-mode link').click();
    const qr = await waitFor('the QR code', () => el.shadowRoot!.querySelector('hv-qr-code'), (q) => q !== null, 2000);
    expect(qr!.text).to.equal('https://127.0.0.1:5443/#token=op-token-1');
    expect(el.shadowRoot!.querySelector('.expiry')!.textContent).to.equal('Does not expire.');
    expect(el.shadowRoot!.textContent).to.contain('another phone cannot open');
    expect(localLink({ robotUrl: '', token: 'a b' }, 'https://192.0.2.7:5443/settings?x=1')).to.equal('https://192.0.2.7:5443/#token=a+b');
  });

  it('the QR path draws exactly the modules uqr encodes, with the quiet zone and the three finder patterns', () => {
    const text = 'https://192.0.2.7:5443/#token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH';
    const { d, size } = qrPath(text);
    const { data } = encode(text, { ecc: 'M', border: 4 });
    expect(size).to.equal(data.length);
    expect(d.split('M').length - 1).to.equal(data.flat().filter(Boolean).length);
    const dark = new Set(d.split('M').slice(1).map((m) => m.split('h')[0]));
    for (const [x, y] of [[4, 4], [10, 4], [4, 10], [size - 5, 4], [4, size - 5]]) expect(dark.has(`${x} ${y}`), `finder corner ${x},${y}`).to.equal(true);
    for (let i = 0; i < size; i++) expect([dark.has(`${i} 0`), dark.has(`0 ${i}`), dark.has(`${i} 3`)]).to.deep.equal([false, false, false]);
  });
});
