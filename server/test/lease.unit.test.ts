// The relay's driver lease (server/relay/lease.ts) on its own: no sockets, no timers, a file store
// and a clock the test moves by hand. What each step shows to this relay (clients and robot) and
// publishes to the others is recorded. The same rules through real sockets: hub.unit.test.ts,
// relay.test.ts; between relays over Redis: lease-race.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../common/log.ts';
import { Lease, leaseFrame, NOBODY, type Driver, type LeaseView } from '../relay/lease.ts';
import { FileStore } from '../relay/store.ts';

let dir = '';
afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = ''; });

const IDLE = 3000;

function setup() {
  dir = mkdtempSync(join(tmpdir(), 'havatar-lease-unit-'));
  const clock = { t: 1_000_000, now: () => clock.t };
  const store = new FileStore(dir, clock.now);
  const shown: LeaseView[] = [];
  const published: LeaseView[] = [];
  const logged: [string, Record<string, unknown>][] = [];
  const log: Logger = { debug() {}, info: (m, f) => logged.push([m, f ?? {}]), warn() {}, error() {}, child: () => log };
  const here = new Map<string, Driver>();
  const lease = new Lease({
    store, limits: { leaseIdleMs: IDLE }, clock, log,
    show: (_robot, l) => shown.push({ driver: l.driver, name: l.name, requestedBy: l.requestedBy, requestedName: l.requestedName }),
    publish: (_robot, l) => published.push(l),
    local: (_robot, id) => here.get(id),
  });
  const client = (id: string, role: 'driver' | 'viewer' = 'driver'): Driver => {
    const d = { robot: 'sim', id, name: id.toUpperCase(), role, lastRenew: 0 };
    here.set(id, d);
    return d;
  };
  return { lease, store, clock, shown, published, logged, here, client };
}

describe('taking the lease', () => {
  test('a driver takes a free lease: the store holds it, this relay and the others are told', async () => {
    const { lease, store, clock, shown, published, logged, client } = setup();
    const a = client('a');
    assert.equal(await lease.take(a), 'taken');
    assert.equal((await store.leaseGet('sim'))?.client, 'a');
    assert.equal(a.lastRenew, clock.t);
    const state = { driver: 'a', name: 'A', requestedBy: null, requestedName: null };
    assert.deepEqual(shown, [state]);
    assert.deepEqual(published, [state]);
    assert.deepEqual(logged, [['lease', { robot: 'sim', driver: 'a' }]]);
    assert.deepEqual(lease.drivers(), { sim: 'a' });
    assert.equal(lease.isDriver('sim', 'a'), true);
  });

  test('a viewer may not; a second driver finds it held; neither changes anything', async () => {
    const { lease, shown, client } = setup();
    await lease.take(client('a'));
    assert.equal(await lease.take(client('v', 'viewer')), 'forbidden');
    assert.equal(await lease.take(client('b')), 'held');
    assert.equal(shown.length, 1);
    assert.equal(lease.known('sim').driver, 'a');
  });

  test('the lease frame tells each client whether it drives, and who asked', () => {
    const l = { driver: 'a', name: 'A', requestedBy: 'b', requestedName: 'B' };
    assert.deepEqual(leaseFrame(l, 'a'), { v: 1, type: 'lease', driver: 'a', driverName: 'A', you: true, requestedBy: 'b' });
    assert.deepEqual(leaseFrame(NOBODY, 'a'), { v: 1, type: 'lease', driver: null, driverName: null, you: false });
  });
});

