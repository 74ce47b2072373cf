// The relay hub's time rules on a fake clock, exactly at their boundaries and without waiting: the
// message rate buckets (clients and robot), the heartbeat that closes dead sockets within 2 s, the
// lease's idle time and renewal, and sessions expiring under an open socket. node:test's mock
// timers drive the hub's intervals, and the hub, store and access read the same mocked Date; the
// clock advances in steps that land on every heartbeat, so each reap runs at its heartbeat's time. The sockets are fakes that record what the hub does to them.
// The wiring of each rule in the real relay process is in relay.test.ts and hardening.test.ts.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, describe, mock, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { Logger } from '../../common/log.ts';
import { CloseCode, DEFAULT_DEADMAN_MS } from '../../protocol/limits.ts';
import { driveLimits, welcomeMsg } from '../../common/welcome.ts';
import { Access } from '../relay/access.ts';
import { LocalBus } from '../relay/bus.ts';
import { Hub } from '../relay/hub.ts';
import { RelayLimits } from '../relay/limits.ts';
import { createMetrics } from '../relay/metrics.ts';
import { FileStore } from '../relay/store.ts';

/** Lets the hub's promise chains and its setImmediate work (the reap, the flushes) run. */
const realImmediate = globalThis.setImmediate.bind(globalThis);
const settle = async () => { for (let i = 0; i < 3; i++) await new Promise((r) => realImmediate(r)); };

const T0 = 1_800_000_000_000;
type Frame = Record<string, unknown>;

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** A WebSocket as far as the hub uses one; `receive` is a frame from the peer. */
class FakeWs extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  /** Not empty, so the hub's frames come through send(): delivery.ts writes frames itself only for a socket without extensions. */
  readonly extensions = 'fake';
  readonly sent: Frame[] = [];
  pings = 0;
  private closedWith: { code: number; at: number; terminated: boolean } | null = null;
  /** How the hub closed it (`at`: fake ms since the start), or null while open. */
  closed(): { code: number; at: number; terminated: boolean } | null { return this.closedWith; }
  /** Answer every ping with a pong, as a live peer does. */
  autoPong = false;
  send(text: string): void { this.sent.push(JSON.parse(text) as Frame); }
  ping(): void { this.pings++; if (this.autoPong) this.emit('pong'); }
  close(code: number): void { this.end(code, false); }
  terminate(): void { this.end(1006, true); }
  private end(code: number, terminated: boolean): void {
    if (this.readyState === this.CLOSED) return;
    this.readyState = this.CLOSED;
    this.closedWith = { code, at: Date.now() - T0, terminated };
    this.emit('close', code);
  }
  receive(frame: unknown): void { this.emit('message', Buffer.from(JSON.stringify(frame)), false); }
  of(type: string): Frame[] { return this.sent.filter((f) => f.type === type); }
}
const raw = { cork() {}, uncork() {} } as unknown as Duplex;

let stop: (() => void) | null = null;
afterEach(() => { stop?.(); stop = null; mock.timers.reset(); });

