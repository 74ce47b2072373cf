// The link's state machine against a tiny in-test WebSocket (only here: the real bridge is
// covered end to end). Timings are shrunk so the whole file runs in well under a second.

import { expect } from '@open-wc/testing';
import { CloseCode } from '../../../protocol/limits.ts';
import { msg, parseClientMessage, type HeartbeatAckMsg, type RecordingMsg, type WelcomeMsg } from '../../../protocol/messages.ts';
import { waitFor } from '../../../common/wait.ts';
import { withFakeClock, type FakeClock } from '../../test/fake-clock.ts';
import type { LinkState } from './link.ts';
import { DEFAULT_TIMING, redact, WsLink, type LinkTiming, type NetworkSignals } from './ws-link.ts';

class FakeSocket {
  static all: FakeSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  binaryType = 'blob';
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(d: unknown) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
  // test side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(m: unknown) {
    this.onmessage?.({ data: typeof m === 'string' ? m : JSON.stringify(m) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  sentTypes(): string[] {
    return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d as string).type);
  }
}

const welcome = (): WelcomeMsg =>
  msg<WelcomeMsg>({
    type: 'welcome', session: 's1', robot: 'sim', driver: null,
    audio: { format: 'pcm_s16le', rate: 16000, channels: 1, frameMs: 20 },
    limits: { deadmanMs: 250, maxTtlMs: 1000, sendIntervalMs: 50 }, serverTime: Date.now(),
  });

