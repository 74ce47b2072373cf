// SerialMotors against the simulated ESP32 over a real socat pty: the same bytes the Pi sends to
// /dev/ttyUSB0. The link's time rules (status silence, refresh, ack timeout, reopen backoff) are
// also run on a fake clock against a board the test plays itself, so they are checked exactly;
// the real-time tests here are the wiring of each.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it, mock, type TestContext } from 'node:test';
import { SerialPort } from 'serialport';
import { setLogLevel } from '../../common/log.ts';
import { waitFor, within } from '../../common/wait.ts';
import {
  decodeSerial, encodeSerial, LineSplitter, SERIAL_BAUD, SerialError, type HostFrame, type SerialFrame,
} from '../../protocol/serial.ts';
import { SimulatedEsp32 } from '../sim/esp32.ts';
import { createPtyPair } from '../sim/pty.ts';
import {
  ACK_TIMEOUT_MS, RECONNECT_MAX_MS, RECONNECT_MIN_MS, SerialMotors, STATUS_TIMEOUT_MS, type SerialMotorsOptions,
} from './serial-motors.ts';

setLogLevel('error');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * Resolves once the bridge has flushed a port `n` times in all. SerialMotors flushes the port right
 * after opening it (stale bytes from before it listened); the flush runs asynchronously and, on a
 * pty, also drops what is queued toward the other end, so a frame sent either way before it has run
 * may vanish. A test that talks right after an open waits for it. (Events only, no timers: this
 * also serves tests on mock timers.)
 */
function watchFlushes(): (n: number) => Promise<void> {
  let done = 0;
  const flushed = new EventEmitter();
  const flush = SerialPort.prototype.flush;
  const m = mock.method(SerialPort.prototype, 'flush', function (this: SerialPort, cb?: (err: Error | null) => void) {
    return flush.call(this, (err: Error | null) => { done++; cb?.(err); flushed.emit('flushed'); });
  });
  cleanups.push(() => m.mock.restore());
  return (n) => new Promise<void>((resolve) => {
    const check = () => { if (done >= n) { flushed.off('flushed', check); resolve(); } };
    flushed.on('flushed', check);
    check();
  });
}

async function rig(opts: Partial<SerialMotorsOptions> = {}, dir?: string) {
  const flushes = watchFlushes();
  const pair = await createPtyPair(dir);
  cleanups.push(() => pair.close());
  const esp = new SimulatedEsp32({ path: pair.devicePath });
  await esp.open();
  cleanups.push(() => esp.close());
  const motors = new SerialMotors({ path: pair.hostPath, ...opts });
  cleanups.push(() => motors.close());
  await motors.open();
  await within('the port flushed after opening', flushes(1), 2000);
  await waitFor('motors connected', () => motors.state.connected, undefined, { timeoutMs: 2000 });
  return { pair, esp, motors };
}

/** Collects the motor frames the simulated board receives from now on. */
function motorFramesFrom(esp: SimulatedEsp32): HostFrame[] {
  const frames: HostFrame[] = [];
  esp.on('frame', (f: HostFrame) => { if (f.type === 'M') frames.push(f); });
  return frames;
}

