// What iOS Safari needs, checked in Chromium (WebKit cannot run here): the WHEP offer leads with
// H.264 Constrained Baseline, HLS plays natively where the browser says it can, videos play inline
// and muted until the first tap turns the sound on, the microphone opens only from Hold to talk,
// and the page carries the home-screen icon and web-app tags.

import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { setAppServices } from '../../app/services.ts';
import '../../app/havatar-app.ts';
import type { HavatarApp } from '../../app/havatar-app.ts';
import { layoutServices } from '../../test/layout-states.ts';
import { waitFor } from '../../../common/wait.ts';
import { baselineFirst, isConstrainedBaseline } from './h264-baseline.ts';
import { HlsPlayer, hlsEngine } from './hls-player.ts';
import { WhepPlayer } from './whep-player.ts';

/** The m=video section's first payload type, with its rtpmap and fmtp lines. */
function firstVideoCodec(sdp: string): { rtpmap: string; fmtp: string } {
  const video = sdp.split(/(?=^m=)/m).find((s) => s.startsWith('m=video'))!;
  const pt = video.split(/\r?\n/)[0]!.split(' ')[3]!;
  const line = (kind: string) => new RegExp(`^a=${kind}:${pt} (.*)$`, 'm').exec(video)?.[1] ?? '';
  return { rtpmap: line('rtpmap'), fmtp: line('fmtp') };
}