/** The page's network signals, fired by the test. */
class FakeSignals implements NetworkSignals {
  isOnline = true;
  private fns = new Set<(why: string) => void>();
  online() {
    return this.isOnline;
  }
  onNudge(fn: (why: string) => void) {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  fire(why: string) {
    for (const fn of this.fns) fn(why);
  }
  get listeners() {
    return this.fns.size;
  }
}

function makeLink(timing: Partial<LinkTiming> = {}, signals = new FakeSignals()) {
  FakeSocket.all = [];
  const states: LinkState[] = [];
  const link = new WsLink({
    url: () => 'ws://127.0.0.1:1/ws?token=secret',
    hello: () => ({ name: 'tester' }),
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    signals,
    timing: {
      connectTimeoutMs: 200, heartbeatMs: 20, degradedAfterMs: 80, lostAfterMs: 200, degradedRttMs: 1000, backoff: { baseMs: 20, maxMs: 40, jitter: true },
      recovery: { openMs: 50, backoff: { baseMs: 5, maxMs: 10, jitter: true }, forMs: 1000 }, ...timing,
    },
  });
  link.on('status', (s) => states.push(s.state));
  return { link, states, signals, sock: () => FakeSocket.all.at(-1)! };
}

/**
 * A phone whose network drops every packet from the moment the link is live until `upAt`: a
 * socket opened meanwhile connects only when one of its SYNs gets through (Linux sends them 0, 1,
 * 3, 7, 15 s after the socket was made), one opened later connects at once; the robot then says
 * welcome. Returns when the link was live again, ms after `upAt` (null: not within 20 s).
 */
async function outage(clock: FakeClock, timing: Partial<LinkTiming>, outageMs: number): Promise<number | null> {
  const { link, sock } = makeLink({ ...DEFAULT_TIMING, ...timing });
  link.start();
  sock().open();
  sock().push(welcome());
  const upAt = Date.now() + outageMs;
  let seen = 1;
  let backAt: number | null = null;
  link.on('status', (st) => { if (st.state === 'live' && backAt === null) backAt = Date.now(); });
  while (backAt === null && Date.now() < upAt + 20_000) {
    for (; seen < FakeSocket.all.length; seen++) {
      const s = FakeSocket.all[seen]!;
      const made = Date.now();
      const syn = [0, 1000, 3000, 7000, 15_000, 31_000].map((t) => made + t).find((t) => t >= upAt);
      if (syn !== undefined) setTimeout(() => { if (s.readyState === 0) { s.open(); s.push(welcome()); } }, syn - made);
    }
    await clock.advance(10);
  }
  link.stop();
  return backAt === null ? null : backAt - upAt;
}

describe('WebSocket link state machine', () => {
  // WsLink compares readyState with the global WebSocket constants; the fake uses the same values.
  it('goes connecting → live on welcome, after saying hello', () => {
    const { link, states, sock } = makeLink();
    link.start();
    expect(link.status.state).to.equal('connecting');
    sock().open();
    expect(sock().sentTypes()).to.deep.equal(['hello']);
    sock().push(welcome());
    expect(link.status.state).to.equal('live');
    expect(states).to.deep.equal(['connecting', 'live']);
    link.stop();
  });

  it('does not count as live before the welcome, and refuses to send commands then', () => {
    const { link, sock } = makeLink();
    link.start();
    sock().open();
    expect(link.send(msg({ type: 'stop' }))).to.equal(false);
    link.stop();
  });

  it('sends heartbeats while live and measures their round trip', async () => {
    const { link, sock } = makeLink();
    link.start();
    sock().open();
    sock().push(welcome());
    await waitFor('heartbeat', () => sock().sentTypes().includes('heartbeat'), undefined, 500);
    const beat = JSON.parse(sock().sent.find((d) => typeof d === 'string' && d.includes('heartbeat')) as string);
    expect(beat.rtt, 'no round trip known yet: none sent').to.equal(undefined);
    sock().push(msg<HeartbeatAckMsg>({ type: 'heartbeat_ack', t: beat.t - 40 }));
    expect(link.heartbeatRttMs).to.be.a('number').and.at.least(40);
    // The next heartbeat tells the robot the round trip (its deadman counts half of it as transit).
    const sentBefore = sock().sent.length;
    await waitFor('the next heartbeat', () => sock().sent.slice(sentBefore).some((d) => typeof d === 'string' && d.includes('"heartbeat"')), undefined, 500);
    const next = JSON.parse(sock().sent.slice(sentBefore).find((d) => typeof d === 'string' && d.includes('"heartbeat"')) as string);
    expect(next.rtt).to.equal(Math.round(link.heartbeatRttMs!));
    expect(parseClientMessage(JSON.stringify(next)).ok, 'the protocol accepts it').to.equal(true);
    link.stop();
  });

  it('turns degraded when the robot goes silent, and live again when it answers', async () => {
    const { link, sock } = makeLink();
    link.start();
    sock().open();
    sock().push(welcome());
    await waitFor('degraded', () => link.status.state === 'degraded', undefined, 1000);
    expect(link.status.reason).to.match(/No answer/);
    sock().push(msg<HeartbeatAckMsg>({ type: 'heartbeat_ack', t: Date.now() }));
    expect(link.status.state).to.equal('live');
    link.stop();
  });

  it('drops a silent socket as lost and reconnects with a new one', async () => {
    const { link, states, sock } = makeLink();
    link.start();
    const first = sock();
    first.open();
    first.push(welcome());
    await waitFor('reconnect', () => FakeSocket.all.length === 2, undefined, 2000);
    expect(states).to.include.members(['degraded', 'lost']);
    expect(first.readyState).to.equal(3);
    sock().open();
    sock().push(welcome());
    expect(link.status.state).to.equal('live');
    link.stop();
  });

  it('reconnects after the socket closes, and ignores events from the old socket', async () => {
    const { link, sock } = makeLink();
    link.start();
    const first = sock();
    first.open();
    first.push(welcome());
    first.drop(1006);
    expect(link.status.state).to.equal('lost');
    expect(link.status.reason).to.match(/Retrying in/);
    await waitFor('reconnect', () => FakeSocket.all.length === 2, undefined, 1000);
    first.push(welcome()); // stale socket: must not flip the state
    expect(link.status.state).to.equal('connecting');
    link.stop();
  });

  it('keeps the bridge\'s last recording frame for a switch to replay, and forgets it with the socket', () => {
    const { link, sock } = makeLink();
    link.start();
    sock().open();
    sock().push(welcome());
    const on = msg<RecordingMsg>({ type: 'recording', robot: 'sim', available: true, active: true, since: 1_765_000_000_000, by: 'Ana' });
    const seen: string[] = [];
    link.on('message', (m) => seen.push(m.type));
    sock().push(on);
    expect(seen).to.deep.equal(['recording']);
    expect(link.recording).to.deep.equal(on);
    sock().drop(1006);
    expect(link.recording).to.equal(null);
    link.stop();
  });

  it('gives up a connection that never says welcome within the connect timeout', async () => {
    const { link, sock } = makeLink({ connectTimeoutMs: 30 });
    link.start();
    sock().open();
    await waitFor('lost', () => link.status.state === 'lost', undefined, 500);
    expect(link.status.reason).to.match(/did not answer/);
    link.stop();
  });

  it('stops retrying when the robot refuses the token, and says so', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock } = makeLink();
      link.start();
      sock().open();
      sock().drop(CloseCode.unauthorized, 'unauthorized');
      expect(link.status.state).to.equal('closed');
      expect(link.status.reason).to.match(/token/);
      await clock.advance(60_000);
      expect(FakeSocket.all).to.have.length(1);
      expect(clock.pending).to.equal(0);
    });
  });

  it('clears every timer on stop: no reconnect afterwards', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock } = makeLink();
      link.start();
      sock().drop(1006);
      link.stop();
      expect(clock.pending).to.equal(0);
      await clock.advance(60_000);
      expect(FakeSocket.all).to.have.length(1);
      expect(link.status.state).to.equal('closed');
    });
  });

  it('on a fake clock: live until the silence exceeds degradedAfterMs, lost once it exceeds lostAfterMs, retry after the backoff', async () => {
    await withFakeClock(async (clock) => {
      // heartbeat every 20 ms; degraded after 80 ms of silence, lost after 200 ms; retry 20 ms later.
      const { link, sock } = makeLink();
      link.start();
      sock().open();
      sock().push(welcome());
      await clock.advance(99);
      expect(link.status.state).to.equal('live', 'silent 80 ms at the last check: not over the limit');
      await clock.advance(1);
      expect(link.status.state).to.equal('degraded', 'silent 100 ms at the check at 100 ms');
      await clock.advance(119);
      expect(link.status.state).to.equal('degraded', 'silent 200 ms at the check at 200 ms: not over the limit');
      await clock.advance(1);
      expect(link.status.state).to.equal('lost');
      expect(FakeSocket.all).to.have.length(1);
      await clock.advance(40);
      expect(FakeSocket.all).to.have.length(2, 'a new socket within the 20–40 ms backoff');
      link.stop();
      expect(clock.pending).to.equal(0);
    });
  });

  it('ignores a malformed robot message and logs it', () => {
    const { link, sock } = makeLink();
    const logs: string[] = [];
    link.on('log', (l) => logs.push(l));
    link.start();
    sock().open();
    sock().push('{"v":1,"type":"welcome"}');
    expect(link.status.state).to.equal('connecting');
    expect(logs.some((l) => l.includes('bad message'))).to.equal(true);
    link.stop();
  });

  it('never writes the token into its log', () => {
    expect(redact('ws://h/ws?token=secret&audio=1')).to.equal('ws://h/ws?token=…&audio=1');
  });
});

