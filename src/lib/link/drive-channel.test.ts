// The app's drive datagram channel (drive-channel.ts) and its place in the relay link
// (relay-link.ts), in Chromium: the "relay" here is a second RTCPeerConnection in the page that
// answers the offer the way server/relay/datagram.ts does (its own negotiated channel), and the
// relay socket is a tiny in-test WebSocket. The real relay is covered by server/test/datagram.test.ts.

import { expect } from '@open-wc/testing';
import { waitFor } from '../../../common/wait.ts';
import { msg, type DriveMsg, type StopMsg, type TtsMsg, type WelcomeMsg } from '../../../protocol/messages.ts';
import { DRIVE_CHANNEL } from '../../../protocol/relay.ts';
import { DriveChannel } from './drive-channel.ts';
import { RelayLink } from './relay-link.ts';

/** Answers an offer like the relay: a negotiated channel of its own; records what arrives. */
async function relayAnswer(offer: string): Promise<{ pc: RTCPeerConnection; sdp: string; received: string[]; channel: RTCDataChannel }> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel(DRIVE_CHANNEL.label, { negotiated: true, id: DRIVE_CHANNEL.id, ordered: false, maxRetransmits: 0 });
  const received: string[] = [];
  channel.onmessage = (e) => received.push(String(e.data));
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await waitFor('the answerer\'s candidates', () => pc.iceGatheringState === 'complete', undefined, 5000);
  return { pc, sdp: pc.localDescription!.sdp, received, channel };
}

class FakeSocket {
  static all: FakeSocket[] = [];
  static readonly OPEN = 1;
  readyState = 0;
  binaryType = 'blob';
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) { FakeSocket.all.push(this); }
  send(d: string) { this.sent.push(d); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  push(m: unknown) { this.onmessage?.({ data: JSON.stringify(m) }); }
  drop() { this.readyState = 3; this.onclose?.({ code: 1006, reason: '' }); }
  frames(): Record<string, unknown>[] { return this.sent.map((d) => JSON.parse(d) as Record<string, unknown>); }
}

const welcome = (): WelcomeMsg => msg<WelcomeMsg>({
  type: 'welcome', session: 'c1', robot: 'sim', driver: null,
  audio: { format: 'pcm_s16le', rate: 16000, channels: 1, frameMs: 20 },
  limits: { deadmanMs: 250, maxTtlMs: 1000, sendIntervalMs: 50 }, serverTime: Date.now(),
});

function relayLink(PeerConnection?: typeof RTCPeerConnection | null) {
  FakeSocket.all = [];
  const link = new RelayLink({
    target: () => ({ serverUrl: 'http://127.0.0.1:1', token: 'hs_test_token_0123456789' }),
    hello: () => ({ name: 'tester' }),
    clientId: 'app-test',
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    ...(PeerConnection !== undefined ? { PeerConnection } : {}),
  });
  link.start();
  const sock = FakeSocket.all.at(-1)!;
  sock.open();
  sock.push(welcome());
  return { link, sock };
}

const drive = (seq: number) => msg<DriveMsg>({ type: 'drive', seq, left: 0.5, right: 0.5, ttl: 300, t: Date.now() });

describe('drive channel (app)', () => {
  const closers: (() => void)[] = [];
  afterEach(() => { for (const c of closers.splice(0)) c(); });

  it('offers an unordered, no-retransmission channel and sends copies once the relay answered', async () => {
    let offer = '';
    const dc = new DriveChannel({ sendOffer: (sdp) => { offer = sdp; return true; } });
    closers.push(() => dc.close());
    await dc.open();
    expect(offer).to.contain('m=application');
    expect(dc.send('early')).to.equal(false);
    const relay = await relayAnswer(offer);
    closers.push(() => relay.pc.close());
    await dc.answer(relay.sdp);
    await waitFor('the channel to open', () => dc.isOpen, undefined, 5000);
    expect(dc.send('{"n":1}')).to.equal(true);
    await waitFor('the copy at the relay', () => relay.received.includes('{"n":1}'), undefined, 3000);
    expect(relay.channel.ordered).to.equal(false);
    expect(relay.channel.maxRetransmits).to.equal(0);
    dc.close();
    expect(dc.send('after')).to.equal(false);
  });

  it('the relay link offers once live, sends drive by socket and channel, and a relay without it is no error', async () => {
    const { link, sock } = relayLink();
    closers.push(() => link.stop());
    await waitFor('the rtc_offer on the socket', () => sock.frames().some((f) => f.type === 'rtc_offer'), undefined, 3000);
    const offer = String(sock.frames().find((f) => f.type === 'rtc_offer')!.sdp);
    const messages: string[] = [];
    link.on('message', (m) => messages.push(m.type));
    // Before the channel is open: the socket alone.
    expect(link.send(drive(1))).to.equal(true);
    const relay = await relayAnswer(offer);
    closers.push(() => relay.pc.close());
    sock.push({ v: 1, type: 'rtc_answer', sdp: relay.sdp });
    await waitFor('the channel to open', () => link.driveChannel.isOpen, undefined, 5000);
    expect(link.send(drive(2))).to.equal(true);
    link.send(msg<StopMsg>({ type: 'stop', seq: 3, t: Date.now() }));
    await waitFor('both copies at the relay', () => relay.received.length === 2, undefined, 3000);
    expect(relay.received.map((t) => JSON.parse(t).seq)).to.deep.equal([2, 3]);
    expect(sock.frames().filter((f) => f.type === 'drive' || f.type === 'stop').map((f) => f.seq)).to.deep.equal([1, 2, 3]);
    // Only drive-channel types travel on it.
    link.send(msg<TtsMsg>({ type: 'tts', id: 't1', text: 'hello' }));
    expect(relay.received.length).to.equal(2);
    // An older relay refuses the offer: nothing reaches the operator.
    sock.push({ v: 1, type: 'error', code: 'unavailable', message: 'no drive channel', ref: 'rtc_offer' });
    expect(messages).to.not.include('error');
    // The socket goes: the channel with it.
    sock.drop();
    expect(link.driveChannel.isOpen).to.equal(false);
  });

  it('a channel that does not open is offered again after a pause, a few times, and not after close()', async () => {
    const offers: string[] = [];
    const dc = new DriveChannel({ sendOffer: (sdp) => { offers.push(sdp); return true; }, openTimeoutMs: 50, retryMs: 20 });
    closers.push(() => dc.close());
    await dc.open();
    // Nobody answers: timeout 50 ms, then offers again after 20, 40, 80, 160 ms; then it gives up.
    await waitFor('the second offer', () => offers.length >= 2, undefined, 2000);
    await waitFor('the fifth offer', () => offers.length >= 5, undefined, 4000);
    await new Promise((r) => { setTimeout(r, 600); }); // stimulus: longer than the last pause and timeout
    expect(offers.length, 'given up after 4 retries').to.equal(5);
    // A new connection starts again; close() stops the retries.
    await dc.open();
    expect(offers.length).to.equal(6);
    dc.close();
    await new Promise((r) => { setTimeout(r, 200); }); // stimulus: longer than the timeout and the first pause
    expect(offers.length).to.equal(6);
  });

  it('without WebRTC: no offer, drive goes over the socket', async () => {
    const { link, sock } = relayLink(null);
    closers.push(() => link.stop());
    expect(link.send(drive(1))).to.equal(true);
    expect(sock.frames().map((f) => f.type)).to.not.include('rtc_offer');
    expect(sock.frames().filter((f) => f.type === 'drive').length).to.equal(1);
  });
});
