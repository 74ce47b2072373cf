// Smoke tests: each view renders against a fake link, shows the state it is given, and wires its
// buttons to the right messages. The real bridge is exercised by the end-to-end tests.

import { expect, fixture, html } from '@open-wc/testing';
import { msg, type LeaseStateMsg, type RecordingMsg, type TelemetryMsg } from '../../protocol/messages.ts';
import { createServices, setAppServices, type AppServices } from '../app/services.ts';
import { FakeLink, uniqueDbName } from '../test/fake-link.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import '../components/hud-line.ts';
import type { HudLine } from '../components/hud-line.ts';
import './drive-view.ts';
import './settings-view.ts';
import './status-view.ts';

function services(): { s: AppServices; link: FakeLink } {
  const link = new FakeLink();
  const s = createServices(uniqueDbName(), link);
  setAppServices(s);
  return { s, link };
}

const shadow = (el: Element) => el.shadowRoot!;
const button = (el: Element, text: RegExp) =>
  [...shadow(el).querySelectorAll('button')].find((b) => text.test(b.textContent ?? '')) as HTMLButtonElement | undefined;

afterEach(() => setAppServices(null));

describe('heads-up line', () => {
  it('shows only what is measured', async () => {
    const el = await fixture<HudLine>(html`<hv-hud .linkState=${'live'} .battery=${81} .commandRttMs=${12}></hv-hud>`);
    const text = shadow(el).textContent!;
    expect(text).to.contain('live').and.contain('81 %').and.contain('cmd 12 ms').and.contain('nobody drives');
    expect(text).not.to.contain('video');
  });
});

describe('drive view', () => {
  it('renders video, joystick, stop, talk and a take-control button, disabled until live', async () => {
    const { link } = services();
    const el = await fixture(html`<hv-drive-view></hv-drive-view>`);
    expect(shadow(el).querySelector('hv-robot-video')).to.exist;
    expect(shadow(el).querySelector('hv-joystick')).to.exist;
    expect(shadow(el).querySelector('hv-talk-button')).to.exist;
    expect(button(el, /STOP/)).to.exist;
    expect(button(el, /Take control/)!.disabled).to.equal(true);
    link.setState('live');
    await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    expect(button(el, /Take control/)!.disabled).to.equal(false);
  });

  it('asks for the lease, then shows the operator as driver with a release button', async () => {
    const { link } = services();
    link.setState('live');
    const el = await fixture(html`<hv-drive-view></hv-drive-view>`);
    button(el, /Take control/)!.click();
    expect(link.sentOfType('lease')[0]!.action).to.equal('take');
    link.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 's1', driverName: 'tester', you: true }));
    link.receive(msg<TelemetryMsg>({ type: 'telemetry', battery: { voltage: 12, percentage: 64 }, motors: { left: 0, right: 0 }, serial: true, ts: Date.now() }));
    await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    expect(button(el, /Release control/)).to.exist;
    const hud = shadow(el).querySelector('hv-hud')!;
    await hud.updateComplete;
    expect(shadow(hud).textContent).to.contain('you drive').and.contain('64 %');
  });

  it('shows the server\'s recording indicator from the local link (the bridge passes it on), without the relay\'s controls', async () => {
    const { s, link } = services();
    link.setState('live');
    const el = await fixture<HTMLElement & { updateComplete: Promise<unknown> }>(html`<hv-drive-view></hv-drive-view>`);
    expect(s.mode.path).not.to.equal('server');
    const rec = () => shadow(el).querySelector('.recording .rec');
    const on = msg<RecordingMsg>({ type: 'recording', robot: 'sim', available: true, active: true, since: 1_765_000_000_000, by: 'Ana' });
    link.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 's1', driverName: 'tester', you: true }));
    link.receive(on);
    await el.updateComplete;
    expect(rec()?.textContent).to.equal('● REC — this robot is being recorded (started by Ana)');
    expect(button(el, /Record|Stop recording|Recordings/), 'Record and Recordings talk to the relay').to.equal(undefined);
    // The bridge lost the relay: "not recorded", no stale REC.
    link.receive(msg<RecordingMsg>({ type: 'recording', robot: 'sim', available: false, active: false, since: null, by: null }));
    await el.updateComplete;
    expect(rec()).to.equal(null);
    link.receive(on);
    await el.updateComplete;
    expect(rec()).to.exist;
    // The local socket dropped: the state is forgotten with it.
    link.setState('lost', 'Connection closed (1006).');
    await el.updateComplete;
    expect(rec()).to.equal(null);
  });

  it('stops the robot and says why when the tab goes to the background while driving', async () => {
    const { s, link } = services();
    link.setState('live');
    link.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 's1', driverName: 'tester', you: true }));
    const el = await fixture(html`<hv-drive-view></hv-drive-view>`);
    shadow(el).querySelector('hv-joystick')!.dispatchEvent(new CustomEvent('stick', { detail: { vector: { x: 0, y: 1 }, held: true } }));
    await waitFor('drive commands', () => link.sentOfType('drive').length >= 2, undefined, 1000);
    // The page cannot really be hidden in a test: blur is the same safety path.
    window.dispatchEvent(new Event('blur'));
    expect(link.sent.at(-1)!.type).to.equal('stop');
    const count = link.sentOfType('drive').length;
    await sleep(120); // the stimulus: three drive ticks pass with the stick still held
    expect(link.sentOfType('drive').length).to.equal(count); // still held, but halted
    await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    expect(shadow(el).textContent).to.contain('Robot stopped: window lost focus');
    void s;
  });

  it('shows text-to-speech typed offline as waiting', async () => {
    services();
    const el = await fixture(html`<hv-drive-view></hv-drive-view>`);
    const input = shadow(el).querySelector('input[name="tts"]') as HTMLInputElement;
    input.value = 'hello';
    shadow(el).querySelector('form')!.requestSubmit();
    await waitFor('pending shown', () => (shadow(el).textContent ?? '').includes('waiting for the link'), undefined, 1000);
  });
});

