// The WHEP/WHIP session state machine against a fake peer connection and a fake fetch: the order
// of requests, trickle ICE (queued before the answer, PATCHed after), failures by kind, the named
// retry pause, DELETE on close. The real MediaMTX is exercised by the end-to-end tests.

import { expect } from '@open-wc/testing';
import { sleep, waitFor } from '../../../common/wait.ts';
import { FakeClock } from '../../test/fake-clock.ts';
import { RtcSession, type RtcFailure, type RtcState } from './webrtc-session.ts';

const OFFER_SDP = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=rtpmap:102 H264/90000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

class FakePc {
  static last: FakePc | null = null;
  connectionState: RTCPeerConnectionState = 'new';
  onicecandidate: ((e: { candidate: { candidate: string; sdpMLineIndex: number } | null }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  transceivers: string[] = [];
  remote: string | null = null;
  closed = false;
  constructor(readonly config: RTCConfiguration) {
    FakePc.last = this;
  }
  addTransceiver(kind: string, init: { direction: string }) {
    this.transceivers.push(`${kind}:${init.direction}`);
  }
  async createOffer() {
    return { type: 'offer', sdp: OFFER_SDP };
  }
  async setLocalDescription() {
    // A candidate found before the answer: must be queued.
    this.onicecandidate?.({ candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMLineIndex: 0 } });
  }
  async setRemoteDescription(d: { sdp: string }) {
    this.remote = d.sdp;
  }
  close() {
    this.closed = true;
  }
  // test side
  setState(s: RTCPeerConnectionState) {
    this.connectionState = s;
    this.onconnectionstatechange?.();
  }
}

interface Call { method: string; url: string; headers: Record<string, string>; body: string }

function fakeFetch(answer: (c: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const f = (async (url: string, init: RequestInit) => {
    const c: Call = { method: init.method ?? 'GET', url, headers: (init.headers ?? {}) as Record<string, string>, body: String(init.body ?? '') };
    calls.push(c);
    return answer(c);
  }) as unknown as typeof fetch;
  return { f, calls };
}

const whepServer = (status = 201) => (c: Call): Response => {
  if (c.method === 'OPTIONS') return new Response(null, { status: 204, headers: { Link: '<stun:127.0.0.1:3478>; rel="ice-server"' } });
  if (c.method === 'POST') return status === 201
    ? new Response('v=0\r\nanswer', { status: 201, headers: { Location: '/robots/sim/whep/s-1' } })
    : new Response(JSON.stringify({ error: 'no stream' }), { status });
  return new Response(null, { status: c.method === 'PATCH' ? 204 : 200 });
};

function session(f: typeof fetch, opts: Partial<ConstructorParameters<typeof RtcSession>[0]> = {}) {
  const states: RtcState[] = [];
  const s: RtcSession = new RtcSession({
    kind: 'whep',
    url: 'http://127.0.0.1:8889/robots/sim/whep',
    token: () => 'hs_token',
    setup: (pc) => {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
    },
    fetch: f,
    PeerConnection: FakePc as unknown as typeof RTCPeerConnection,
    retryPauseMs: 60,
    iceTimeoutMs: 150,
    onChange: () => states.push(s.state),
    ...opts,
  });
  return { s, states };
}

/** Under the fake clock: lets real tasks (a Response body read) run until `cond`, no fake time passing. */
async function settle(clock: FakeClock, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) {
    await clock.advance(0);
    await new Promise<void>((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve();
      ch.port2.postMessage(null);
    });
  }
  expect(cond(), 'settled').to.equal(true);
}

describe('WHEP session state machine', () => {
  it('OPTIONS → POST offer → answer; queued candidates PATCHed as an sdpfrag; connected', async () => {
    const { f, calls } = fakeFetch(whepServer());
    const { s, states } = session(f);
    s.start();
    await waitFor('connecting', () => s.state === 'connecting', undefined, 1000);
    const pc = FakePc.last!;
    expect(pc.transceivers).to.deep.equal(['video:recvonly', 'audio:recvonly']);
    expect(pc.config.iceServers).to.deep.equal([{ urls: ['stun:127.0.0.1:3478'] }]);
    expect(pc.remote).to.equal('v=0\r\nanswer');
    await waitFor('PATCH', () => calls.some((c) => c.method === 'PATCH'), undefined, 1000);
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.headers['Content-Type']).to.equal('application/sdp');
    expect(post.headers.Authorization).to.equal('Bearer hs_token');
    expect(post.body).to.equal(OFFER_SDP);
    const patch = calls.find((c) => c.method === 'PATCH')!;
    expect(patch.url).to.equal('http://127.0.0.1:8889/robots/sim/whep/s-1');
    expect(patch.headers['Content-Type']).to.equal('application/trickle-ice-sdpfrag');
    expect(patch.headers['If-Match']).to.equal('*');
    expect(patch.body).to.contain('a=ice-ufrag:uf\r\n').and.contain('a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n');
    // A later candidate goes out at once.
    pc.onicecandidate?.({ candidate: { candidate: 'candidate:2 1 udp 1 127.0.0.1 5001 typ host', sdpMLineIndex: 1 } });
    await waitFor('second PATCH', () => calls.filter((c) => c.method === 'PATCH').length === 2, undefined, 1000);
    pc.setState('connected');
    expect(s.state).to.equal('connected');
    expect(states).to.deep.equal(['offering', 'connecting', 'connected']);
    s.close();
    expect(pc.closed).to.equal(true);
    await waitFor('DELETE', () => calls.some((c) => c.method === 'DELETE'), undefined, 1000);
    expect(calls.find((c) => c.method === 'DELETE')!.url).to.equal('http://127.0.0.1:8889/robots/sim/whep/s-1');
    expect(s.state).to.equal('closed');
  });

  it('404 is "not published": restarting after the named pause, then a new offer', async () => {
    const { f, calls } = fakeFetch(whepServer(404));
    const { s } = session(f);
    s.start();
    await waitFor('restarting', () => s.state === 'restarting', undefined, 1000);
    expect(s.failure).to.equal('not_found');
    expect(s.error).to.match(/not streaming/);
    const posts = () => calls.filter((c) => c.method === 'POST').length;
    expect(posts()).to.equal(1);
    await waitFor('retry POST', () => posts() === 2, undefined, 1000);
    s.close();
    const after = calls.length;
    await sleep(150); // the stimulus: more than twice the 60 ms retry pause passes after close
    expect(calls.length).to.equal(after, 'nothing after close');
  });

  it('an answer without a media path within the deadline is an ICE failure (no restart when told so)', async () => {
    const { f, calls } = fakeFetch(whepServer());
    const { s, states } = session(f, { autoRestart: false });
    s.start();
    await waitFor('failed', () => s.state === 'failed', undefined, 1000);
    expect(s.failure).to.equal('ice');
    expect(states).to.deep.equal(['offering', 'connecting', 'failed']);
    expect(calls.some((c) => c.method === 'DELETE'), 'session deleted').to.equal(true);
  });

  it('an unreachable server and a refused token are told apart; a drop after connecting is "dropped"', async () => {
    const down = fakeFetch(() => { throw new TypeError('Failed to fetch'); });
    const a = session(down.f, { autoRestart: false });
    a.s.start();
    await waitFor('session a to fail', () => a.s.state, (st) => st === 'failed', 1000);
    expect(a.s.failure).to.equal('unreachable');

    const refused = fakeFetch(whepServer(401));
    const b = session(refused.f, { autoRestart: false });
    b.s.start();
    await waitFor('session b to fail', () => b.s.state, (st) => st === 'failed', 1000);
    expect(b.s.failure).to.equal('refused');

    const ok = fakeFetch(whepServer());
    const c = session(ok.f, { autoRestart: false });
    c.s.start();
    await waitFor('session c to connect', () => c.s.state, (st) => st === 'connecting', 1000);
    FakePc.last!.setState('connected');
    FakePc.last!.setState('failed');
    expect(c.s.state).to.equal('failed');
    expect(c.s.failure).to.equal('dropped');
  });

  it('an illegal transition is refused loudly and changes nothing', () => {
    const { f } = fakeFetch(whepServer());
    const { s, states } = session(f);
    // The one transition function, reached as the session itself would.
    const set = (s as unknown as { set: (st: RtcState, f: RtcFailure | null, e: string | null) => void }).set.bind(s);
    expect(() => set('connected', null, null)).to.throw(/whep session: illegal transition idle → connected/);
    expect(s.state).to.equal('idle');
    expect(states).to.deep.equal([]);
  });

  it('close() leaves no timer pending: not the ICE deadline, not the retry pause', async () => {
    const clock = FakeClock.install();
    try {
      const connecting = session(fakeFetch(whepServer()).f);
      connecting.s.start();
      await settle(clock, () => connecting.s.state === 'connecting');
      expect(clock.pending).to.equal(1, 'the ICE deadline');
      connecting.s.close();
      expect(clock.pending).to.equal(0);

      const restarting = session(fakeFetch(whepServer(404)).f);
      restarting.s.start();
      await settle(clock, () => restarting.s.state === 'restarting');
      expect(clock.pending).to.equal(1, 'the retry pause');
      restarting.s.close();
      expect(clock.pending).to.equal(0);
      await clock.advance(3_600_000);
      expect(restarting.s.state).to.equal('closed');
    } finally {
      clock.uninstall();
    }
  });
});