function relay(over: Partial<RelayLimits> = {}) {
  // setImmediate stays real (settle() runs the reap and the corked flushes): Node 20's mock loses
  // the hub's 1 s interval after it fires beside an immediate scheduled by the 400 ms one.
  mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: T0 });
  const limits: RelayLimits = { ...RelayLimits, ...over };
  const dir = mkdtempSync(join(tmpdir(), 'havatar-hub-unit-'));
  const now = () => Date.now();
  const store = new FileStore(dir, now);
  const access = new Access(store, limits, quiet, undefined, () => {}, now);
  /** How far the hub's own clock is ahead of its timers (an event loop that stalled). */
  let stalled = 0;
  const metrics = createMetrics();
  const hub = new Hub(access, store, new LocalBus(), limits, metrics, quiet, { now: () => Date.now() + stalled, mono: () => Date.now() + stalled });
  stop = () => { hub.close(); rmSync(dir, { recursive: true, force: true }); };
  const r = {
    hub, store, limits, metrics,
    /** Fake milliseconds since the hub started. */
    get t() { return Date.now() - T0; },
    /** Advances the fake clock in steps (timers fire at their own time), letting promises settle. */
    async advance(ms: number, step = 25) {
      for (let done = 0; done < ms;) {
        const d = Math.min(step, ms - done);
        mock.timers.tick(d);
        done += d;
        await settle();
      }
    },
    async to(t: number, step = 25) { await r.advance(t - r.t, step); },
    /** The hub's clock jumps ahead while its timers do not run (a blocked event loop). */
    stall(ms: number) { stalled += ms; },
    /** Peers answer pings unless `deaf`: only the tests of dead sockets have silent ones. */
    robot(id = 'sim') {
      const ws = new FakeWs();
      ws.autoPong = true;
      hub.addRobot(ws as unknown as WebSocket, id, raw);
      return ws;
    },
    async client(role: 'driver' | 'viewer', id: string, opts: { deaf?: boolean } = {}) {
      const inv = await access.createInvite('sim', role, 3_600_000);
      const issued = (await access.redeemInvite(inv.token))!;
      const ws = new FakeWs();
      ws.autoPong = !opts.deaf;
      await hub.addClient(ws as unknown as WebSocket, id, issued.session, raw);
      return ws;
    },
    async refusedForRate() {
      const m = (await metrics.registry.getSingleMetricAsString('havatar_relay_refused_total')).match(/code="rate_limited"} (\d+)/);
      return m ? Number(m[1]) : 0;
    },
  };
  return r;
}

const heartbeat = (t: number) => ({ v: 1, type: 'heartbeat', t });
const telemetry = (ts: number) => ({ v: 1, type: 'telemetry', battery: { voltage: 12, percentage: 80 }, motors: { left: 0, right: 0 }, serial: true, ts });
const forwards = (robot: FakeWs) => robot.of('forward').length;
/** Lease frames `ws` got after it was told it drives. */
const afterTaking = (ws: FakeWs) => ws.sent.slice(ws.sent.findIndex((f) => f.type === 'lease' && f.you === true) + 1).filter((f) => f.type === 'lease');
const rateErrors = (c: FakeWs) => c.sent.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;

describe('client message rate (token bucket: messagesPerSecond, messageBurst, rateStrikes)', () => {
  const limits = { messagesPerSecond: 8, messageBurst: 4, rateStrikes: 20 };

  test('a fresh socket may send its burst at once; one more in the same instant is refused with rate_limited', async () => {
    const r = relay(limits);
    const robot = r.robot();
    const c = await r.client('viewer', 'v');
    for (let i = 0; i < 4; i++) c.receive(heartbeat(i));
    assert.equal(forwards(robot), 4);
    assert.equal(rateErrors(c), 0);
    c.receive(heartbeat(4));
    assert.equal(forwards(robot), 4, 'the fifth frame is not forwarded');
    assert.equal(rateErrors(c), 1);
    assert.equal(c.closed(), null);
  });

  test('one token per 1/messagesPerSecond: refused 1 ms before it is whole (124 ms at 8/s), admitted on the ms it is (125 ms)', async () => {
    const r = relay(limits);
    const robot = r.robot();
    const a = await r.client('viewer', 'a');
    const b = await r.client('viewer', 'b');
    for (let i = 0; i < 4; i++) { a.receive(heartbeat(i)); b.receive(heartbeat(i)); }
    assert.equal(forwards(robot), 8);
    await r.advance(124);
    a.receive(heartbeat(9));
    assert.equal(rateErrors(a), 1, 'a at 124 ms: refused');
    await r.advance(1);
    b.receive(heartbeat(9));
    assert.equal(rateErrors(b), 0, 'b at 125 ms: admitted');
    assert.equal(forwards(robot), 9);
  });

  test('an idle socket saves up no more than its burst', async () => {
    const r = relay(limits);
    const robot = r.robot();
    const c = await r.client('viewer', 'idle');
    await r.advance(10_000, 200);
    for (let i = 0; i < 6; i++) c.receive(heartbeat(i));
    assert.equal(forwards(robot), 4, 'burst 4, although 10 s at 8/s would be 80');
    assert.equal(rateErrors(c), 2);
  });

  test('rateStrikes refusals in a row close the socket with 4008; an admitted frame in between resets the count', async () => {
    const r = relay({ ...limits, rateStrikes: 3 });
    r.robot();
    const c = await r.client('viewer', 'striker');
    for (let i = 0; i < 4; i++) c.receive(heartbeat(i));
    c.receive(heartbeat(4));
    c.receive(heartbeat(5));
    assert.equal(rateErrors(c), 2, 'two refusals, each with an error frame');
    await r.advance(125);
    c.receive(heartbeat(6)); // admitted: the strikes start over
    c.receive(heartbeat(7));
    c.receive(heartbeat(8));
    assert.equal(c.closed(), null, 'two strikes after the reset: still open');
    c.receive(heartbeat(9));
    assert.equal(c.closed()?.code, CloseCode.rateLimited, 'the third refusal in a row closes');
    assert.equal(rateErrors(c), 4, 'the closing refusal sends no error frame of its own');
    assert.equal(await r.refusedForRate(), 5);
  });
});

