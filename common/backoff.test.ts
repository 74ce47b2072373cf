import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from './backoff.ts';

test('the pause doubles per attempt from baseMs and stops at maxMs', () => {
  const o = { baseMs: 500, maxMs: 8000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, o)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
});

test('with jitter the pause lands in [ceiling/2, ceiling]', () => {
  const o = { baseMs: 500, maxMs: 8000, jitter: true };
  assert.equal(backoffDelay(1, o, () => 1), 500);
  assert.equal(backoffDelay(3, o, () => 1), 2000);
  assert.equal(backoffDelay(10, o, () => 1), 8000);
  assert.equal(backoffDelay(10, o, () => 0), 4000);
});

test('Backoff counts failures until reset(); peek() does not count', () => {
  const b = new Backoff({ baseMs: 100, maxMs: 400 });
  assert.equal(b.peek(), 100);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 400]);
  assert.equal(b.failures, 4);
  assert.equal(b.peek(), 400);
  b.reset();
  assert.equal(b.failures, 0);
  assert.equal(b.next(), 100);
});
