import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATTERY_EMPTY_MV, BATTERY_FULL_MV, MAX_TRACK_SPEED_MPS, SimWorld, TRACK_WIDTH_M } from './world.ts';

const run = (w: SimWorld, l: number, r: number, ms: number) => { for (let t = 0; t < ms; t += 10) w.update(l, r, 10); };

describe('SimWorld', () => {
  it('drives straight ahead at full PWM at the named top speed', () => {
    const w = new SimWorld();
    run(w, 255, 255, 1000);
    assert.ok(Math.abs(w.pose.x - MAX_TRACK_SPEED_MPS) < 1e-6);
    assert.ok(Math.abs(w.pose.y) < 1e-9);
    assert.equal(w.pose.heading, 0);
  });
  it('spins in place counter-clockwise when the right track leads', () => {
    const w = new SimWorld();
    const quarterTurnMs = ((Math.PI / 2) * TRACK_WIDTH_M) / (2 * MAX_TRACK_SPEED_MPS) * 1000;
    run(w, -255, 255, Math.round(quarterTurnMs / 10) * 10);
    assert.ok(Math.abs(w.pose.heading - Math.PI / 2) < 0.05, `heading ${w.pose.heading}`);
    assert.ok(Math.hypot(w.pose.x, w.pose.y) < 1e-9);
  });
  it('does not move below the PWM dead band or on nonsense input', () => {
    const w = new SimWorld();
    run(w, 10, -10, 1000);
    w.update(Number.NaN, Number.NaN, 10);
    w.update(255, 255, Number.NaN);
    w.update(255, 255, -5);
    assert.deepEqual(w.pose, { x: 0, y: 0, heading: 0 });
  });
  it('drains the battery faster while driving than idle, and sags under load', () => {
    const idle = new SimWorld();
    const driving = new SimWorld();
    run(idle, 0, 0, 60_000);
    run(driving, 255, 255, 60_000);
    const sagging = driving.batteryMv;
    driving.update(0, 0, 10);
    const rested = driving.batteryMv;
    assert.ok(sagging < rested, 'no sag under load');
    const idleDrop = BATTERY_FULL_MV - idle.batteryMv;
    const driveDrop = BATTERY_FULL_MV - rested;
    assert.ok(driveDrop > 10 * idleDrop, `drive ${driveDrop} mV vs idle ${idleDrop} mV per minute`);
    // Visible within minutes, not seconds: a minute of full driving costs 100-600 mV of 2000.
    assert.ok(driveDrop > 100 && driveDrop < 600, `drive drop ${driveDrop} mV`);
  });
  it('never reads below empty and can be set for tests', () => {
    const w = new SimWorld();
    run(w, 255, 255, 30 * 60_000);
    w.update(0, 0, 10);
    assert.ok(w.batteryMv >= BATTERY_EMPTY_MV - 100 && w.batteryMv <= BATTERY_EMPTY_MV);
    w.setBatteryMv(7500);
    w.update(0, 0, 10);
    assert.ok(Math.abs(w.batteryMv - 7500) < 20);
  });
});