describe('robot message rate (messagesPerSecond × max(4, 2 × clients + 2), refusals dropped)', () => {
  test('with one client the robot gets 4× the client rate; the frame after the bucket is dropped, the next token is whole after 1/rate', async () => {
    const r = relay({ messagesPerSecond: 10, messageBurst: 10 });
    const robot = r.robot();
    const c = await r.client('viewer', 'watcher');
    await r.advance(1000, 200); // the bucket (10 at the start) fills to its cap, 40
    for (let i = 0; i < 41; i++) robot.receive(telemetry(i));
    assert.equal(c.of('telemetry').length, 40);
    assert.equal(robot.of('error').length, 0, 'the robot is not answered, its frame is dropped');
    assert.equal(await r.refusedForRate(), 1);
    await r.advance(24, 24);
    robot.receive(telemetry(100));
    assert.equal(c.of('telemetry').length, 40, '24 ms at 40/s: 0.96 token');
    await r.advance(1, 1);
    robot.receive(telemetry(101));
    assert.equal(c.of('telemetry').length, 41, '25 ms: a whole token');
  });

  test('with three clients the robot may send 8× the client rate', async () => {
    const r = relay({ messagesPerSecond: 10, messageBurst: 10 });
    const robot = r.robot();
    const cs = [await r.client('viewer', 'c1'), await r.client('viewer', 'c2'), await r.client('driver', 'c3')];
    await r.advance(1000, 200);
    for (let i = 0; i < 81; i++) robot.receive(telemetry(i));
    assert.deepEqual(cs.map((c) => c.of('telemetry').length), [80, 80, 80]);
  });
});