describe('SerialMotors with the simulated ESP32', () => {
  it('set() moves the simulated wheels and resolves with the ack round trip', async () => {
    const { esp, motors } = await rig();
    const ack = await motors.set(0.5, -0.5);
    assert.ok(ack.rttMs >= 0 && ack.rttMs < ACK_TIMEOUT_MS, `rtt ${ack.rttMs}`);
    assert.equal(esp.targetLeft, 128);
    assert.equal(esp.targetRight, -128);
    // Ramped, not stepped: full scale takes 100 ms, so half scale is there well within 1 s.
    await waitFor('wheels at target', () => [esp.left, esp.right], ([l, r]) => l === 128 && r === -128, { timeoutMs: 1000 });
    await waitFor('status reports the PWM', () => [motors.state.left, motors.state.right],
      ([l, r]) => Math.abs(l! - 128 / 255) < 1e-9 && Math.abs(r! + 128 / 255) < 1e-9, { timeoutMs: 1000 });
    assert.notDeepEqual(esp.world.pose, { x: 0, y: 0, heading: 0 });
  });

  it('keeps the watchdog fed by re-sending the target while the bridge is alive', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.3, 0.3);
    const refreshes = motorFramesFrom(esp);
    // Twelve refreshes (100 ms apart) span more than twice the board's 500 ms watchdog.
    await waitFor('12 refreshes at the board', () => refreshes.length, (n) => n >= 12);
    assert.equal(esp.watchdogTrips, 0);
    assert.equal(esp.watchdogTripped, false);
    assert.ok(refreshes.every((f) => f.type === 'M' && f.left === 77 && f.right === 77), 'each refresh carries the target');
  });

  it('stop() halts both tracks at once and keeps refreshing zero', async () => {
    const { esp, motors } = await rig();
    await motors.set(1, 1);
    await waitFor('full speed', () => esp.left, (l) => l === 255, { timeoutMs: 1000 });
    await motors.stop();
    assert.equal(esp.left, 0);
    assert.equal(esp.right, 0);
    const refreshes = motorFramesFrom(esp);
    await waitFor('two refreshes after the stop', () => refreshes.length, (n) => n >= 2, { timeoutMs: 1000 });
    assert.ok(refreshes.every((f) => f.type === 'M' && f.left === 0 && f.right === 0), 'the refreshes carry zero');
  });

  it('rejects non-numbers and out-of-range speeds without changing the target', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.2, 0.2);
    for (const [l, r] of [[Number.NaN, 0], [0, Number.POSITIVE_INFINITY], [1.5, 0], [0, -2]] as const) {
      await assert.rejects(motors.set(l, r), RangeError);
    }
    const refreshes = motorFramesFrom(esp);
    await waitFor('two refreshes after the refused calls', () => refreshes.length, (n) => n >= 2, { timeoutMs: 1000 });
    assert.ok(refreshes.every((f) => f.type === 'M' && f.left === 51 && f.right === 51), 'the refreshes still carry 0.2');
    assert.equal(esp.targetLeft, 51);
    assert.equal(esp.targetRight, 51);
  });

  it('wraps the sequence number after 65535', async () => {
    const { esp, motors } = await rig({ firstSeq: 65534, refreshMs: 10_000 });
    // open() used 65534 for its status query.
    const a = await motors.set(0.1, 0.1);
    const b = await motors.set(0.2, 0.2);
    assert.deepEqual([a.seq, b.seq], [65535, 0]);
    assert.deepEqual(esp.lastMotorFrames.map((f) => f.seq), [65535, 0]);
  });

  it('closing stops the simulated robot at once, by a stop frame rather than its watchdog', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.8, 0.8);
    await waitFor('driving', () => esp.left, (l) => l === 204, { timeoutMs: 1000 });
    // What the board is doing the moment the stop frame has been applied.
    const atStop = new Promise<{ left: number; right: number; watchdogTrips: number }>((resolve) => {
      esp.on('frame', (f: HostFrame) => { if (f.type === 'S') resolve({ left: esp.left, right: esp.right, watchdogTrips: esp.watchdogTrips }); });
    });
    await motors.close();
    assert.deepEqual(await within('the stop frame at the board', atStop, 1000), { left: 0, right: 0, watchdogTrips: 0 });
  });

  it('the ESP32 stops by itself within its watchdog when the refreshes stop', async () => {
    // A bridge that hangs (refresh far slower than the watchdog) looks dead to the board.
    const { esp, motors } = await rig({ refreshMs: 60_000 });
    const tripped = once(esp, 'watchdog').then(() => Date.now());
    await motors.set(0.8, 0.8);
    const lastFrameAt = esp.lastValidFrameAt!;
    const ms = (await within('the board\'s watchdog', tripped, 1500)) - lastFrameAt;
    // 500 ms after the last valid frame, seen by the board's 10 ms control loop.
    assert.ok(ms >= 500 && ms <= 700, `tripped ${ms} ms after the last frame`);
    assert.equal(esp.left, 0);
    assert.equal(esp.targetLeft, 0);
    await waitFor('flag reported to the bridge', () => motors.state.watchdogTripped, undefined, { timeoutMs: 1000 });
  });

  it('reports the board disconnected after a second without status', async () => {
    const { esp, motors } = await rig();
    const disconnected = once(motors, 'disconnected');
    const start = performance.now();
    await esp.close();
    await within('disconnected', disconnected, 2500);
    const ms = performance.now() - start;
    assert.equal(motors.state.connected, false);
    // The last status came at most 200 ms before the board went quiet.
    assert.ok(ms >= STATUS_TIMEOUT_MS - 200, `declared disconnected too early (${ms} ms)`);
  });

  it('reopens the port when the pty disappears and comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'havatar-reopen-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const flushes = watchFlushes();
    const first = await createPtyPair(dir);
    const esp1 = new SimulatedEsp32({ path: first.devicePath });
    await esp1.open();
    const motors = new SerialMotors({ path: first.hostPath, reconnectMaxMs: 200 });
    cleanups.push(() => motors.close());
    await motors.open();
    await waitFor('first connection', () => motors.state.connected, undefined, { timeoutMs: 2000 });
    await esp1.close();
    await first.close();
    await waitFor('link noticed the port is gone', () => motors.linkState, (s) => s === 'waiting', { timeoutMs: 1000 });
    await assert.rejects(motors.set(0.5, 0.5), /not open/);
    const second = await createPtyPair(dir);
    cleanups.push(() => second.close());
    const esp2 = new SimulatedEsp32({ path: second.devicePath });
    await esp2.open();
    cleanups.push(() => esp2.close());
    await waitFor('reopened', () => motors.linkState, (s) => s === 'open', { timeoutMs: 2000 });
    await within('the reopened port flushed', flushes(2), 2000);
    const ack = await motors.set(0.5, 0.5);
    assert.ok(ack.rttMs < ACK_TIMEOUT_MS);
    assert.equal(esp2.targetLeft, 128);
  });

  it('reads the battery from status frames and it drains while driving', async () => {
    const { esp, motors } = await rig();
    await waitFor('battery', () => motors.state.battery, (b) => b !== null, { timeoutMs: 1000 });
    const idle = motors.state.battery!;
    assert.ok(idle.voltage > 8 && idle.voltage <= 8.4, `idle ${idle.voltage} V`);
    assert.ok(idle.percentage > 90);
    await motors.set(1, 1);
    await waitFor('the reported voltage to sag below idle while driving', () => motors.state.battery!.voltage, (v) => v < idle.voltage);
    await waitFor('the simulated robot to cover 10 cm', () => esp.world.distanceM, (d) => d > 0.1);
  });
});