describe('settings view', () => {
  it('shows a clear message for a bad value and saves nothing', async () => {
    const { s } = services();
    await s.settings.load();
    const el = await fixture(html`<hv-settings-view></hv-settings-view>`);
    (shadow(el).querySelector('input[name="speedLimit"]') as HTMLInputElement).value = '500';
    shadow(el).querySelector('form')!.requestSubmit();
    await waitFor('error message', () => (shadow(el).textContent ?? '').includes('between 10 and 100'), undefined, 1000);
    expect(s.settings.value.speedLimit).to.equal(60);
  });

  it('saves valid settings', async () => {
    const { s } = services();
    await s.settings.load();
    const el = await fixture(html`<hv-settings-view></hv-settings-view>`);
    (shadow(el).querySelector('input[name="operatorName"]') as HTMLInputElement).value = 'Ana';
    shadow(el).querySelector('form')!.requestSubmit();
    await waitFor('saved', () => s.settings.value.operatorName === 'Ana', undefined, 1000);
  });
});

describe('status view', () => {
  it('shows the link state and the app’s connection log', async () => {
    const { s, link } = services();
    s.log.add('connecting — test line');
    link.setState('lost', 'Connection closed (1006). Retrying in 1.0 s.');
    const el = await fixture(html`<hv-status-view></hv-status-view>`);
    const text = shadow(el).textContent!;
    expect(text).to.contain('link lost').and.contain('Retrying in').and.contain('test line');
  });
});

describe('drive view in server mode', () => {
  it('exposes mode and video as data attributes and says when it plays HLS', async () => {
    const { FakeRelayLink } = await import('../test/fake-link.ts');
    const relay = new FakeRelayLink();
    const listeners = new Set<() => void>();
    const hls = {
      kind: 'hls' as const, state: 'playing' as const, error: null, failure: null, hlsReason: 'test', pc: null,
      element: document.createElement('video'), start() {}, stop() {},
      onChange: (fn: () => void) => (listeners.add(fn), () => listeners.delete(fn)),
    };
    const s = createServices(uniqueDbName(), new FakeLink(), { makeRelayLink: () => relay, makeServerVideo: async () => hls });
    setAppServices(s);
    await s.settings.load();
    await s.settings.save({ mode: 'server', serverUrl: 'http://127.0.0.1:3000', sessionToken: 'hs_0123456789abcdef', sessionExpiresAt: Date.now() + 60_000, robotId: 'sim', sessionRole: 'driver' });
    s.mode.start();
    const el = await fixture<HTMLElement>(html`<hv-drive-view></hv-drive-view>`);
    await waitFor('hls video', () => el.dataset.video === 'hls', undefined, 1000);
    expect(el.dataset.mode).to.equal('server');
    expect(el.dataset.settingMode).to.equal('server');
    expect(el.dataset.fallback).to.equal('false');
    await (el as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    expect(shadow(el).querySelector('[data-banner="hls"]')!.textContent).to.equal('HLS fallback — ~0.6 s delay, not for driving');
    expect(shadow(el).querySelector('hv-robot-video')!.shadowRoot!.querySelector('video')).to.equal(hls.element);
    s.mode.stop();
  });
});
