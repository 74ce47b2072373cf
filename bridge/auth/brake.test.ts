// The failed-login brake on an injected clock: the delay per failure, its cap, and when an address
// is forgotten, exactly at the boundaries. The real-time test of the wiring (a wrong token over
// HTTP is answered late) is bridge/test/auth.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureBrake } from './brake.ts';

const MINUTE = 60_000;

function brake() {
  let ms = 1_000_000;
  const b = new FailureBrake(() => ms);
  return { b, at: (t: number) => { ms = t; }, now: () => ms };
}

describe('FailureBrake (injected clock)', () => {
  it('each failure from an address doubles its delay from 100 ms, capped at 5 s', () => {
    const { b } = brake();
    const delays = Array.from({ length: 9 }, () => b.fail('10.0.0.1'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    assert.equal(b.failuresOf('10.0.0.1'), 9);
  });

  it('other addresses are not slowed by someone else\'s failures', () => {
    const { b } = brake();
    for (let i = 0; i < 5; i++) b.fail('10.0.0.1');
    assert.equal(b.fail('10.0.0.2'), 100);
    assert.equal(b.failuresOf('10.0.0.3'), 0);
  });

  it('a success forgets the address\'s failures', () => {
    const { b } = brake();
    for (let i = 0; i < 5; i++) b.fail('10.0.0.1');
    b.succeed('10.0.0.1');
    assert.equal(b.failuresOf('10.0.0.1'), 0);
    assert.equal(b.fail('10.0.0.1'), 100);
  });

  it('failures are forgotten after 10 quiet minutes: 1 ms less still counts', () => {
    const { b, at, now } = brake();
    b.fail('10.0.0.1');
    b.fail('10.0.0.1'); // last failure at t0
    const t0 = now();
    at(t0 + 10 * MINUTE - 1);
    assert.equal(b.fail('10.0.0.1'), 400, 'third failure, 1 ms before the memory runs out');
    at(now() + 10 * MINUTE);
    assert.equal(b.fail('10.0.0.1'), 100, 'exactly 10 quiet minutes later: a first failure again');
    assert.equal(b.failuresOf('10.0.0.1'), 1);
  });

  it('keeps at most 4096 addresses, dropping the one that failed longest ago', () => {
    const { b, at, now } = brake();
    for (let i = 0; i < 4096; i++) { at(now() + 1); b.fail(`a${i}`); }
    at(now() + 1);
    b.fail('a0'); // a0 failed again: now a1 is the oldest
    b.fail('newcomer');
    assert.equal(b.failuresOf('a1'), 0, 'the oldest was dropped');
    assert.equal(b.failuresOf('a0'), 2);
    assert.equal(b.failuresOf('newcomer'), 1);
    assert.equal(b.failuresOf('a4095'), 1);
  });
});