describe('for iOS Safari', () => {
  afterEach(() => setAppServices(null));

  it('the WHEP offer leads with H.264 Constrained Baseline, packetization-mode 1 (what the robot sends and every Safari decodes)', async () => {
    let offer = '';
    const fakeFetch = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'POST') offer = String(init.body);
      return new Response('', { status: 503 });
    }) as typeof fetch;
    const player = new WhepPlayer({ token: () => 'hs_x', fetch: fakeFetch, autoRestart: false });
    player.start('http://127.0.0.1:8889/robots/sim/whep');
    await waitFor('the WHEP offer', () => offer, Boolean, 3000);
    player.stop();
    const first = firstVideoCodec(offer);
    expect(first.rtpmap).to.equal('H264/90000');
    expect(isConstrainedBaseline(first.fmtp), first.fmtp).to.equal(true);
    expect(first.fmtp).to.contain('packetization-mode=1');
  });

  it('orders codecs: constrained baseline H.264 first, other H.264 next, the rest as they were', () => {
    const c = (mimeType: string, sdpFmtpLine?: string) => ({ mimeType, clockRate: 90000, ...(sdpFmtpLine ? { sdpFmtpLine } : {}) });
    const list = [c('video/VP8'), c('video/H264', 'packetization-mode=1;profile-level-id=640c1f'), c('video/H264', 'packetization-mode=0;profile-level-id=42e01f'),
      c('video/H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'), c('video/AV1')];
    expect(baselineFirst(list).map((x) => `${x.mimeType} ${x.sdpFmtpLine ?? ''}`)).to.deep.equal([
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'video/H264 packetization-mode=1;profile-level-id=640c1f', 'video/H264 packetization-mode=0;profile-level-id=42e01f', 'video/VP8 ', 'video/AV1 ',
    ]);
    expect(['42e01f', '42c01f', '42e034'].map((p) => isConstrainedBaseline(`profile-level-id=${p}`))).to.deep.equal([true, true, true]);
    expect(['42001f', '4d001f', '640c1f'].map((p) => isConstrainedBaseline(`profile-level-id=${p}`))).to.deep.equal([false, false, false]);
  });

  it('HLS plays natively where the browser plays application/vnd.apple.mpegurl and has no classic MediaSource (iPhone)', async () => {
    const says = (answer: CanPlayTypeResult) => ({ canPlayType: (t: string): CanPlayTypeResult => (t === 'application/vnd.apple.mpegurl' ? answer : '') });
    expect(hlsEngine(says('maybe'), {})).to.equal('native');
    expect(hlsEngine(says('maybe'), { ManagedMediaSource: 1 })).to.equal('native');
    expect(hlsEngine(says(''), { ManagedMediaSource: 1 })).to.equal('hlsjs');
    expect(hlsEngine(says('maybe'), { MediaSource: 1 })).to.equal('hlsjs');
    const player = new HlsPlayer({ token: () => 'hs_x', engine: 'native' });
    player.start('http://127.0.0.1:8888/robots/sim/index.m3u8');
    await waitFor('the native player given the playlist', () => player.element.getAttribute('src') ?? '', (s) => s.includes('index.m3u8'), 2000);
    expect(player.element.src).to.equal('http://127.0.0.1:8888/robots/sim/index.m3u8?token=hs_x');
    player.stop();
  });

  it('videos play inline, muted and on their own (no full screen, no refused autoplay); HLS keeps AirPlay off', () => {
    for (const v of [new WhepPlayer({ token: () => '' }).element, new HlsPlayer({ token: () => '' }).element]) {
      expect(v.hasAttribute('playsinline'), 'playsinline').to.equal(true);
      expect([v.muted, v.autoplay]).to.deep.equal([true, true]);
    }
    expect(new HlsPlayer({ token: () => '' }).element.disableRemotePlayback).to.equal(true);
  });

  it('the robot sound starts with the first tap anywhere; a first tap on the sound button is taken as it is', async () => {
    for (const first of ['.stats-toggle', '.sound']) {
      const rig = await layoutServices('local-driving');
      const app = await fixture<HavatarApp>(html`<havatar-app></havatar-app>`);
      await rig.settle();
      const view = await waitFor('the drive view', () => app.shadowRoot!.querySelector('hv-drive-view'), (v) => v !== null, 3000);
      const sound = view!.shadowRoot!.querySelector<HTMLButtonElement>('.sound')!;
      expect(sound.textContent).to.equal('Robot sound: off');
      view!.shadowRoot!.querySelector<HTMLButtonElement>(first)!.click();
      await waitFor(`sound on after a first tap on ${first}`, () => sound.textContent, (t) => t === 'Robot sound: on', 2000);
      rig.s.mode.stop();
      setAppServices(null);
    }
  });

  it('the microphone is asked for only when Hold to talk is pressed, never on opening the app', async () => {
    const devices = navigator.mediaDevices;
    const real = devices.getUserMedia.bind(devices);
    const asked: MediaStreamConstraints[] = [];
    devices.getUserMedia = (c?: MediaStreamConstraints) => (asked.push(c ?? {}), real(c));
    try {
      const rig = await layoutServices('local-driving');
      const app = await fixture<HavatarApp>(html`<havatar-app></havatar-app>`);
      await rig.settle();
      const view = await waitFor('the drive view', () => app.shadowRoot!.querySelector('hv-drive-view'), (v) => v !== null, 3000);
      await (view as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
      expect(asked, 'no microphone before a gesture').to.deep.equal([]);
      view!.shadowRoot!.querySelector('hv-talk-button')!.shadowRoot!.querySelector('button')!.focus();
      await sendKeys({ down: ' ' });
      await waitFor('the microphone asked for', () => asked.length, (n) => n === 1, 3000);
      await sendKeys({ up: ' ' });
      rig.s.mode.stop();
    } finally {
      devices.getUserMedia = real;
    }
  });

  it('index.html: viewport-fit=cover, web-app tags for iOS and others, a 180x180 apple-touch-icon', async () => {
    const doc = new DOMParser().parseFromString(await (await fetch('/index.html')).text(), 'text/html');
    const meta = (name: string) => doc.querySelector(`meta[name="${name}"]`)?.getAttribute('content');
    expect(meta('viewport')).to.contain('viewport-fit=cover');
    expect([meta('apple-mobile-web-app-capable'), meta('mobile-web-app-capable'), meta('apple-mobile-web-app-title')]).to.deep.equal(['yes', 'yes', 'Havatar']);
    expect(meta('apple-mobile-web-app-status-bar-style')).to.be.oneOf(['default', 'black', 'black-translucent']);
    expect(meta('format-detection')).to.equal('telephone=no');
    const icon = doc.querySelector('link[rel="apple-touch-icon"]')!;
    expect(icon.getAttribute('sizes')).to.equal('180x180');
    const img = new Image();
    img.src = `/public${icon.getAttribute('href')}`;
    await img.decode();
    expect([img.naturalWidth, img.naturalHeight]).to.deep.equal([180, 180]);
  });
});