/**
 * SerialMotors on a fake clock, against a board the test plays on the device end of a real pty:
 * the board sends a status frame only when the test says so. The timers named in `apis` are
 * node:test's mock timers and `now` is the same fake time, moved by `advance` 1 ms at a time so
 * every timer runs at the time it was due. The bytes still cross socat for real, so a test awaits
 * an event (never the clock) for them.
 */
async function playedBoard(t: TestContext, apis: ('setTimeout' | 'setInterval')[], opts: Partial<SerialMotorsOptions> = {}) {
  const pair = await createPtyPair();
  cleanups.push(() => pair.close());
  const board = new SerialPort({ path: pair.devicePath, baudRate: SERIAL_BAUD, autoOpen: false });
  await new Promise<void>((res, rej) => board.open((e) => (e ? rej(e) : res())));
  board.on('error', () => {});
  cleanups.push(() => new Promise<void>((res) => { if (board.isOpen) board.close(() => res()); else res(); }));
  const received = new EventEmitter();
  const splitter = new LineSplitter();
  board.on('data', (b: Buffer) => {
    for (const l of splitter.push(b.toString('latin1'))) {
      const d = decodeSerial(l);
      if (d.ok) received.emit('frame', d.frame);
    }
  });
  const nextFrame = <K extends SerialFrame['type']>(type: K) => new Promise<Extract<SerialFrame, { type: K }>>((resolve) => {
    const on = (f: SerialFrame) => { if (f.type === type) { received.off('frame', on); resolve(f as Extract<SerialFrame, { type: K }>); } };
    received.on('frame', on);
  });
  const flushes = watchFlushes();
  t.mock.timers.enable({ apis });
  let ms = 0;
  const motors = new SerialMotors({ path: pair.hostPath, now: () => ms, ...opts });
  cleanups.push(() => motors.close());
  await motors.open();
  assert.equal(motors.linkState, 'open');
  await flushes(1); // the board speaks only after the bridge's post-open flush (see watchFlushes)
  return {
    pair, board, motors, nextFrame,
    now: () => ms,
    advance(by: number) { for (let i = 0; i < by; i++) { ms++; t.mock.timers.tick(1); } },
    /** The board sends one status frame; resolves once the bridge has read it. */
    async status(): Promise<void> {
      const seen = once(motors, 'state');
      board.write(encodeSerial({ type: 'T', left: 0, right: 0, mv: 8000, flags: 0 }), 'latin1');
      await seen;
    },
  };
}

