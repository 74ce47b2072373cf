// The file store's time rules on an injected clock, exactly at their boundaries: a lease lapses
// the ms its TTL ends (a renewal or a take by the holder extends it, nobody else can take it
// before), and expired invites and sessions are dropped from the state file on the next write.
// (Redis keeps the same rules with PX expiries: redis.test.ts and lease-race.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { FileStore } from '../relay/store.ts';

let dir = '';
afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = ''; });

function store() {
  dir = mkdtempSync(join(tmpdir(), 'havatar-store-unit-'));
  const clock = { t: 1_000_000 };
  return { s: new FileStore(dir, () => clock.t), clock, file: join(dir, 'relay-state.json') };
}
const rec = (client: string) => ({ client, name: null, since: 0 });

describe('file store: the driver lease', () => {
  test('held until the ms before its TTL ends; nobody else can take it before, anyone can from that ms', async () => {
    const { s, clock } = store();
    assert.equal(await s.leaseTake('sim', rec('a'), 1000), true);
    clock.t += 999;
    assert.equal((await s.leaseGet('sim'))?.client, 'a');
    assert.equal(await s.leaseTake('sim', rec('b'), 1000), false, 'b at 999 ms');
    clock.t += 1;
    assert.equal(await s.leaseGet('sim'), null, 'lapsed at 1000 ms');
    assert.equal(await s.leaseTake('sim', rec('b'), 1000), true, 'b at 1000 ms');
  });

  test('a renewal by the holder restarts the TTL; a renewal by anyone else, or after the lapse, does nothing', async () => {
    const { s, clock } = store();
    await s.leaseTake('sim', rec('a'), 1000);
    clock.t += 999;
    assert.equal(await s.leaseRenew('sim', 'b', 1000), false);
    assert.equal(await s.leaseRenew('sim', 'a', 1000), true, 'renewed at 999: now until 1999');
    clock.t += 999;
    assert.equal((await s.leaseGet('sim'))?.client, 'a', 'at 1998');
    clock.t += 1;
    assert.equal(await s.leaseRenew('sim', 'a', 1000), false, 'at 1999 it has lapsed: too late to renew');
    assert.equal(await s.leaseGet('sim'), null);
  });

  test('a take by the holder extends its lease and keeps its record', async () => {
    const { s, clock } = store();
    await s.leaseTake('sim', { client: 'a', name: 'Ana', since: 1 }, 1000);
    clock.t += 500;
    assert.equal(await s.leaseTake('sim', { client: 'a', name: 'other', since: 2 }, 1000), true);
    clock.t += 999;
    assert.deepEqual(await s.leaseGet('sim'), { client: 'a', name: 'Ana', since: 1 }, 'at 1499: held since the first take');
    clock.t += 1;
    assert.equal(await s.leaseGet('sim'), null);
  });

  test('only the holder releases', async () => {
    const { s } = store();
    await s.leaseTake('sim', rec('a'), 1000);
    assert.equal(await s.leaseRelease('sim', 'b'), false);
    assert.equal(await s.leaseRelease('sim', 'a'), true);
    assert.equal(await s.leaseTake('sim', rec('b'), 1000), true);
  });
});

describe('file store: expired records leave the state file on the next write', () => {
  test('an invite or session past its expiry is dropped at the next write; one expiring that very ms stays until the one after', async () => {
    const { s, clock, file } = store();
    const t0 = clock.t;
    await s.putInvite({ id: 'inv', hash: 'h', robot: 'sim', role: 'viewer', expiresAt: t0 + 1000, createdAt: t0 });
    await s.putSession({ id: 'ses', tokenHash: 'th', robot: 'sim', role: 'viewer', inviteId: 'inv', expiresAt: t0 + 1000, createdAt: t0 });
    const onDisk = () => JSON.parse(readFileSync(file, 'utf8')) as { invites: object; sessions: object };
    clock.t = t0 + 1000;
    await s.putRobot({ id: 'r1', secretHash: 'x', createdAt: clock.t });
    assert.deepEqual([Object.keys(onDisk().invites), Object.keys(onDisk().sessions)], [['inv'], ['ses']], 'at the expiry ms (refused by Access, still on disk)');
    clock.t = t0 + 1001;
    await s.putRobot({ id: 'r2', secretHash: 'x', createdAt: clock.t });
    assert.deepEqual([Object.keys(onDisk().invites), Object.keys(onDisk().sessions)], [[], []]);
    assert.equal(await s.getInviteById('inv'), null);
    assert.equal(await s.getSession('ses'), null);
  });
});
