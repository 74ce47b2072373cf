import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from './token-bucket.ts';

const T0 = 1_000_000;
const takes = (b: TokenBucket, n: number, at: number) => Array.from({ length: n }, () => b.take(at)).filter(Boolean).length;

test('a full bucket passes a burst of `burst`, then refuses until a token has refilled', () => {
  const b = new TokenBucket(10, 5, T0);
  assert.equal(takes(b, 8, T0), 5);
  assert.equal(b.take(T0 + 99), false, '99 ms: 0.99 of a token');
  assert.equal(b.take(T0 + 100), true, '100 ms at 10/s: one token');
  assert.equal(b.take(T0 + 100), false);
});

test('a steady sender at the rate is never refused; the bucket never holds more than the burst', () => {
  const b = new TokenBucket(60, 60, T0);
  for (let i = 0; i < 600; i++) assert.equal(b.take(T0 + Math.ceil((i * 1000) / 60)), true, `message ${i}`);
  assert.equal(takes(b, 100, T0 + 60_000), 60, 'an hour of silence still buys only the burst');
});

test('the rate may be given per call (a bucket that grows with a room)', () => {
  const b = new TokenBucket(10, 10, T0);
  assert.equal(takes(b, 10, T0), 10);
  assert.equal(takes(b, 100, T0 + 1000), 10);
  assert.equal([...Array(40)].filter(() => b.take(T0 + 2000, 40, 40)).length, 40, 'a second at 40/s refills 40');
});

test('a clock that steps back refills nothing and does not go negative', () => {
  const b = new TokenBucket(10, 1, T0);
  assert.equal(b.take(T0), true);
  assert.equal(b.take(T0 - 5000), false);
  assert.equal(b.take(T0 - 4900), true, 'from the stepped-back time the refill counts again');
});
