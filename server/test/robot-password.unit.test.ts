// Robot password hashing on the relay: scrypt records, old SHA-256 records upgraded once, and the
// bound on checks running and waiting at once (a flood of guesses is turned away, not queued).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { CHECKS_AT_ONCE, CHECKS_WAITING, hashRobotPassword, RobotPasswords } from '../../server/relay/robot-password.ts';
import type { RobotRecord } from '../../server/relay/store.ts';

function memoryStore(records: RobotRecord[]) {
  const robots = new Map(records.map((r) => [r.id, r]));
  return { robots, getRobot: async (id: string) => robots.get(id) ?? null, putRobot: async (r: RobotRecord) => { robots.set(r.id, r); } };
}
const log = createLogger('test');

test('a scrypt record verifies only its password; a SHA-256 record verifies and is rewritten once', async () => {
  const pw = 'a-password-chosen-by-someone';
  const store = memoryStore([
    { id: 'new', secretHash: await hashRobotPassword(pw), createdAt: 5 },
    { id: 'old', secretHash: createHash('sha256').update(pw).digest('hex'), createdAt: 7 },
  ]);
  const p = new RobotPasswords(store, log);
  assert.equal(await p.verify('new', 'wrong'), false);
  assert.equal(await p.verify('nobody', pw), false);
  assert.equal(await p.verify('new', pw), true);
  assert.equal(await p.verify('old', 'wrong'), false);
  assert.match(store.robots.get('old')!.secretHash, /^[0-9a-f]{64}$/, 'a wrong password upgrades nothing');
  assert.equal(await p.verify('old', pw), true);
  assert.match(store.robots.get('old')!.secretHash, /^scrypt\$/);
  assert.equal(store.robots.get('old')!.createdAt, 7);
  assert.equal(await p.verify('old', pw), true, 'the upgraded record still takes the same password');
  assert.equal(p.generation('old'), 7);
  assert.equal(await p.standing('old', 7), true);
  store.robots.set('old', { ...store.robots.get('old')!, createdAt: 8 });
  assert.equal(await p.standing('old', 7), false, 'registered again: the old generation no longer stands');
});

test('a flood of checks: a few run, a few wait, the rest are refused at once with 503', async () => {
  const store = memoryStore([{ id: 'r', secretHash: await hashRobotPassword('right-password-0123456789'), createdAt: 1 }]);
  const p = new RobotPasswords(store, log);
  const flood = CHECKS_AT_ONCE + CHECKS_WAITING + 20;
  const results = await Promise.allSettled(Array.from({ length: flood }, () => p.verify('r', 'guess')));
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 20);
  for (const r of refused) assert.equal((r.reason as { status: number }).status, 503);
  assert.ok(results.every((r) => r.status === 'rejected' || r.value === false));
  assert.equal(await p.verify('r', 'right-password-0123456789'), true, 'once the flood has drained, the right password passes');
});
