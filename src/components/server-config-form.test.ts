// The robot's server settings form (hv-server-config) against a real bridge and a real relay
// (scripts/wtr-rig.ts, started through the web-test-runner plugin scripts/wtr-rig-plugin.mjs):
// it shows what the bridge has, refuses bad input itself without sending anything, shows the
// bridge's own refusal at the field it names, saves what the bridge then applies (server mode
// connects to the relay), and "Test connection" lists, item by item, what works (relay, session
// with the robot on it) and what does not (the robot publishes nowhere: no MediaMTX in this rig).

import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import { DEFAULT_SETTINGS, type Settings } from '../lib/storage/settings.ts';
import type { ServerModeBlock } from '../lib/storage/server-config.ts';
import type { ServerConfigForm } from './server-config-form.ts';
import './server-config-form.ts';

/** Mocha's `this` in a test or hook, as far as these use it (a longer timeout: a real rig). */
type Slow = { timeout(ms: number): void };
interface RigInfo { bridge: string; token: string; relay: string; robot: string; password: string; session: string; rtsp: string }
let rig: RigInfo;

before(async function (this: Slow) {
  this.timeout(150_000);
  await executeServerCommand('havatar-rig-start', { origin: location.origin });
  // Each ask waits up to 10 s on the server side and answers { ready: false } while the rig starts.
  await waitUntil(async () => {
    const info = await executeServerCommand<(RigInfo & { ready: true }) | { ready: false }, undefined>('havatar-rig-info');
    if (info.ready) rig = info;
    return info.ready;
  }, 'the rig (relay and bridge) to be up', { timeout: 140_000, interval: 10 });
});
after(async function (this: Slow) {
  this.timeout(20_000);
  await executeServerCommand('havatar-rig-stop');
});

const settings = (extra: Partial<Settings> = {}): Settings => ({ ...DEFAULT_SETTINGS, robotUrl: rig.bridge, token: rig.token, ...extra });
async function bridge<T>(path: string): Promise<T> {
  const r = await fetch(`${rig.bridge}/${path}`, { headers: { Authorization: `Bearer ${rig.token}` }, cache: 'no-store' });
  return (await r.json()) as T;
}
const savedBlock = async () => (await bridge<{ config: { server_mode: ServerModeBlock } }>('config')).config.server_mode;

const root = (el: ServerConfigForm) => el.shadowRoot!;
const input = (el: ServerConfigForm, name: string) => root(el).querySelector<HTMLInputElement>(`input[name=${name}]`)!;
const errorAt = (el: ServerConfigForm, name: string) => input(el, name).closest('label')!.querySelector('.error')?.textContent ?? null;
const status = (el: ServerConfigForm) => root(el).querySelector('[role=status]')?.textContent ?? null;
const button = (el: ServerConfigForm, text: RegExp) => [...root(el).querySelectorAll('button')].find((b) => text.test(b.textContent ?? ''))!;

/** The form, once it shows the block the bridge has. */
async function loadedForm(s: Settings = settings()): Promise<ServerConfigForm> {
  const el = await fixture<ServerConfigForm>(html`<hv-server-config .settings=${s}></hv-server-config>`);
  await waitUntil(() => input(el, 'server_url')?.value === rig.relay, 'the form shows the bridge\'s server_url', { timeout: 15_000 });
  return el;
}

