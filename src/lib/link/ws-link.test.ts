// The link's state machine against a tiny in-test WebSocket (only here: the real bridge is
// covered end to end). Timings are shrunk so the whole file runs in well under a second.

import { expect } from '@open-wc/testing';
import { CloseCode } from '../../../protocol/limits.ts';
import { msg, type HeartbeatAckMsg, type RecordingMsg, type WelcomeMsg } from '../../../protocol/messages.ts';
import { waitFor } from '../../../common/wait.ts';
import { withFakeClock } from '../../test/fake-clock.ts';
import type { LinkState } from './link.ts';
import { redact, WsLink } from './ws-link.ts';

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

function makeLink(timing = {}) {
  FakeSocket.all = [];
  const states: LinkState[] = [];
  const link = new WsLink({
    url: () => 'ws://127.0.0.1:1/ws?token=secret',
    hello: () => ({ name: 'tester' }),
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    timing: { connectTimeoutMs: 200, heartbeatMs: 20, degradedAfterMs: 80, lostAfterMs: 200, degradedRttMs: 1000, backoff: { baseMs: 20, maxMs: 40, jitter: true }, ...timing },
  });
  link.on('status', (s) => states.push(s.state));
  return { link, states, sock: () => FakeSocket.all.at(-1)! };
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
    sock().push(msg<HeartbeatAckMsg>({ type: 'heartbeat_ack', t: beat.t }));
    expect(link.heartbeatRttMs).to.be.a('number').and.at.least(0);
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
