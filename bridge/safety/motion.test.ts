// Motion's time rules on a fake clock: the deadman as the handlers use it (only the driver in
// command feeds it; a zero command does not arm it) and the ttl re-checked right before applying.
// The real-time tests of the wiring over a WebSocket are bridge/test/safety.test.ts.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import type { MotorState, Motors } from '../hardware/types.ts';
import { Motion, type StopEvent } from './motion.ts';

setLogLevel('error');

class FakeMotors extends EventEmitter implements Motors {
  calls: string[] = [];
  state: MotorState = { left: 0, right: 0, connected: true, watchdogTripped: false, battery: null, port: 'fake', framesSent: 0, framesRejected: 0 };
  async open(): Promise<void> {}
  async set(left: number, right: number): Promise<{ seq: number; rttMs: number }> {
    this.calls.push(`set ${left} ${right}`);
    return { seq: this.calls.length, rttMs: 1 };
  }
  async stop(): Promise<void> { this.calls.push('stop'); }
  async close(): Promise<void> {}
}

function rig(t: TestContext, deadmanMs = 250) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let ms = 1_000_000;
  const motors = new FakeMotors();
  const motion = new Motion(motors, deadmanMs, createLogger('test'), () => ms);
  t.after(() => motion.close());
  const stops: StopEvent[] = [];
  motion.on('stopped', (e: StopEvent) => stops.push(e));
  let seq = 0;
  const cmd = (left: number, right: number, ttl = 200) => ({ seq: ++seq, t: ms, ttl, left, right });
  return {
    motors, motion, stops, cmd,
    now: () => ms,
    advance(by: number) { for (let i = 0; i < by; i++) { ms++; t.mock.timers.tick(1); } },
  };
}

describe('Motion (fake clock)', () => {
  it('a moving command arms the deadman: stopped exactly 250 ms after the last sign of life from the driver', async (t) => {
    const r = rig(t);
    assert.equal((await r.motion.command('a', r.cmd(0.5, 0.5))).result, 'applied');
    r.advance(200);
    r.motion.feed('a'); // heartbeat from the driver
    r.advance(249);
    assert.equal(r.stops.length, 0);
    r.advance(1);
    assert.deepEqual(r.stops.map((s) => [s.reason, s.by, s.at - 1_000_000]), [['deadman', 'a', 450]]);
    assert.equal(r.motors.calls.at(-1), 'stop');
    assert.equal(r.motion.isMoving, false);
  });

  it('a heartbeat from anyone but the driver in command does not feed it', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0.5, 0.5));
    r.advance(200);
    r.motion.feed('b');
    r.advance(50);
    assert.deepEqual(r.stops.map((s) => s.reason), ['deadman']);
  });

  it('a zero command does not arm it (nothing to stop), a moving one after it does', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0, 0));
    r.advance(1000);
    assert.equal(r.stops.length, 0);
    await r.motion.command('a', r.cmd(-1, 1));
    r.advance(250);
    assert.deepEqual(r.stops.map((s) => s.reason), ['deadman']);
  });

  it('a command that waited longer than its ttl before being applied is expired and never reaches the motors', async (t) => {
    const r = rig(t);
    // Arrived 100 ms ago with ttl 100: still fresh.
    const fresh = { ...r.cmd(0.3, 0.3, 100), t: r.now() - 100 };
    assert.equal((await r.motion.command('a', fresh, r.now() - 100)).result, 'applied');
    // Arrived 101 ms ago: it sat somewhere too long.
    const stale = { ...r.cmd(0.9, 0.9, 100), t: r.now() - 101 };
    const out = await r.motion.command('a', stale, r.now() - 101);
    assert.deepEqual([out.result, out.reason], ['expired', 'waited longer than its ttl']);
    assert.deepEqual(r.motors.calls, ['set 0.3 0.3']);
  });

  it('the driver leaving stops at once; another session leaving does not', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0.5, 0.5));
    await r.motion.sessionGone('b');
    assert.equal(r.stops.length, 0);
    await r.motion.sessionGone('a');
    assert.deepEqual(r.stops.map((s) => [s.reason, s.by, s.at - 1_000_000]), [['disconnect', 'a', 0]]);
    r.advance(1000);
    assert.equal(r.stops.length, 1, 'the deadman was disarmed by the stop');
  });
  // Pins the deadman rule as the bridge applies it: the robot is stopped exactly deadmanMs after
  // the driver sent its last command or heartbeat, however long that took to arrive.
  it('a command held up in transit: stopped exactly 250 ms after it was sent, not after it arrived', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0.5, 0.5)); // on pace: transit 0
    r.advance(40);
    const sent = r.now();
    const held = r.cmd(0.5, 0.5, 300);
    r.advance(180); // a stalled socket holds it 180 ms
    assert.equal((await r.motion.command('a', held)).result, 'applied');
    r.advance(69);
    assert.equal(r.stops.length, 0);
    r.advance(1);
    assert.deepEqual(r.stops.map((s) => [s.reason, s.at - sent]), [['deadman', 250]]);
  });

  it('a moving command sent a whole deadman time ago is expired and never moves the robot; a late stop is applied', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0, 0)); // sets the pace
    const old = r.cmd(0.8, 0.8, 1000);
    r.advance(250);
    const out = await r.motion.command('a', old);
    assert.deepEqual([out.result, out.reason], ['expired', 'sent longer ago than the deadman time']);
    const almost = r.cmd(0.4, 0.4, 1000);
    r.advance(249);
    assert.equal((await r.motion.command('a', almost)).result, 'applied', '249 ms old: 1 ms left');
    r.advance(1);
    assert.deepEqual(r.stops.map((s) => s.reason), ['deadman']);
    const lateStop = r.cmd(0, 0, 1000);
    r.advance(400);
    assert.equal((await r.motion.command('a', lateStop)).result, 'applied');
    assert.deepEqual(r.motors.calls, ['set 0 0', 'set 0.4 0.4', 'stop', 'set 0 0']);
  });

  it('a heartbeat counts from when it was sent (its t against the pace)', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0.5, 0.5)); // pace 0, armed at 0
    r.advance(200);
    const beatSent = r.now() - 150; // sent at 50, arrived at 200
    r.motion.feed('a', beatSent);
    r.advance(99);
    assert.equal(r.stops.length, 0);
    r.advance(1);
    assert.deepEqual(r.stops.map((s) => [s.reason, s.at - 1_000_000]), [['deadman', 300]]);
  });

  it('with the driver\'s round trip known, stopped 250 ms after it sent its last command, though it arrived one transit later', async (t) => {
    const r = rig(t);
    // Every command takes 30 ms to arrive; the pace (arrival - t) cannot tell that from a clock offset.
    const sentAt = r.now();
    const c = r.cmd(0.5, 0.5, 300);
    r.advance(30);
    r.motion.noteRoundTrip('a', 60);
    assert.equal((await r.motion.command('a', c)).result, 'applied');
    r.advance(219);
    assert.equal(r.stops.length, 0);
    r.advance(1);
    assert.deepEqual(r.stops.map((s) => [s.reason, s.at - sentAt]), [['deadman', 250]], 'not 280');
  });

  it('the stop frame goes to the motors before anyone is told', async (t) => {
    const r = rig(t);
    await r.motion.command('a', r.cmd(0.5, 0.5));
    const seen: string[] = [];
    r.motion.on('stopped', () => seen.push(`told after ${r.motors.calls.at(-1)}`));
    r.advance(250);
    assert.deepEqual(seen, ['told after stop']);
  });
});
