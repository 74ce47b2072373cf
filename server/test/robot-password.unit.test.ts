// Robot password hashing on the relay: scrypt records, old SHA-256 records upgraded once, and the
// bound on checks running and waiting at once (a flood of guesses is turned away, not queued).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
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
  await waitFor('the old record rewritten as scrypt', () => store.robots.get('old')!.secretHash, (h) => h.startsWith('scrypt$'), 5000);
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

test('a password the relay made is stored salted SHA-256 and checked without the gate: a hundred robots at once all pass', async () => {
  const secrets = Array.from({ length: 100 }, (_, i) => `generated-secret-${i}-0123456789abcdef`);
  const store = memoryStore(await Promise.all(secrets.map(async (s, i) => ({ id: `r${i}`, secretHash: await hashRobotPassword(s, 'generated'), createdAt: 1 }))));
  assert.match(store.robots.get('r0')!.secretHash, /^sha256\$[\w-]{22}\$[\w-]{43}$/);
  assert.notEqual(store.robots.get('r0')!.secretHash, (await hashRobotPassword(secrets[0]!, 'generated')), 'salted: the same secret hashes differently');
  const p = new RobotPasswords(store, log);
  const all = await Promise.all(secrets.map((s, i) => p.verify(`r${i}`, s)));
  assert.ok(all.every(Boolean), 'more than the gate holds, none refused');
  assert.equal(await p.verify('r0', secrets[1]!), false);
});

test('a scrypt password once checked is remembered: the robot\'s reconnects skip scrypt, a wrong one does not', async () => {
  const pw = 'right-password-0123456789';
  const store = memoryStore([{ id: 'r', secretHash: await hashRobotPassword(pw), createdAt: 1 }]);
  const p = new RobotPasswords(store, log);
  assert.equal(await p.verify('r', pw), true);
  // More at once than the gate lets run or wait: only a remembered password can all pass.
  const again = await Promise.all(Array.from({ length: CHECKS_AT_ONCE + CHECKS_WAITING + 20 }, () => p.verify('r', pw)));
  assert.ok(again.every(Boolean));
  assert.equal(await p.verify('r', 'guess'), false);
  // Registered again with a new password: the remembered one no longer passes.
  store.robots.set('r', { id: 'r', secretHash: await hashRobotPassword('a-new-password-0123456789'), createdAt: 2 });
  assert.equal(await p.verify('r', pw), false);
});
