// The failed-login brake on an injected clock, exactly at its boundaries. The wiring (a wrong
// token answered late) is tested where each server uses it: bridge/test/auth.test.ts,
// server/test/access.unit.test.ts and server/test/hardening.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginBrake, type LoginBrakeOptions } from './login-brake.ts';

const MINUTE = 60_000;

function brake(o: Partial<LoginBrakeOptions> = {}) {
  let ms = 1_000_000;
  const b = new LoginBrake({ baseDelayMs: 100, maxDelayMs: 5000, windowMs: 10 * MINUTE, now: () => ms, ...o });
  return { b, at: (t: number) => { ms = t; }, now: () => ms };
}

describe('LoginBrake (injected clock)', () => {
  it('each failure from an address doubles its delay from the base, up to the cap', () => {
    const { b } = brake();
    const delays = Array.from({ length: 9 }, () => b.fail('10.0.0.1'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it("other addresses are not slowed by someone else's failures", () => {
    const { b } = brake();
    for (let i = 0; i < 5; i++) b.fail('10.0.0.1');
    assert.equal(b.fail('10.0.0.2'), 100);
    assert.equal(b.failuresOf('10.0.0.3'), 0);
  });

  it("a success forgets the address's failures", () => {
    const { b } = brake();
    for (let i = 0; i < 5; i++) b.fail('10.0.0.1');
    b.succeed('10.0.0.1');
    assert.equal(b.failuresOf('10.0.0.1'), 0);
    assert.equal(b.fail('10.0.0.1'), 100);
  });

  it('a failure counts for exactly the window: 1 ms less still counts', () => {
    const { b, at, now } = brake();
    b.fail('10.0.0.1');
    b.fail('10.0.0.1');
    const t0 = now();
    at(t0 + 10 * MINUTE - 1);
    assert.equal(b.fail('10.0.0.1'), 400, 'third failure, 1 ms before the first two leave the window');
    at(now() + 10 * MINUTE);
    assert.equal(b.fail('10.0.0.1'), 100, 'a window after the last: a first failure again');
    assert.equal(b.failuresOf('10.0.0.1'), 1);
  });

  it('locks an address at lockAfter failures, until the ms its oldest leaves the window', () => {
    const { b, at } = brake({ lockAfter: 3, windowMs: MINUTE });
    for (const t of [0, 10, 20]) {
      assert.equal(b.locked('a'), false, `before the failure at ${t}`);
      at(t);
      b.fail('a');
    }
    assert.equal(b.locked('a'), true);
    assert.equal(b.locked('b'), false, 'another address is not');
    at(MINUTE - 1);
    assert.equal(b.locked('a'), true);
    at(MINUTE);
    assert.equal(b.locked('a'), false, 'the failure at 0 has left the window');
  });

  it('without lockAfter an address is only slowed, never locked', () => {
    const { b } = brake();
    for (let i = 0; i < 100; i++) b.fail('a');
    assert.equal(b.locked('a'), false);
  });

  it('keeps at most maxAddresses, dropping the one that failed longest ago', () => {
    const { b, at, now } = brake({ maxAddresses: 4096 });
    for (let i = 0; i < 4096; i++) { at(now() + 1); b.fail(`a${i}`); }
    at(now() + 1);
    b.fail('a0'); // a0 failed again: now a1 is the oldest
    b.fail('newcomer');
    assert.equal(b.size, 4096);
    assert.equal(b.failuresOf('a1'), 0, 'the oldest was dropped');
    assert.equal(b.failuresOf('a0'), 2);
    assert.equal(b.failuresOf('newcomer'), 1);
    assert.equal(b.failuresOf('a4095'), 1);
  });

  it('a flood of distinct addresses never grows it past the cap', () => {
    const { b } = brake({ maxAddresses: 100, lockAfter: 20 });
    for (let i = 0; i < 10_000; i++) b.fail(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(b.size, 100);
  });

  it('per address it keeps only the failures that still change the answer', () => {
    const { b } = brake({ baseDelayMs: 100, maxDelayMs: 3200, lockAfter: 20 });
    for (let i = 0; i < 1000; i++) b.fail('a');
    assert.equal(b.failuresOf('a'), 20, 'enough for the lockout');
    assert.equal(b.locked('a'), true);
    assert.equal(b.fail('a'), 3200);
  });
});