/** Lets pending promise callbacks run (setImmediate is not mocked). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('SerialMotors time rules (fake clock)', () => {
  it(`is disconnected at the first check (every 100 ms) after more than ${STATUS_TIMEOUT_MS} ms without a status frame`, { timeout: 20_000 }, async (t) => {
    const b = await playedBoard(t, ['setInterval']);
    const events: string[] = [];
    b.motors.on('connected', () => events.push(`connected at ${b.now()}`));
    b.motors.on('disconnected', () => events.push(`disconnected at ${b.now()}`));
    await b.status();
    b.advance(STATUS_TIMEOUT_MS);
    assert.equal(b.motors.state.connected, true, 'exactly 1 s of silence is not yet loss');
    b.advance(99);
    assert.equal(b.motors.state.connected, true);
    b.advance(1);
    assert.deepEqual(events, ['connected at 0', 'disconnected at 1100']);
    // A status frame brings it back, and each one restarts the second.
    await b.status();
    b.advance(900);
    await b.status();
    b.advance(STATUS_TIMEOUT_MS);
    assert.equal(b.motors.state.connected, true);
    b.advance(100);
    assert.deepEqual(events.slice(2), ['connected at 1100', 'disconnected at 3100']);
  });

  it('re-sends the target every refreshMs (100 ms) while the port is open', { timeout: 20_000 }, async (t) => {
    const b = await playedBoard(t, ['setInterval']);
    const sent = () => b.motors.state.framesSent;
    const before = sent();
    b.advance(99);
    assert.equal(sent(), before);
    b.advance(1);
    assert.equal(sent(), before + 1);
    b.advance(1000);
    assert.equal(sent(), before + 11);
    const refresh = b.nextFrame('M');
    b.advance(100);
    const m = await refresh;
    assert.deepEqual([m.left, m.right], [0, 0], 'a refresh carries the (zero) target');
  });

  it(`set() fails when no ack comes within ${ACK_TIMEOUT_MS} ms; stop() then resolves anyway`, { timeout: 20_000 }, async (t) => {
    // setInterval too, so no refresh frame is sent meanwhile.
    const b = await playedBoard(t, ['setTimeout', 'setInterval']);
    let outcome = 'pending';
    b.motors.set(0.5, 0.5).then(() => { outcome = 'acked'; }, (e: Error) => { outcome = e.message; });
    await b.nextFrame('M'); // the board got it and says nothing
    b.advance(ACK_TIMEOUT_MS - 1);
    await settle();
    assert.equal(outcome, 'pending');
    b.advance(1);
    await settle();
    assert.match(outcome, /no ack from the motor board within 300 ms/);
    let stopped = false;
    void b.motors.stop().then(() => { stopped = true; });
    await b.nextFrame('S');
    b.advance(ACK_TIMEOUT_MS - 1);
    await settle();
    assert.equal(stopped, false);
    b.advance(1);
    await settle();
    assert.equal(stopped, true, 'a stop is never an exception for the caller');
  });

  it('measures the ack round trip on its clock', { timeout: 20_000 }, async (t) => {
    const b = await playedBoard(t, ['setInterval']); // no refresh frame in between
    const acked = b.motors.set(0.5, 0.5);
    const m = await b.nextFrame('M');
    b.advance(7);
    b.board.write(encodeSerial({ type: 'A', seq: m.seq, code: 0 }), 'latin1');
    assert.deepEqual(await acked, { seq: m.seq, rttMs: 7 });
  });

  it(`reopens a missing port after ${RECONNECT_MIN_MS} ms, doubling to ${RECONNECT_MAX_MS} ms, and from ${RECONNECT_MIN_MS} ms again after it was open`, { timeout: 20_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'havatar-backoff-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The pty exists from the start (made on real time); the bridge opens a link to it that the
    // test creates later, so "the device appears" needs no timer.
    const pair = await createPtyPair(join(dir, 'pty'));
    cleanups.push(() => pair.close());
    const link = join(dir, 'ttyUSB0');
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const motors = new SerialMotors({ path: link });
    cleanups.push(() => motors.close());
    const failed = () => once(motors, 'error');
    /** The link waits exactly `ms`, then tries again. */
    const waitsExactly = (ms: number) => {
      t.mock.timers.tick(ms - 1);
      assert.equal(motors.linkState, 'waiting', `still waiting 1 ms before ${ms} ms`);
      t.mock.timers.tick(1);
      assert.equal(motors.linkState, 'opening', `trying again at ${ms} ms`);
    };
    await motors.open(); // never rejects: the first try failed and the next is scheduled
    assert.equal(motors.linkState, 'waiting');
    for (const ms of [100, 200, 400, 800, 1600, 2000, 2000]) {
      const next = failed();
      waitsExactly(ms);
      await next;
      assert.equal(motors.linkState, 'waiting');
    }
    symlinkSync(pair.hostPath, link);
    waitsExactly(2000);
    const state = () => motors.linkState; // read afresh: the asserts above narrowed the property
    while (state() === 'opening') await settle();
    assert.equal(state(), 'open');
    // The device goes away: the pause starts from the minimum again.
    const lost = failed();
    await pair.close();
    await lost;
    waitsExactly(100);
    await failed();
    waitsExactly(200);
  });
});

