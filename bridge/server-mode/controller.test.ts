// Server mode's lifecycle (SERVER_TRANSITIONS) on a fake clock: the path off → connecting → live →
// fallback → live → stopping → off, a failure before ever being live, an illegal move refused
// loudly, and stop() from every state leaving no timer and no later attempt behind. The relay is a
// real WebSocket server on loopback; the publisher is stubbed to go live as soon as it is started
// (its own rules are in publisher.test.ts, the real stream in bridge/test/server-mode.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { WebSocket } from 'ws';
import { afterEach, describe, it, mock, type TestContext } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { IllegalTransition, type StateMachine, type Timers } from '../../common/state-machine.ts';
import { DEFAULT_CONFIG } from '../config/schema.ts';
import type { Hardware, VideoTap } from '../hardware/parts.ts';
import { Lease } from '../safety/lease.ts';
import type { WsGateway } from '../ws/gateway.ts';
import { ServerMode, type ServerState } from './controller.ts';
import { Publisher } from './publisher.ts';
import { LINK_MAX_BACKOFF_MS, LINK_MIN_BACKOFF_MS } from './relay-link.ts';
import { fakeTime, relay, relayOnFakeClock, robotSideClosed } from './test/fake-relay.ts';

// These tests walk the lifecycle on mocked timers; WebRTC's warm-up before the link starts
// (server-run.ts) runs werift's own timers, which a mocked clock holds for ever now and then (one
// 20 s timeout in a full run). The drive channel has its own tests (bridge/test/drive-channel.test.ts).
process.env.HAVATAR_DRIVE_CHANNEL = 'off';

setLogLevel('error');
/** The fake relay gives the robot its publish credential on connect, as the real one does. */
const AS_A_RELAY = { issueCredential: true };

const tap: VideoTap = {
  info: { kind: 'sim', device: 'test', format: 'raw', width: 320, height: 240, fps: 10, timestampStrip: false },
  ffmpegInput: () => [],
  attach: () => () => {},
};

/** Server mode against the relay at `url`, with a publisher that is live once started. */
function serverMode(t: TestContext, url: string, fallbackToLocal = true) {
  t.mock.method(Publisher.prototype, 'start', function (this: Publisher) {
    const p = this as unknown as { wanted: boolean; setLive(live: boolean): void };
    p.wanted = true;
    p.setLive(true);
  });
  const port = new URL(url).port;
  const config = { ...DEFAULT_CONFIG.server_mode, enabled: true, server_url: `http://127.0.0.1:${port}`, stream_key: 'sim', stream_password: 'pw', fallback_to_local: fallbackToLocal };
  const gateway = {
    onBroadcast: () => () => {}, setMicDemand: () => {}, telemetry: () => ({}), peerGone: async () => {},
    dispatch: () => {}, release: async () => {}, talkFlowChanged: () => {}, endTalk: () => {},
    welcome: (session: string) => ({ v: 1, type: 'welcome', session, robot: 'test', driver: null, limits: { deadmanMs: 250, maxTtlMs: 500, sendIntervalMs: 50 } }),
  } as unknown as WsGateway;
  const hardware = { video: { tap: () => tap }, mic: null, speakerSink: null, problems: {} } as unknown as Hardware;
  const sm = new ServerMode({ config: () => config, gateway, lease: new Lease(), hardware, log: createLogger('test') });
  t.after(() => sm.close());
  const inside = sm as unknown as { machine: StateMachine<ServerState>; timers: Timers; run: unknown };
  const seen: ServerState[] = [];
  const moved = new EventEmitter();
  const to = inside.machine.to.bind(inside.machine);
  inside.machine.to = (s: ServerState) => {
    const ok = to(s);
    seen.push(s);
    moved.emit(s);
    return ok;
  };
  /** Resolves once server mode is in `s` (at once if it is). */
  const reached = (s: ServerState) => (sm.state === s ? Promise.resolve() : once(moved, s).then(() => {}));
  /** The robot's end of the relay link's socket now. */
  const socket = () => (inside.run as { link: { ws: WebSocket | null } } | null)?.link.ws ?? null;
  return { sm, seen, reached, inside, socket };
}