describe('server settings form, Save (real bridge)', function (this: Slow) {
  // A real bridge and relay on a machine that may be loaded: the default 5 s is too tight.
  this.timeout(40_000);
  it('shows the robot\'s server_mode block, the password masked and never in a field', async () => {
    const el = await loadedForm();
    expect(input(el, 'stream_key').value).to.equal(rig.robot);
    expect(input(el, 'stream_password').value).to.equal('');
    expect(input(el, 'stream_password').closest('label')!.textContent).to.contain('Set (hidden)');
    expect(input(el, 'enabled').checked).to.equal(false);
    expect(input(el, 'fallback_to_local').checked).to.equal(true);
    expect(root(el).textContent).not.to.contain(rig.password);
  });

  it('bad input is refused in the form with a message at its field, and nothing reaches the robot', async () => {
    const el = await loadedForm();
    const before = await savedBlock();
    input(el, 'stream_key').value = 'bad key!';
    input(el, 'server_url').value = 'ftp://relay.example';
    button(el, /Save/).click();
    await waitUntil(() => errorAt(el, 'stream_key'), 'the stream key error', { timeout: 5000 });
    expect(errorAt(el, 'stream_key')).to.contain('1-64 letters');
    expect(errorAt(el, 'server_url')).to.match(/Server address/);
    expect(input(el, 'stream_key').getAttribute('aria-invalid')).to.equal('true');
    expect(status(el)).to.equal(null);
    expect(await savedBlock()).to.deep.equal(before);
  });

  it('the robot\'s refusal (a new server without the password) is shown at the field it names; nothing is saved', async () => {
    const el = await loadedForm();
    const before = await savedBlock();
    input(el, 'server_url').value = 'http://127.0.0.1:9';
    button(el, /Save/).click();
    await waitUntil(() => status(el), 'the save answer', { timeout: 15_000 });
    expect(status(el)).to.match(/^The robot refused: /);
    expect(errorAt(el, 'stream_password')).to.match(/stream_password|password/);
    expect(await savedBlock()).to.deep.equal(before);
  });

  it('Save with server mode on: the robot saves it, applies it and connects to the relay', async () => {
    const el = await loadedForm();
    input(el, 'enabled').checked = true;
    button(el, /Save/).click();
    await waitUntil(() => status(el), 'the save answer', { timeout: 15_000 });
    expect(status(el)).to.equal('Saved on the robot (saved and applied).');
    const saved = await savedBlock();
    expect(saved).to.include({ enabled: true, server_url: rig.relay, stream_key: rig.robot, stream_password: '********', fallback_to_local: true });
    await waitUntil(async () => (await bridge<{ status: { relay_connected: boolean } }>('server/status')).status.relay_connected, 'the robot on the relay', { timeout: 15_000, interval: 100 });
  });
});

describe('server settings form, Test connection (real relay and bridge)', function (this: Slow) {
  this.timeout(40_000);
  it('lists each piece: relay and session work, media not checked without URLs, the robot not publishing (and why)', async () => {
    // The robot is on the relay (previous test); a viewer session for it, as an invite would give.
    await waitUntil(async () => (await bridge<{ status: { relay_connected: boolean } }>('server/status')).status.relay_connected, 'the robot on the relay', { timeout: 15_000, interval: 100 });
    const el = await loadedForm(settings({
      serverUrl: rig.relay, sessionToken: rig.session, sessionExpiresAt: Date.now() + 3_600_000, robotId: rig.robot, sessionRole: 'viewer',
    }));
    const test = button(el, /Test connection/);
    test.click();
    await waitUntil(() => root(el).querySelector('ul[data-testing=false]'), 'every check done', { timeout: 15_000 });
    expect(test.disabled).to.equal(false);
    const items = Object.fromEntries([...root(el).querySelectorAll('li')].map((li) => [li.dataset.check, { result: li.dataset.result, text: li.textContent ?? '' }]));
    expect(items.relay!.result, items.relay!.text).to.equal('ok');
    expect(items.relay!.text).to.contain(`${rig.relay} answers.`);
    expect(items.session!.result, items.session!.text).to.equal('ok');
    expect(items.session!.text).to.contain('the robot is connected to the relay');
    // The relay handed this session no media URLs: WHEP and WHIP are not checked, and say so.
    for (const kind of ['whep', 'whip']) {
      expect(items[kind]!.result).to.equal('skip');
      expect(items[kind]!.text).to.contain('not checked');
    }
    expect(items.robot!.result, items.robot!.text).to.equal('fail');
    expect(items.robot!.text).to.contain('relay connected').and.contain('not publishing').and.contain('last error');
  });
});