describe('simulated ESP32 against raw bytes', () => {
  async function rawRig(opts: { statusIntervalMs?: number } = {}) {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const esp = new SimulatedEsp32({ path: pair.devicePath, ...opts });
    await esp.open();
    cleanups.push(() => esp.close());
    const port = new SerialPort({ path: pair.hostPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    cleanups.push(() => new Promise<void>((res) => port.close(() => res())));
    const frames: SerialFrame[] = [];
    const splitter = new LineSplitter();
    port.on('data', (b: Buffer) => {
      for (const l of splitter.push(b.toString('latin1'))) {
        const d = decodeSerial(l);
        if (d.ok) frames.push(d.frame);
      }
    });
    return { esp, port, frames };
  }

  it('frames a motor command through the pty and acks it', async () => {
    const { esp, port, frames } = await rawRig();
    port.write(encodeSerial({ type: 'M', seq: 7, left: 100, right: -100 }));
    await waitFor('ack', () => frames.some((f) => f.type === 'A' && f.seq === 7), undefined, { timeoutMs: 1000 });
    assert.deepEqual(frames.find((f) => f.type === 'A'), { type: 'A', seq: 7, code: 0 });
    assert.equal(esp.targetLeft, 100);
  });

  it('answers $Q with an ack and then a status frame', async () => {
    // No periodic status: every status frame seen is the answer to the query.
    const { port, frames } = await rawRig({ statusIntervalMs: 3_600_000 });
    port.write(encodeSerial({ type: 'Q', seq: 3 }));
    await waitFor('status after Q', () => frames.filter((f) => f.type !== 'H'), (fs) => fs.some((f) => f.type === 'T'), { timeoutMs: 1000 });
    const answer = frames.filter((f) => f.type !== 'H'); // the hello may come before or after
    assert.deepEqual(answer[0], { type: 'A', seq: 3, code: 0 });
    assert.equal(answer[1]!.type, 'T');
  });

  it('never moves a motor on garbage, bad checksums or out-of-range values, and answers each', async () => {
    const { esp, port, frames } = await rawRig();
    const good = encodeSerial({ type: 'M', seq: 1, left: 200, right: 200 });
    const bad = [
      good.replace(/\*..\n/, '*00\n'), // checksum
      'hello robot\n', // syntax
      `$M,2,200,200,${'9'.repeat(80)}\n`, // too long
      encodeSerial({ type: 'A', seq: 1, code: 0 }), // a device frame sent to the device
      '$M,3,999,0*' + good.slice(-3, -1) + '\n', // out of range with a bad checksum: checksum wins
      encodeSerial({ type: 'M', seq: 4, left: 256, right: 0 }), // out of range: answered with its seq
      Buffer.from([0xff, 0x00, 0x24, 0x0a]).toString('latin1'), // binary noise
    ];
    let moved = false;
    esp.on('frame', () => { moved = true; });
    for (const b of bad) port.write(Buffer.from(b, 'latin1'));
    await waitFor('answers', () => frames.filter((f) => f.type === 'E').length >= 6 && frames.some((f) => f.type === 'A'), undefined, { timeoutMs: 1500 });
    const codes = frames.filter((f) => f.type === 'E').map((f) => (f as { code: number }).code);
    for (const c of [SerialError.checksum, SerialError.syntax, SerialError.tooLong, SerialError.unknownType]) assert.ok(codes.includes(c), `no $E,${c} in ${codes}`);
    assert.deepEqual(frames.find((f) => f.type === 'A'), { type: 'A', seq: 4, code: 1 });
    assert.equal(moved, false);
    assert.equal(esp.targetLeft, 0);
    assert.equal(esp.lastMotorFrames.length, 0);
    assert.equal(esp.framesReceived, 0);
    assert.ok(esp.framesRejected >= 7, `rejected ${esp.framesRejected}`);
    // The link still works after the noise.
    port.write(good);
    await waitFor('good frame after noise', () => esp.targetLeft, (l) => l === 200, { timeoutMs: 1000 });
  });
});

after(() => {
  for (const c of cleanups) void c();
});
