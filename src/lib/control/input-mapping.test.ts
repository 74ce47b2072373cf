import { expect } from '@open-wc/testing';
import { readPad, readPads } from './gamepad.ts';
import { isTypingTarget, keysToVector, KeyboardTracker } from './keyboard.ts';

const pad = (axes: number[], pressed: number[] = []) => ({
  axes,
  buttons: Array.from({ length: 16 }, (_, i) => ({ pressed: pressed.includes(i) })),
  connected: true,
});

describe('keyboard mapping', () => {
  it('maps W and the up arrow to forward, S and down to backward', () => {
    expect(keysToVector(new Set(['KeyW']))).to.deep.equal({ x: 0, y: 1 });
    expect(keysToVector(new Set(['ArrowUp']))).to.deep.equal({ x: 0, y: 1 });
    expect(keysToVector(new Set(['KeyS']))).to.deep.equal({ x: 0, y: -1 });
    expect(keysToVector(new Set(['ArrowDown']))).to.deep.equal({ x: 0, y: -1 });
  });

  it('maps A/D and left/right to turning', () => {
    expect(keysToVector(new Set(['KeyA']))).to.deep.equal({ x: -1, y: 0 });
    expect(keysToVector(new Set(['ArrowRight']))).to.deep.equal({ x: 1, y: 0 });
  });

  it('cancels opposite keys and normalises diagonals to the unit circle', () => {
    expect(keysToVector(new Set(['KeyW', 'KeyS']))).to.deep.equal({ x: 0, y: 0 });
    const d = keysToVector(new Set(['KeyW', 'KeyD']));
    expect(Math.hypot(d.x, d.y)).to.be.closeTo(1, 1e-9);
  });

  it('never drives while the operator types in a text box', () => {
    const input = document.createElement('input');
    expect(isTypingTarget(input)).to.equal(true);
    expect(isTypingTarget(document.body)).to.equal(false);
  });

  it('tracks held keys, stops on space, and forgets everything when the window loses focus', () => {
    let stops = 0;
    const target = new EventTarget() as unknown as Window;
    const kb = new KeyboardTracker(() => stops++, target);
    kb.attach();
    const key = (type: string, code: string) => target.dispatchEvent(Object.assign(new KeyboardEvent(type, { code, cancelable: true })));
    key('keydown', 'KeyW');
    expect(kb.vector()).to.deep.equal({ x: 0, y: 1 });
    key('keydown', 'Space');
    expect(stops).to.equal(1);
    expect(kb.active).to.equal(false);
    key('keydown', 'KeyD');
    target.dispatchEvent(new Event('blur'));
    expect(kb.active).to.equal(false);
    kb.detach();
  });
});

describe('gamepad mapping', () => {
  it('treats a stick resting inside the dead zone as released', () => {
    const r = readPad(pad([0.1, -0.1]));
    expect(r.active).to.equal(false);
    expect(r.vector).to.deep.equal({ x: 0, y: 0 });
  });

  it('maps stick up (negative y axis) to forward', () => {
    const r = readPad(pad([0, -1]));
    expect(r.active).to.equal(true);
    expect(r.vector.y).to.be.closeTo(1, 1e-9);
    expect(r.vector.x).to.equal(0);
  });

  it('reports the B / circle button as stop', () => {
    expect(readPad(pad([0, 0], [1])).stop).to.equal(true);
    expect(readPad(pad([0, 0], [0])).stop).to.equal(false);
  });

  it('prefers a pad whose stick moved, and honours a stop from any pad', () => {
    const r = readPads([pad([0, 0]), null, pad([1, 0]), pad([0, 0], [1])])!;
    expect(r.vector.x).to.be.closeTo(1, 1e-9);
    expect(r.stop).to.equal(true);
    expect(readPads([null, null])).to.equal(null);
  });
});