describe('WebSocket link: back soon after a network outage', () => {
  /** Outages of 10 s to 16 s, so the end falls at every phase of either retry loop. */
  const LENGTHS = Array.from({ length: 16 }, (_, i) => 10_000 + i * 397);

  it('with the recovery loop: live again ≤ 1.3 s after the network returns, whatever the phase', async () => {
    await withFakeClock(async (clock) => {
      const back: (number | null)[] = [];
      for (const ms of LENGTHS) back.push(await outage(clock, {}, ms));
      // One cycle at most: an attempt cut after 1 s of no answer, a pause of ≤ 250 ms, then the SYN.
      expect(back.every((b) => b !== null && b <= 1300), `back after ${back.join(', ')} ms`).to.equal(true);
    });
  });

  it('without it (the plain loop: 5 s attempts, doubling pauses) the same outages took seconds: the rig can tell', async () => {
    // Every pause at its ceiling (no spread), so which outages miss is the same on every run.
    const random = Math.random;
    Math.random = () => 1;
    try {
      await withFakeClock(async (clock) => {
        const back: (number | null)[] = [];
        for (const ms of LENGTHS) back.push(await outage(clock, { recovery: { ...DEFAULT_TIMING.recovery, forMs: 0 } }, ms));
        expect(Math.max(...back.map((b) => b ?? Infinity)), `back after ${back.join(', ')} ms`).to.be.above(2000);
      });
    } finally {
      Math.random = random;
    }
  });

  it('abandons an attempt that is still opening after recovery.openMs, but only after a live link was lost', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock } = makeLink();
      link.start();
      await clock.advance(150);
      expect(FakeSocket.all, 'the first connect is never cut short: no link has been lost yet').to.have.length(1);
      sock().open();
      sock().push(welcome());
      sock().drop(1006);
      expect(link.status.state).to.equal('lost');
      await clock.advance(5);
      expect(FakeSocket.all).to.have.length(2, 'after the 2.5-5 ms recovery pause');
      await clock.advance(44);
      expect(FakeSocket.all).to.have.length(2, 'still within openMs');
      await clock.advance(16);
      expect(FakeSocket.all).to.have.length(3, 'cut at openMs, a fresh socket after the short pause');
      expect(FakeSocket.all[1]!.readyState).to.equal(3);
      sock().open();
      await clock.advance(100);
      expect(FakeSocket.all).to.have.length(3, 'an open socket waiting for welcome is not cut (connectTimeoutMs is 200)');
      link.stop();
      expect(clock.pending).to.equal(0);
    });
  });

  it('backs off as usual when the far side refuses at once or closes the socket itself: no tight loop against a restarting server', async () => {
    await withFakeClock(async (clock) => {
      const timing: Partial<LinkTiming> = { backoff: { baseMs: 1000, maxMs: 8000, jitter: true } };
      const { link, sock } = makeLink(timing);
      link.start();
      sock().open();
      sock().push(welcome());
      sock().drop(1006); // died: recovering
      await clock.advance(10);
      sock().drop(1006); // refused at once, with the OS online: the server is there and said no
      const pause = link.status.retryAt! - Date.now();
      expect(pause).to.be.within(500, 1000, 'the plain backoff (attempt 1: 0.5-1 s)');
      link.stop();

      const again = makeLink(timing);
      again.link.start();
      again.sock().open();
      again.sock().push(welcome());
      again.sock().drop(1001, 'going away');
      expect(again.link.status.retryAt! - Date.now()).to.be.within(500, 1000, 'the plain backoff after the robot went away');
      while (FakeSocket.all.length < 2) await clock.advance(10);
      await clock.advance(60);
      expect(again.link.status.state).to.equal('connecting', 'that attempt is not cut at openMs (50 ms)');
      again.link.stop();
    });
  });

  it('keeps recovering when a socket fails at once because the OS has no network, and retries the moment it says online', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock, signals } = makeLink({ backoff: { baseMs: 1000, maxMs: 8000, jitter: true } });
      link.start();
      sock().open();
      sock().push(welcome());
      signals.isOnline = false;
      sock().drop(1006);
      await clock.advance(10);
      sock().drop(1006);
      expect(link.status.retryAt! - Date.now()).to.be.at.most(10, 'still the recovery pause');
      link.stop();
    });
  });

  it('retries at once on `online` or when the page is shown, while lost or still opening; never while live', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock, signals } = makeLink({ backoff: { baseMs: 5000, maxMs: 8000, jitter: true } });
      link.start();
      sock().drop(1006); // the first connect failed: the plain 2.5-5 s pause
      expect(link.status.state).to.equal('lost');
      signals.fire('the network is back');
      expect(FakeSocket.all).to.have.length(2, 'a new socket at once');
      sock().open();
      sock().push(welcome());
      signals.fire('the page is shown again');
      expect(FakeSocket.all).to.have.length(2, 'a live link is left alone');
      await clock.advance(100); // silent: degraded (80 ms), not yet lost (200 ms)
      expect(link.status.state).to.equal('degraded');
      signals.fire('the network is back');
      expect(FakeSocket.all).to.have.length(3, 'a silent socket is dropped for a fresh one');
      signals.fire('the network is back');
      expect(FakeSocket.all).to.have.length(4, 'an attempt still opening while recovering is replaced');
      link.stop();
      expect(signals.listeners).to.equal(0, 'stop() lets go of the signals');
      expect(clock.pending).to.equal(0);
    });
  });

  it('after recovery.forMs the plain backoff applies again', async () => {
    await withFakeClock(async (clock) => {
      const { link, sock } = makeLink({ recovery: { openMs: 50, backoff: { baseMs: 5, maxMs: 10, jitter: true }, forMs: 300 } });
      link.start();
      sock().open();
      sock().push(welcome());
      sock().drop(1006);
      await clock.advance(300);
      const n = FakeSocket.all.length;
      expect(n).to.be.above(4, 'cut every 50 ms while recovering');
      await clock.advance(1000);
      expect(FakeSocket.all.length - n).to.be.below(8, 'then 200 ms attempts and 20-40 ms pauses');
      link.stop();
    });
  });
});