describe('dead sockets (pingIntervalMs 400, deadAfterMs 1500: closed within 2 s of the last sign of life)', () => {
  /** The first heartbeat (every 400 ms from the hub's start) at which `silentSince` is more than 1500 ms ago. */
  const expectedClose = (silentSince: number) => (Math.floor((silentSince + 1500) / 400) + 1) * 400;

  test('a socket that never answers is closed at the first heartbeat after 1500 ms of silence, whatever its phase: never later than 1900 ms', async () => {
    const r = relay();
    const socks: { ws: FakeWs; since: number }[] = [];
    for (let since = 0; since < 400; since += 25) {
      await r.to(since);
      socks.push({ ws: await r.client('viewer', `deaf-${since}`, { deaf: true }), since });
    }
    await r.to(2400);
    for (const { ws, since } of socks) {
      assert.ok(ws.closed()?.terminated, `deaf-${since} terminated`);
      assert.equal(ws.closed()!.at, expectedClose(since), `deaf-${since} closed at the first heartbeat after ${since + 1500}`);
      const silent = ws.closed()!.at - since;
      assert.ok(silent > 1500 && silent <= 1900, `deaf-${since}: closed after ${silent} ms of silence`);
      // Pinged from 700 ms of silence (deadAfterMs − 2 × pingIntervalMs) at every heartbeat until closed.
      assert.ok(ws.pings >= 2, `deaf-${since} was pinged (${ws.pings})`);
    }
  });

  test('exactly 1500 ms of silence at a heartbeat is still alive; the next heartbeat closes it', async () => {
    const r = relay();
    const c = await r.client('viewer', 'edge', { deaf: true });
    await r.to(100);
    c.emit('pong'); // last sign of life at 100
    await r.to(1600);
    assert.equal(c.closed(), null, 'at 1600: silent 1500 ms, not more');
    await r.to(1999);
    assert.equal(c.closed(), null);
    await r.to(2000);
    assert.equal(c.closed()?.at, 2000);
    assert.equal(c.closed()!.terminated, true);
  });

  test('a socket that answers every ping stays open, pinged once silent 700 ms; one that sends more often is never pinged', async () => {
    const r = relay({ messagesPerSecond: 1000, messageBurst: 1000 });
    r.robot();
    const answering = await r.client('viewer', 'answering');
    const talker = await r.client('viewer', 'talker');
    for (let t = 100; t <= 60_000; t += 100) {
      await r.to(t, 100);
      // The app's heartbeat every 500 ms: under the 700 ms after which a socket is pinged.
      if (t % 500 === 0) talker.receive(heartbeat(t));
    }
    assert.equal(answering.closed(), null);
    assert.equal(talker.closed(), null);
    // Its pong at a heartbeat leaves it silent 400 ms at the next (not pinged) and 800 ms at the one after.
    assert.equal(answering.pings, 75, 'pinged at every other heartbeat of 60 s');
    assert.equal(talker.pings, 0, 'heard from within 700 ms at every heartbeat');
  });

  test('a heartbeat that comes late (the relay itself stalled) only pings; a pong read after it keeps the socket, else the next heartbeat closes it', async () => {
    for (const answers of [true, false]) {
      const r = relay();
      const c = await r.client('viewer', 'stalled', { deaf: true });
      await r.to(1200);
      assert.equal(c.closed(), null);
      const pings = c.pings;
      r.stall(1000); // the relay's loop was blocked for 1 s: its next heartbeat is 1400 ms after the last
      await r.to(1600);
      assert.equal(c.closed(), null, 'the late heartbeat (silent 2600 ms) does not judge');
      assert.equal(c.pings, pings + 1, 'it pings');
      if (answers) c.emit('pong'); // the answer that waited behind the stalled loop
      await r.to(2000);
      assert.equal(c.closed()?.terminated ?? false, !answers, answers ? 'answered: kept' : 'silent: closed at the next heartbeat');
      stop?.(); stop = null; mock.timers.reset();
    }
  });
});