describe('asking for it and handing it over', () => {
  test('a request while nobody drives means take it; while someone drives, the driver is told who asked', async () => {
    const { lease, shown, client } = setup();
    const a = client('a'), b = client('b');
    assert.equal(lease.request(a), 'take');
    await lease.take(a);
    assert.equal(lease.request(a), 'asked', 'the driver asking again changes nothing');
    assert.equal(shown.length, 1);
    assert.equal(lease.request(b), 'asked');
    assert.deepEqual(shown.at(-1), { driver: 'a', name: 'A', requestedBy: 'b', requestedName: 'B' });
    assert.equal(lease.request(client('v', 'viewer')), 'forbidden');
  });

  test('a release hands the lease to the requester, whose renewal clock starts then', async () => {
    const { lease, store, clock, shown, client } = setup();
    const a = client('a'), b = client('b');
    await lease.take(a);
    lease.request(b);
    clock.t += 500;
    await lease.release('sim', 'a');
    assert.equal((await store.leaseGet('sim'))?.client, 'b');
    assert.deepEqual(shown.at(-1), { driver: 'b', name: 'B', requestedBy: null, requestedName: null });
    assert.equal(b.lastRenew, clock.t);
  });

  test('a release by someone who does not drive does nothing; a release with nobody waiting leaves nobody', async () => {
    const { lease, shown, client } = setup();
    await lease.take(client('a'));
    await lease.release('sim', 'b');
    assert.equal(shown.length, 1);
    await lease.release('sim', 'a');
    assert.deepEqual(shown.at(-1), NOBODY);
    assert.deepEqual(lease.drivers(), {});
  });

  test('a requester that leaves is no longer next', async () => {
    const { lease, shown, client } = setup();
    await lease.take(client('a'));
    lease.request(client('b'));
    lease.withdraw('sim', 'b');
    assert.deepEqual(shown.at(-1), { driver: 'a', name: 'A', requestedBy: null, requestedName: null });
    const before = shown.length;
    lease.withdraw('sim', 'c');
    assert.equal(shown.length, before, 'someone who did not ask: nothing to withdraw');
  });
});

describe('idle time (leaseIdleMs) and renewal', () => {
  test('check() before leaseIdleMs changes nothing; at it, the lease goes to the requester and the expiry is logged', async () => {
    const { lease, clock, shown, logged, client } = setup();
    await lease.take(client('a'));
    lease.request(client('b'));
    const before = shown.length;
    clock.t += IDLE - 1;
    await lease.check('sim');
    assert.equal(shown.length, before);
    clock.t += 1;
    await lease.check('sim');
    assert.deepEqual(shown.at(-1), { driver: 'b', name: 'B', requestedBy: null, requestedName: null });
    assert.ok(logged.some(([m, f]) => m === 'lease expired' && f.driver === 'a'));
  });

  test('renew() writes the store at most once a second: not at 999 ms after the take, at 1000 ms', async () => {
    const { lease, store, clock, client } = setup();
    const writes: number[] = [];
    const renew = store.leaseRenew.bind(store);
    store.leaseRenew = (robot, c, ttl) => { writes.push(clock.t); return renew(robot, c, ttl); };
    const a = client('a');
    const t0 = clock.t;
    await lease.take(a);
    clock.t = t0 + 999;
    lease.renew(a);
    assert.deepEqual(writes, []);
    clock.t = t0 + 1000;
    lease.renew(a);
    assert.deepEqual(writes, [t0 + 1000]);
    clock.t = t0 + IDLE + 999;
    assert.equal((await store.leaseGet('sim'))?.client, 'a', 'renewed at 1000: held until 1000 + leaseIdleMs');
    await lease.check('sim');
    assert.equal(lease.known('sim').driver, 'a');
  });

  test('check() shows a driver the store has that this relay did not know (taken on another relay)', async () => {
    const { lease, store, shown } = setup();
    await store.leaseTake('sim', { client: 'far', name: 'Far', since: 0 }, IDLE);
    await lease.check('sim');
    assert.deepEqual(shown, [{ driver: 'far', name: 'Far', requestedBy: null, requestedName: null }]);
  });
});

describe('news from other relays', () => {
  test('late "nobody" news does not take the lease from a driver connected here; other news is applied', async () => {
    const { lease, here, client } = setup();
    await lease.take(client('a'));
    lease.fromOtherRelay('sim', NOBODY);
    assert.equal(lease.known('sim').driver, 'a', 'a is connected here: only the store takes it away');
    here.delete('a');
    lease.fromOtherRelay('sim', { driver: 'b', name: 'B', requestedBy: null, requestedName: null });
    assert.equal(lease.known('sim').driver, 'b', 'a is not here: the news is applied');
  });
});