describe('ServerMode lifecycle (fake clock)', () => {
  // A fake timer cleared after its test is over can remove the next clock's first timer.
  afterEach(() => mock.timers.reset());

  it('walks off → connecting → live → fallback → live → stopping → off', { timeout: 20_000 }, async (t) => {
    const { clock, r } = await relayOnFakeClock(t, true, AS_A_RELAY);
    const { sm, seen, reached, inside, socket } = serverMode(t, r.url);
    let accepted = r.connected();
    assert.deepEqual(await sm.start(), { ok: true });
    const ws = await accepted;
    await reached('live');
    assert.equal(inside.timers.has('telemetry'), true, 'telemetry to relay clients while the link is up');
    accepted = r.connected();
    ws.close(1012, 'relay restarting');
    await reached('fallback');
    assert.equal(sm.status().relay_connected, false);
    assert.match(sm.status().last_error ?? '', /relay closed the link \(1012/);
    clock.advance(LINK_MIN_BACKOFF_MS);
    const again = await accepted;
    await reached('live');
    const closed = once(again, 'close');
    const mine = socket();
    await sm.stop();
    await Promise.all([closed, robotSideClosed(mine)]);
    assert.deepEqual(seen, ['connecting', 'live', 'fallback', 'live', 'stopping', 'off']);
  });

  it('keeps v1\'s status keys beside the new ones, meaning what they meant in v1', { timeout: 20_000 }, async (t) => {
    const { r } = await relayOnFakeClock(t, true, AS_A_RELAY);
    const { sm, reached } = serverMode(t, r.url);
    const v1 = () => {
      const s = sm.status();
      return { server_mode_enabled: s.server_mode_enabled, connected_to_server: s.connected_to_server, video_streaming: s.video_streaming, audio_streaming: s.audio_streaming };
    };
    assert.deepEqual(v1(), { server_mode_enabled: false, connected_to_server: false, video_streaming: false, audio_streaming: false });
    const accepted = r.connected();
    await sm.start();
    const ws = await accepted;
    await reached('live');
    // No microphone in this rig: no audio stream, as v1 reported a dead audio FFmpeg.
    assert.deepEqual(v1(), { server_mode_enabled: true, connected_to_server: true, video_streaming: true, audio_streaming: false });
    ws.close(1012, 'relay restarting');
    await reached('fallback');
    assert.deepEqual(v1(), { server_mode_enabled: true, connected_to_server: false, video_streaming: false, audio_streaming: false });
    await sm.stop();
    assert.deepEqual(v1(), { server_mode_enabled: false, connected_to_server: false, video_streaming: false, audio_streaming: false });
  });

  it('a relay refusing from the start: connecting → fallback, never back to connecting', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const r = await relay(t, AS_A_RELAY);
    const { sm, seen, reached } = serverMode(t, r.url);
    await sm.start();
    await reached('fallback');
    assert.match(sm.status().last_error ?? '', /503/);
    const failed = once((sm as unknown as { run: { link: EventEmitter } }).run.link, 'down');
    clock.advance(LINK_MIN_BACKOFF_MS);
    await failed;
    assert.equal(sm.state, 'fallback');
    await sm.stop();
    assert.deepEqual(seen, ['connecting', 'fallback', 'stopping', 'off']);
  });

  it('with fallback_to_local off, a failure while live ends server mode', { timeout: 20_000 }, async (t) => {
    const { r } = await relayOnFakeClock(t, true, AS_A_RELAY);
    const { sm, seen, reached, socket } = serverMode(t, r.url, false);
    const accepted = r.connected();
    await sm.start();
    const ws = await accepted;
    await reached('live');
    const mine = socket();
    ws.close(1012, 'relay restarting');
    await Promise.all([reached('off'), robotSideClosed(mine)]);
    assert.deepEqual(seen, ['connecting', 'live', 'stopping', 'off']);
    assert.match(sm.status().last_error ?? '', /relay closed the link/);
  });

  it('with fallback_to_local off, a relay refusing from the start ends server mode, saying why, and never falls back', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const r = await relay(t, AS_A_RELAY);
    const { sm, seen, reached, inside } = serverMode(t, r.url, false);
    assert.deepEqual(await sm.start(), { ok: true });
    await reached('off');
    assert.deepEqual(seen, ['connecting', 'stopping', 'off']);
    const status = sm.status();
    assert.match(status.last_error ?? '', /503/, 'the relay\'s refusal');
    assert.match(status.last_error ?? '', /fallback_to_local is off: server mode stopped; POST \/server\/start/);
    assert.equal(status.server_mode_enabled, false);
    assert.equal(inside.run, null);
    // Nothing retries behind the operator's back.
    const attempts = r.state.attempts;
    clock.advance(3 * LINK_MAX_BACKOFF_MS);
    assert.equal(r.state.attempts, attempts);
    assert.equal(sm.state, 'off');
  });

  it('refuses an illegal transition loudly (it throws under node:test) and keeps its state', (t) => {
    const { sm, inside } = serverMode(t, 'ws://127.0.0.1:9/ws/robot/sim');
    assert.throws(() => inside.machine.to('live'), IllegalTransition);
    assert.equal(sm.state, 'off');
  });

  for (const from of ['off', 'connecting', 'live', 'fallback'] as const) {
    it(`stop() from ${from} leaves no timer and no later attempt`, { timeout: 20_000 }, async (t) => {
      const clock = fakeTime(t);
      const r = await relay(t, AS_A_RELAY);
      r.state.refusing = from === 'fallback';
      r.state.holding = from === 'connecting';
      const { sm, reached, inside, socket } = serverMode(t, r.url);
      /** The relay's end of the link's socket, when there is one. */
      let relaySide: EventEmitter | null = null;
      if (from !== 'off') {
        const accepted = from === 'live' ? r.connected() : from === 'connecting' ? r.upgrade() : null;
        await sm.start();
        relaySide = await accepted;
        await reached(from);
      }
      assert.equal(sm.state, from);
      // A held upgrade is a bare TCP socket, left half-open by the relay: its end is the sign.
      const closed = relaySide ? once(relaySide, from === 'connecting' ? 'end' : 'close') : null;
      const attempts = r.state.attempts;
      const mine = socket();
      await sm.stop();
      assert.equal(sm.state, 'off');
      assert.equal(inside.timers.size, 0, 'no telemetry timer');
      assert.equal(inside.run, null, 'the run (link, publisher, talk) is gone');
      await Promise.all([closed, robotSideClosed(mine)]); // both ends close within this test
      clock.advance(3 * LINK_MAX_BACKOFF_MS);
      assert.equal(r.state.attempts, attempts, 'no attempt after stop()');
      assert.equal(sm.status().relay_connected, false);
    });
  }
});