describe('the driver lease: idle time (leaseIdleMs) and renewal, judged once a second', () => {
  test('a silent driver keeps the lease until leaseIdleMs; the operator who asked gets it at the first tick at or after that', async () => {
    for (const takeAt of [0, 1]) {
      const r = relay({ leaseIdleMs: 3000 });
      r.robot();
      const d = await r.client('driver', 'silent');
      const w = await r.client('driver', 'waiting');
      await r.to(takeAt, 1);
      d.receive({ v: 1, type: 'lease', action: 'take' });
      await settle();
      assert.ok(d.sent.some((f) => f.type === 'lease' && f.you === true));
      w.receive({ v: 1, type: 'lease', action: 'request' });
      await settle();
      await r.to(3000, 1000);
      const handedAt3000 = w.sent.some((f) => f.type === 'lease' && f.you === true);
      assert.equal(handedAt3000, takeAt === 0, `taken at ${takeAt}: lease until ${takeAt + 3000}, tick at 3000`);
      await r.to(4000, 1000);
      assert.ok(w.sent.some((f) => f.type === 'lease' && f.you === true), 'handed over by the tick at 4000');
      assert.ok(d.sent.some((f) => f.type === 'lease' && f.driver === 'waiting' && f.you === false));
      stop?.(); stop = null; mock.timers.reset();
    }
  });

  test('a driver\'s frames renew the lease at most once a second: a heartbeat at 999 ms does not, one at 1000 ms does', async () => {
    for (const beatAt of [999, 1000]) {
      const r = relay({ leaseIdleMs: 3000 });
      r.robot();
      const d = await r.client('driver', 'driver');
      d.receive({ v: 1, type: 'lease', action: 'take' });
      await settle();
      await r.to(beatAt, 1);
      d.receive(heartbeat(beatAt));
      await r.to(3000, 1000);
      assert.ok(d.sent.some((f) => f.type === 'lease' && f.you === true));
      const lapsed = afterTaking(d).some((f) => f.driver === null);
      assert.equal(lapsed, beatAt === 999, `heartbeat at ${beatAt}: lease ${beatAt === 999 ? 'lapsed at 3000' : 'renewed to 4000'}`);
      await r.to(4000, 1000);
      assert.ok(afterTaking(d).some((f) => f.driver === null), 'lapsed by 4000 either way');
      stop?.(); stop = null; mock.timers.reset();
    }
  });

  test('a driver that keeps driving keeps the lease, with one store write a second', async () => {
    const r = relay({ leaseIdleMs: 3000 });
    r.robot();
    const renewals: number[] = [];
    const renew = r.store.leaseRenew.bind(r.store);
    r.store.leaseRenew = (robot, client, ttl) => { renewals.push(r.t); return renew(robot, client, ttl); };
    const d = await r.client('driver', 'driving');
    d.receive({ v: 1, type: 'lease', action: 'take' });
    await settle();
    for (let t = 100; t <= 10_000; t += 100) {
      await r.to(t, 100);
      d.receive({ v: 1, type: 'drive', seq: t, left: 0.2, right: 0.2, ttl: 300, t });
    }
    assert.ok(d.sent.some((f) => f.type === 'lease' && f.you === true));
    assert.deepEqual(afterTaking(d), [], 'never told anything else about the lease');
    assert.deepEqual(renewals, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  });
});

describe('sessions under an open socket (sessionTtlMs), judged once a second', () => {
  test('the socket of a session that expires is closed with 4001 at the first tick at or after its expiry', async () => {
    for (const ttl of [3000, 3001]) {
      const r = relay({ sessionTtlMs: ttl });
      const c = await r.client('viewer', `ttl-${ttl}`);
      await r.to(2000, 200);
      assert.equal(c.closed(), null);
      await r.to(3000, 200);
      assert.equal(c.closed()?.code ?? null, ttl === 3000 ? CloseCode.unauthorized : null, `expiring at ${ttl}: tick at 3000`);
      await r.to(4000, 200);
      assert.equal(c.closed()?.code, CloseCode.unauthorized);
      assert.equal(c.closed()!.at, ttl === 3000 ? 3000 : 4000);
      stop?.(); stop = null; mock.timers.reset();
    }
  });
});

describe("the welcome carries the robot's own drive limits", () => {
  const deadmanOf = (ws: FakeWs) => (ws.of('welcome')[0]!.limits as { deadmanMs: number }).deadmanMs;

  test('the protocol default until the robot has sent its welcome; its own deadman from then on, and its welcome is not forwarded', async () => {
    const r = relay();
    const robot = r.robot();
    const early = await r.client('viewer', 'early');
    assert.equal(deadmanOf(early), DEFAULT_DEADMAN_MS);
    robot.receive(welcomeMsg({ session: 'robot', robot: 'sim', driver: null, limits: driveLimits(DEFAULT_DEADMAN_MS + 150) }));
    await settle();
    const late = await r.client('viewer', 'late');
    assert.equal(deadmanOf(late), DEFAULT_DEADMAN_MS + 150);
    assert.equal(early.of('welcome').length, 1, "the robot's own welcome is the relay's to give, not forwarded");
  });

  test('a robot that reconnects starts over from the default until it says its limits again', async () => {
    const r = relay();
    const first = r.robot();
    first.receive(welcomeMsg({ session: 'robot', robot: 'sim', driver: null, limits: driveLimits(600) }));
    await settle();
    r.robot(); // replaces the first socket
    assert.equal(first.closed()?.code, CloseCode.replaced);
    assert.equal(deadmanOf(await r.client('viewer', 'v')), DEFAULT_DEADMAN_MS);
  });
});