describe('relay link (server mode)', () => {
  it('builds /ws/client/<id>?token= and reads the relay notices beside the robot messages', async () => {
    const { RelayLink, relayWsUrl } = await import('./relay-link.ts');
    expect(relayWsUrl({ serverUrl: 'https://relay.example/base', token: 'hs_t' }, 'app-1')).to.equal('wss://relay.example/base/ws/client/app-1?token=hs_t');
    FakeSocket.all = [];
    const link = new RelayLink({
      target: () => ({ serverUrl: 'http://127.0.0.1:3000', token: 'hs_abc' }), hello: () => ({ name: 'ana' }), clientId: 'app-x',
      WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    });
    const online: boolean[] = [];
    const sessions: string[] = [];
    link.onRelay('robot', (v) => online.push(v));
    link.onRelay('session', (m) => sessions.push(m.token));
    link.start();
    const sock = FakeSocket.all[0]!;
    expect(sock.url).to.equal('ws://127.0.0.1:3000/ws/client/app-x?token=hs_abc');
    sock.open();
    expect(sock.sentTypes()).to.deep.equal(['hello']);
    sock.push(welcome());
    sock.push({ v: 1, type: 'robot', robot: 'sim', online: true });
    expect(link.status.state).to.equal('live');
    expect(link.kind).to.equal('relay');
    expect(link.robotOnline).to.equal(true);
    expect(link.refresh()).to.equal(true);
    expect(sock.sentTypes()).to.deep.equal(['hello', 'refresh']);
    sock.push({ v: 1, type: 'session', token: 'hs_newtoken_0123456', expiresAt: Date.now() + 1000 });
    sock.push({ v: 1, type: 'robot', robot: 'sim', online: false });
    expect(online).to.deep.equal([true, false]);
    expect(sessions).to.deep.equal(['hs_newtoken_0123456']);
    expect(link.sendBinary()).to.equal(false);
    link.stop();
  });
});
