import { expect } from '@open-wc/testing';
import fc from 'fast-check';
import { applyDeadZone, applyExpo, calibrationFrom, limitSpeed, mixDifferential, stickToTracks } from './mix.ts';

describe('joystick vector → differential mix', () => {
  it('drives both tracks forward equally when the stick is pushed straight up', () => {
    expect(mixDifferential({ x: 0, y: 1 })).to.deep.equal({ left: 1, right: 1 });
  });

  it('spins in place when the stick is pushed straight right', () => {
    expect(mixDifferential({ x: 1, y: 0 })).to.deep.equal({ left: 1, right: -1 });
    expect(mixDifferential({ x: -1, y: 0 })).to.deep.equal({ left: -1, right: 1 });
  });

  it('turns by slowing the inner track, keeping the ratio at full speed', () => {
    const t = mixDifferential({ x: 0.5, y: 1 });
    expect(t.left).to.equal(1);
    expect(t.right).to.be.closeTo(1 / 3, 0.001);
  });

  it('reverses both tracks when the stick is pulled back', () => {
    expect(mixDifferential({ x: 0, y: -0.5 })).to.deep.equal({ left: -0.5, right: -0.5 });
  });

  it('ignores a stick resting inside the dead zone', () => {
    expect(applyDeadZone({ x: 0.05, y: -0.05 }, 0.1)).to.deep.equal({ x: 0, y: 0 });
  });

  it('starts from zero at the edge of the dead zone and still reaches full scale', () => {
    const justOut = applyDeadZone({ x: 0, y: 0.11 }, 0.1);
    expect(justOut.y).to.be.closeTo(0.0111, 0.001);
    expect(applyDeadZone({ x: 0, y: 1 }, 0.1).y).to.be.closeTo(1, 1e-9);
  });

  it('makes small deflections finer with expo but keeps full deflection at full speed', () => {
    expect(applyExpo({ x: 0, y: 0.5 }, 1).y).to.be.closeTo(0.125, 1e-9);
    expect(applyExpo({ x: 0, y: 1 }, 1).y).to.be.closeTo(1, 1e-9);
    expect(applyExpo({ x: 0, y: 0.5 }, 0).y).to.be.closeTo(0.5, 1e-9);
  });

  it('caps track speed at the speed limit', () => {
    expect(limitSpeed({ left: 1, right: -1 }, 0.6)).to.deep.equal({ left: 0.6, right: -0.6 });
  });

  it('maps settings percentages to a calibration (100 % sensitivity is linear)', () => {
    const cal = calibrationFrom({ joystickSensitivity: 100, speedLimit: 50 });
    expect(cal.expo).to.equal(0);
    expect(cal.speedLimit).to.equal(0.5);
    expect(stickToTracks({ x: 0, y: 1 }, cal)).to.deep.equal({ left: 0.5, right: 0.5 });
  });

  it('never produces a track speed outside [-limit, limit] for any input, even garbage', () => {
    fc.assert(
      fc.property(fc.double(), fc.double(), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (x, y, expo, limit) => {
        const t = stickToTracks({ x, y }, { deadZone: 0.1, expo, speedLimit: limit });
        // Tracks are rounded to 3 decimals for the wire: allow that half-step.
        return Math.abs(t.left) <= limit + 5e-4 && Math.abs(t.right) <= limit + 5e-4 && Number.isFinite(t.left) && Number.isFinite(t.right);
      }),
    );
  });
});
