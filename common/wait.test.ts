import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor, WaitTimeout, within } from './wait.ts';

test('waitFor returns the first value its check accepts', async () => {
  let n = 0;
  const v = await waitFor('n to reach 3', () => ++n, (x) => x >= 3, { everyMs: 1 });
  assert.equal(v, 3);
});

test('a waitFor that gives up names what it waited for and the last value seen', async () => {
  let n = 0;
  const err = await waitFor('the wheels to stop', () => ({ left: ++n }), (s) => s.left < 0, { timeoutMs: 30, everyMs: 1 })
    .then(() => null, (e: unknown) => e);
  assert.ok(err instanceof WaitTimeout);
  assert.match(err.message, /timed out after 30 ms waiting for the wheels to stop; last seen: \{"left":\d+\}/);
});

test('a probe that throws is retried, and its error is what the timeout reports', async () => {
  let calls = 0;
  const v = await waitFor('the server', () => { if (++calls < 3) throw new Error('ECONNREFUSED'); return 'up'; }, undefined, { everyMs: 1 });
  assert.equal(v, 'up');
  const err = await waitFor('the server', () => { throw new Error('ECONNREFUSED'); }, undefined, { timeoutMs: 10, everyMs: 1 }).catch((e: unknown) => e);
  assert.match(String(err), /last seen: Error: ECONNREFUSED/);
});

test('within passes the outcome through, or fails naming it', async () => {
  assert.equal(await within('a value', Promise.resolve(7)), 7);
  await assert.rejects(within('the answer', new Promise(() => {}), 10), /timed out after 10 ms waiting for the answer; last seen: "no outcome"/);
});
