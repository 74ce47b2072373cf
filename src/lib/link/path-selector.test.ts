// Path selector transitions with fake links and players: Local stays local; Auto starts on the
// server, falls back to local when the relay drops, the robot goes offline or the server video
// fails, probes with backoff and returns only when the whole server path works; a switch halts
// driving (listeners see the link drop) and a driver asks for the lease again on the new path;
// stop() leaves no timer behind, whatever phase it comes in, and an illegal phase change throws.

import { expect } from '@open-wc/testing';
import { FakeLink, FakeRelayLink } from '../../test/fake-link.ts';
import { sleep, waitFor } from '../../../common/wait.ts';
import { FakeClock } from '../../test/fake-clock.ts';
import type { PathDeps, ServerLink, ServerVideoLike } from './path-parts.ts';
import { PathSelector } from './path-selector.ts';
import { SwitchLink } from './switch-link.ts';
import { DEFAULT_SETTINGS, type Settings } from '../storage/settings.ts';
import type { VideoState } from '../video/video-source.ts';
import { msg, type LeaseStateMsg } from '../../../protocol/messages.ts';
import type { LinkState } from './link.ts';

class FakeRelay extends FakeRelayLink implements ServerLink {}

class FakeVideo implements ServerVideoLike {
  readonly listeners = new Set<() => void>();
  state: VideoState = 'idle';
  error: string | null = null;
  failure: ServerVideoLike['failure'] = null;
  hlsReason: string | null = null;
  pc = null;
  started: string | null = null;
  constructor(readonly kind: 'mjpeg' | 'whep' | 'hls', readonly element = document.createElement(kind === 'mjpeg' ? 'img' : 'video')) {}
  start(url: string) {
    this.started = url;
    this.set('loading');
  }
  stop() {
    this.set('stopped');
  }
  onChange(fn: () => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  set(s: VideoState, failure: ServerVideoLike['failure'] = null) {
    this.state = s;
    this.failure = failure;
    this.error = failure ? `failed: ${failure}` : null;
    for (const fn of this.listeners) fn();
  }
}

const SESSION: Partial<Settings> = {
  serverUrl: 'http://127.0.0.1:3000', sessionToken: 'hs_abcdefabcdefabcdef', sessionExpiresAt: Date.now() + 3_600_000,
  robotId: 'sim', sessionRole: 'driver', whepUrl: 'http://127.0.0.1:8889/robots/sim/whep', whipUrl: '', hlsUrl: 'http://127.0.0.1:8888/robots/sim/index.m3u8',
};

function rig(settings: Partial<Settings>, extra: Partial<PathDeps> = {}) {
  const local = new FakeLink();
  const link = new SwitchLink(local);
  const relays: FakeRelay[] = [];
  const serverVideos: FakeVideo[] = [];
  const localVideos: FakeVideo[] = [];
  let healthy = true;
  const healthCalls: number[] = [];
  const s: Settings = { ...DEFAULT_SETTINGS, ...settings };
  const statuses: LinkState[] = [];
  link.on('status', (st) => statuses.push(st.state));
  const mode = new PathSelector({
    link, local, settings: () => s,
    makeRelayLink: () => {
      const r = new FakeRelay();
      relays.push(r);
      return r;
    },
    makeLocalVideo: () => {
      const v = new FakeVideo('mjpeg');
      localVideos.push(v);
      return v;
    },
    localVideoUrl: () => 'http://robot/video',
    makeServerVideo: async () => {
      const v = new FakeVideo('whep');
      serverVideos.push(v);
      return v;
    },
    health: async () => {
      healthCalls.push(Date.now());
      return healthy;
    },
    timing: { connectDeadlineMs: 300, videoDeadlineMs: 400, probeBaseMs: 20, probeCapMs: 60, checkEveryMs: 20 },
    ...extra,
  });
  return {
    mode, link, local, relays, serverVideos, localVideos, statuses, healthCalls,
    setHealthy: (v: boolean) => (healthy = v),
    relay: () => relays[relays.length - 1]!,
  };
}

describe('path selector', () => {
  let r: ReturnType<typeof rig> | null = null;
  afterEach(() => {
    r?.mode.stop();
    r = null;
  });

  it('Local mode: only the local link and MJPEG run', async () => {
    r = rig({ mode: 'local', ...SESSION });
    r.mode.attachVideo();
    r.mode.start();
    expect(r.mode.phase).to.equal('local');
    expect(r.local.started).to.equal(1);
    expect(r.relays.length).to.equal(0);
    expect(r.mode.videoKind).to.equal('mjpeg');
    expect(r.localVideos[0]!.started).to.equal('http://robot/video');
    expect(r.link.active).to.equal(r.local);
  });

  it('Auto without a session is local and says why; Server without one is off', () => {
    r = rig({ mode: 'auto' });
    r.mode.start();
    expect(r.mode.phase).to.equal('local');
    expect(r.mode.reason).to.match(/invite/);
    r.mode.stop();
    r = rig({ mode: 'server' });
    r.mode.start();
    expect(r.mode.phase).to.equal('off');
    expect(r.local.started).to.equal(0);
    expect(r.mode.reason).to.match(/No server session/);
  });

  it('Auto: server first, falls back to local at once when the relay drops, returns when the server is whole again', async () => {
    r = rig({ mode: 'auto', ...SESSION });
    r.mode.attachVideo();
    r.mode.start();
    await waitFor('server video', () => r!.serverVideos.length === 1, undefined, 500);
    const first = r.relay();
    expect(r.mode.phase).to.equal('server');
    expect(r.link.active).to.equal(first);
    expect(r.serverVideos[0]!.started).to.equal(SESSION.whepUrl);
    first.setState('live');
    first.online(true);
    r.serverVideos[0]!.set('playing');
    expect(r.mode.videoKind).to.equal('webrtc');

    // The relay goes away: local at once, listeners saw the link drop.
    r.statuses.length = 0;
    first.setState('lost', 'relay gone');
    expect(r.mode.phase).to.equal('fallback');
    expect(r.mode.fallback).to.equal(true);
    expect(r.mode.reason).to.match(/Relay connection lost/);
    expect(r.link.active).to.equal(r.local);
    expect(r.statuses[0]).to.equal('lost');
    expect(r.local.started).to.equal(1);
    expect(r.mode.videoKind).to.equal('mjpeg');
    expect(r.serverVideos[0]!.state).to.equal('stopped');

    // Server still down: probes keep failing on /health, no relay socket is even tried.
    r.setHealthy(false);
    await waitFor('probes', () => r!.healthCalls.length >= 2, undefined, 1000);
    expect(r.relays.length).to.equal(1);
    expect(r.mode.phase).to.be.oneOf(['fallback', 'probing']);

    // Back: the probe builds the server path beside local, swaps only when the video plays.
    r.setHealthy(true);
    await waitFor('probe relay', () => r!.relays.length === 2, undefined, 1000);
    const second = r.relay();
    expect(r.link.active).to.equal(r.local, 'local stays in use while probing');
    second.setState('live');
    second.online(true);
    await waitFor('probe video', () => r!.serverVideos.length === 2, undefined, 1000);
    expect(r.mode.phase).to.equal('probing');
    r.serverVideos[1]!.set('playing');
    await waitFor('back to server', () => r!.mode.phase === 'server', undefined, 1000);
    expect(r.link.active).to.equal(second);
    expect(r.mode.fallback).to.equal(false);
    expect(r.local.status.state).to.equal('closed');
    expect(r.localVideos[0]!.state).to.equal('stopped');
  });

  /** Auto mode started with its server video attached, the relay live and the robot online there. */
  async function autoOnLiveRelay() {
    const started = rig({ mode: 'auto', ...SESSION });
    started.mode.attachVideo();
    started.mode.start();
    await waitFor('the server video to be created', () => started.serverVideos.length, (n) => n === 1, 500);
    started.relay().setState('live');
    started.relay().online(true);
    return started;
  }

  it('Auto: the robot going offline at the relay, or the server video failing, also falls back', async () => {
    r = await autoOnLiveRelay();
    r.relay().online(false);
    expect(r.mode.phase).to.equal('fallback');
    expect(r.mode.reason).to.match(/robot is not connected/);
    r.mode.stop();

    r = await autoOnLiveRelay();
    r.serverVideos[0]!.set('playing');
    r.serverVideos[0]!.set('error', 'dropped');
    expect(r.mode.phase).to.equal('fallback');
    expect(r.mode.reason).to.match(/Server video failed/);
  });

  it('Auto: a server that never answers counts as down after the connect deadline', async () => {
    r = rig({ mode: 'auto', ...SESSION });
    r.mode.start();
    expect(r.mode.phase).to.equal('server');
    await waitFor('deadline', () => r!.mode.phase !== 'server', undefined, 1000);
    expect(r.mode.reason).to.match(/did not answer in time/);
  });

  it('Server mode never falls back: the relay link reconnects by itself', async () => {
    r = rig({ mode: 'server', ...SESSION });
    r.mode.start();
    r.relay().setState('lost');
    await sleep(400); // the stimulus: lost for longer than Auto's 300 ms deadline, which would fall back
    expect(r.mode.phase).to.equal('server');
    expect(r.local.started).to.equal(0);
  });

  it('a driver asks for the lease again after a switch', async () => {
    r = rig({ mode: 'auto', ...SESSION });
    r.mode.start();
    const relay = r.relay();
    relay.setState('live');
    relay.online(true);
    relay.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 'c1', driverName: 'ana', you: true }));
    relay.setState('lost');
    expect(r.mode.phase).to.equal('fallback');
    r.local.setState('live');
    expect(r.local.sentOfType('lease').map((m) => m.action)).to.deep.equal(['take']);
  });

  it('stop() leaves no timer pending: health check, probe pause, probe polls, session refresh', async () => {
    const clock = FakeClock.install();
    try {
      const refreshHttp = async () => ({ token: 'hs_new', expiresAt: Date.now() + 3_600_000 });
      r = rig({ mode: 'auto', ...SESSION }, { refreshHttp });
      r.mode.start();
      expect(r.mode.phase).to.equal('server');
      expect(clock.pending).to.equal(2, 'health check and session refresh');
      r.mode.stop();
      expect(clock.pending).to.equal(0, 'after stop() in server');

      r.mode.start();
      r.relay().setState('lost');
      expect(r.mode.phase).to.equal('fallback');
      r.mode.stop();
      expect(clock.pending).to.equal(0, 'after stop() in fallback');

      // Probing, with the probe's relay socket not yet live: the probe polls it.
      r.mode.start();
      r.relay().setState('lost');
      await clock.advance(100);
      expect(r.mode.phase).to.equal('probing');
      expect(r.relays.length).to.equal(4, 'one per start, and the probe\'s');
      expect(clock.pending).to.be.greaterThan(1, 'refresh and a probe poll');
      r.mode.stop();
      expect(clock.pending).to.equal(0, 'after stop() while probing');
      await clock.advance(3_600_000);
      expect(r.mode.phase).to.equal('off');
      expect(r.relays.length).to.equal(4, 'no probe after stop()');
    } finally {
      clock.uninstall();
    }
  });

  it('Auto: probes that get no answer at all (the phone is offline) follow each other closely; a server that refuses gets the backoff', async () => {
    const clock = FakeClock.install();
    try {
      const timing = { connectDeadlineMs: 300, videoDeadlineMs: 400, probeBaseMs: 1000, probeCapMs: 4000, checkEveryMs: 20, probeUnansweredMs: 500, probeRecoverMs: 100, probeRecoverForMs: 30_000 };
      const gaps = async (answerMs: number): Promise<number[]> => {
        const calls: number[] = [];
        const health = async () => {
          calls.push(Date.now());
          // The stimulus: a health check that takes answerMs to fail (on the fake clock).
          await new Promise((done) => setTimeout(done, answerMs));
          return false;
        };
        r = rig({ mode: 'auto', ...SESSION }, { health, timing });
        r.mode.start();
        r.relay().setState('lost');
        await clock.advance(20_000);
        r.mode.stop();
        return calls.slice(1).map((t, i) => t - calls[i]!);
      };
      const unanswered = await gaps(1000); // no answer: the health check's own timeout
      expect(unanswered.length).to.be.above(10);
      expect(unanswered.every((g) => g >= 1000 && g <= 1100), `gaps ${unanswered.join(', ')} ms`).to.equal(true);
      const refused = await gaps(5);
      expect(refused.slice(2).every((g) => g >= 2000), `gaps ${refused.join(', ')} ms: the 1-4 s backoff`).to.equal(true);
    } finally {
      clock.uninstall();
    }
  });

  it('an illegal phase change throws and changes nothing', () => {
    r = rig({ mode: 'local' });
    r.mode.start();
    const to = (r.mode as unknown as { to: (p: string, why: string | null) => void }).to.bind(r.mode);
    expect(() => to('probing', null)).to.throw(/path selector: illegal transition local → probing/);
    expect(r.mode.phase).to.equal('local');
  });
});
