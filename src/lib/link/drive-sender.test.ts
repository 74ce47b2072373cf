import { expect } from '@open-wc/testing';
import type { Tracks } from '../control/mix.ts';
import { DRIVE_INTERVAL_MS, DriveSender, type DriveSample } from './drive-sender.ts';
import { withFakeClock } from '../../test/fake-clock.ts';
import { waitFor } from '../../../common/wait.ts';

function rig() {
  const calls: string[] = [];
  let live = true;
  let sample: DriveSample = { held: false, tracks: { left: 0, right: 0 } };
  const queue = {
    sendDrive: (t: Tracks) => (live ? (calls.push(`drive ${t.left},${t.right}`), true) : false),
    sendStop: () => (calls.push('stop'), true),
  };
  const sender = new DriveSender(queue, () => sample, () => live);
  return {
    calls, sender,
    hold: (left: number, right: number) => (sample = { held: true, tracks: { left, right } }),
    release: () => (sample = { held: false, tracks: { left: 0, right: 0 } }),
    setLive: (v: boolean) => (live = v),
  };
}

describe('drive loop', () => {
  it('sends the held stick on every tick and one stop on release', () => {
    const r = rig();
    r.hold(0.5, 0.5);
    r.sender.tick();
    r.sender.tick();
    r.release();
    r.sender.tick();
    r.sender.tick();
    expect(r.calls).to.deep.equal(['drive 0.5,0.5', 'drive 0.5,0.5', 'stop']);
  });

  it('sends nothing while no input is held', () => {
    const r = rig();
    r.sender.tick();
    r.sender.tick();
    expect(r.calls).to.deep.equal([]);
  });

  it('after a halt, ignores the still-held stick until it is released once', () => {
    const r = rig();
    r.hold(1, 1);
    r.sender.tick();
    r.sender.halt('tab hidden');
    r.sender.tick();
    expect(r.calls).to.deep.equal(['drive 1,1', 'stop']);
    expect(r.sender.lastHalt?.reason).to.equal('tab hidden');
    r.release();
    r.sender.tick();
    r.hold(1, 1);
    r.sender.tick();
    expect(r.calls.at(-1)).to.equal('drive 1,1');
    expect(r.sender.lastHalt).to.equal(null);
  });

  it('does not send drive when not allowed to drive (not live or not the driver)', () => {
    const r = rig();
    r.setLive(false);
    r.hold(1, 1);
    r.sender.tick();
    expect(r.calls).to.deep.equal([]);
  });

  it('runs on a fixed timer at 25 Hz and stops the robot when stopped, leaving no timer', async () => {
    await withFakeClock(async (clock) => {
      const r = rig();
      r.hold(0.2, 0.2);
      r.sender.start();
      await clock.advance(DRIVE_INTERVAL_MS - 1);
      expect(r.calls).to.deep.equal([], 'nothing before the first tick');
      await clock.advance(1 + 4 * DRIVE_INTERVAL_MS);
      expect(r.calls.filter((c) => c.startsWith('drive'))).to.have.length(5);
      r.sender.stop();
      expect(r.calls.at(-1)).to.equal('stop');
      expect(r.sender.running).to.equal(false);
      expect(clock.pending).to.equal(0);
      await clock.advance(10_000);
      expect(r.calls.filter((c) => c.startsWith('drive'))).to.have.length(5);
    });
  });

  it('keeps the 40 ms pace with real timers (the wiring)', async () => {
    const r = rig();
    r.hold(0.2, 0.2);
    r.sender.start();
    await waitFor('three drive ticks', () => r.calls.length, (n) => n >= 3, 2000);
    r.sender.stop();
    expect(r.calls.at(-1)).to.equal('stop');
  });
});
