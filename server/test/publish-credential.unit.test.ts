// The robot's relay-issued media credential: accepted for its robot only, while unexpired, while
// the robot record it was issued for stands, and only by relays that share the hook's secret.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRelayToRobot } from '../../protocol/relay.ts';
import { PublishCredentials } from '../../server/relay/publish-credential.ts';
import type { RobotRecord, Store } from '../../server/relay/store.ts';

function memoryStore(records: RobotRecord[]): Store & { robots: Map<string, RobotRecord> } {
  const robots = new Map(records.map((r) => [r.id, r]));
  return { robots, getRobot: async (id: string) => robots.get(id) ?? null, putRobot: async (r: RobotRecord) => { robots.set(r.id, r); } } as unknown as Store & { robots: Map<string, RobotRecord> };
}
const SECRET = 'a-hook-secret-of-enough-length';

test('a credential opens its own robot until it expires, and passes the robot\'s frame validator', async () => {
  let now = 1_000_000;
  const store = memoryStore([{ id: 'r1', secretHash: 'x', createdAt: 5 }, { id: 'r2', secretHash: 'y', createdAt: 6 }]);
  const pc = new PublishCredentials(store, 60_000, SECRET, () => now);
  const m = await pc.issue('r1');
  assert.ok(m);
  assert.equal(m.user, 'r1');
  assert.equal(m.expiresAt, now + 60_000);
  assert.equal(parseRelayToRobot(JSON.stringify(m)).ok, true);
  assert.equal(await pc.verify('r1', 'r1', m.password), true);
  assert.equal(await pc.verify('r2', 'r2', m.password), false, 'another robot');
  assert.equal(await pc.verify('r1', 'r2', m.password), false, 'another user');
  assert.equal(await pc.verify('r1', undefined, m.password), false, 'no user');
  const flipped = m.password.slice(0, -1) + (m.password.endsWith('A') ? 'B' : 'A');
  assert.equal(await pc.verify('r1', 'r1', flipped), false, 'tampered');
  // A later expiry written into the credential breaks its MAC.
  const later = `hp_${(now + 10 * 60_000).toString(16).padStart(12, '0')}${m.password.slice(15)}`;
  assert.equal(await pc.verify('r1', 'r1', later), false, 'expiry moved');
  assert.equal(await new PublishCredentials(store, 60_000, 'another-secret-of-enough-length', () => now).verify('r1', 'r1', m.password), false, 'another relay family');
  assert.equal(await new PublishCredentials(store, 60_000, SECRET, () => now).verify('r1', 'r1', m.password), true, 'another relay with the same secret');
  now += 60_000;
  assert.equal(await pc.verify('r1', 'r1', m.password), false, 'expired');
});

test('registering the robot again voids its credentials; an unknown robot gets none', async () => {
  const store = memoryStore([{ id: 'r1', secretHash: 'x', createdAt: 5 }]);
  const pc = new PublishCredentials(store, 60_000, SECRET);
  const m = (await pc.issue('r1'))!;
  store.robots.set('r1', { id: 'r1', secretHash: 'z', createdAt: 9 });
  assert.equal(await pc.verify('r1', 'r1', m.password), false);
  assert.equal(await pc.issue('nobody'), null);
});

test('bad credential frames are refused by the robot\'s validator, naming the field', () => {
  const ok = { v: 1, type: 'publish_credential', user: 'r1', password: `hp_${'a'.repeat(71)}`, expiresAt: 5 };
  assert.equal(parseRelayToRobot(JSON.stringify(ok)).ok, true);
  for (const [field, bad] of [['password', 'plain-password-123456789'], ['user', 'a/b'], ['expiresAt', -1], ['password', `hp_${'a'.repeat(200)}`]] as const) {
    const r = parseRelayToRobot(JSON.stringify({ ...ok, [field]: bad }));
    assert.equal(r.ok, false, `${field}=${String(bad)}`);
    if (!r.ok) assert.equal(r.field, field);
  }
});
