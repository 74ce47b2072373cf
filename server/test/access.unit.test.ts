// The relay's access rules on a fake clock, exactly at their boundaries and without waiting: the
// failed-login brake (delay doubling to its cap, 429 for the rest of the window to wrong
// credentials only), invite
// expiry, session expiry (its own TTL, capped by its invite) and refresh. node:test's mock timers
// drive the brake's setTimeout and the Date that Access and the file store read. The wiring in the
// real relay process is in relay.test.ts ('failed logins are slowed…') and hardening.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, mock, test } from 'node:test';
import type { Logger } from '../../common/log.ts';
import { Access } from '../relay/access.ts';
import { RelayLimits } from '../relay/limits.ts';
import { FileStore } from '../relay/store.ts';

const realImmediate = globalThis.setImmediate.bind(globalThis);
/** Lets promise chains run (the file store's methods are async but answer at once). */
const settle = () => new Promise((r) => realImmediate(r));
const T0 = 1_800_000_000_000;
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

let dir = '';
afterEach(() => { mock.timers.reset(); if (dir) rmSync(dir, { recursive: true, force: true }); dir = ''; });

function access(over: Partial<RelayLimits> = {}) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
  dir = mkdtempSync(join(tmpdir(), 'havatar-access-unit-'));
  const now = () => Date.now();
  const limits: RelayLimits = { ...RelayLimits, ...over };
  const failures: string[] = [];
  const a = new Access(new FileStore(dir, now), limits, quiet, 'admin-key', (kind) => failures.push(kind), now);
  return {
    a, limits, failures,
    get t() { return Date.now() - T0; },
    async to(t: number) { mock.timers.tick(t - (Date.now() - T0)); await settle(); },
  };
}

/** Starts a failed login and says how long its answer is held back (exactly, on the fake clock). */
async function brakeOf(a: Access, ip: string, maxMs: number): Promise<number> {
  let done = false;
  void a.failed(ip, 'test').then(() => { done = true; });
  for (let waited = 0; waited <= maxMs; waited++) {
    await settle();
    if (done) return waited;
    mock.timers.tick(1);
  }
  throw new Error(`the failed login was still held back after ${maxMs} ms`);
}

describe('failed-login brake (authFailBaseDelayMs, authFailMaxDelayMs, authFailLockAfter, authFailWindowMs)', () => {
  test('each failure from an address is answered exactly twice as late as the one before, up to the cap', async () => {
    const { a, failures } = access({ authFailBaseDelayMs: 100, authFailMaxDelayMs: 1600, authFailLockAfter: 20 });
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) delays.push(await brakeOf(a, '10.0.0.1', 2000));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 1600, 1600]);
    assert.equal(await brakeOf(a, '10.0.0.2', 2000), 100, 'another address starts at the base delay');
    assert.equal(failures.length, 8);
  });

  test('an address is locked at authFailLockAfter failures and unlocked the ms its oldest failure leaves the window', async () => {
    const c = access({ authFailBaseDelayMs: 1, authFailMaxDelayMs: 1, authFailLockAfter: 3, authFailWindowMs: 60_000 });
    for (const t of [0, 10, 20]) {
      assert.equal(c.a.locked('10.0.0.1'), false, `before the failure at ${t}`);
      await c.to(t);
      void c.a.failed('10.0.0.1', 'test');
    }
    assert.equal(c.a.locked('10.0.0.1'), true, 'three failures: locked');
    assert.equal(c.a.locked('10.0.0.9'), false, 'another address is not');
    await c.to(59_999);
    assert.equal(c.a.locked('10.0.0.1'), true, 'at 59 999 ms all three are within the window');
    await c.to(60_000);
    assert.equal(c.a.locked('10.0.0.1'), false, 'at 60 000 ms the failure at 0 has left it');
    void c.a.failed('10.0.0.1', 'test');
    assert.equal(c.a.locked('10.0.0.1'), true, 'one more failure locks it again');
    await c.to(60_010);
    assert.equal(c.a.locked('10.0.0.1'), false, 'and the one at 10 leaves at 60 010');
  });

  test('a locked address: a right credential still passes MediaMTX\'s question, a wrong one is held back and gets 429', async () => {
    // One proxy, NAT or attacker can share an address with operators: its failures must not
    // refuse their credentials (they were refused unchecked, which locked everyone out).
    const c = access({ authFailBaseDelayMs: 5, authFailMaxDelayMs: 5, authFailLockAfter: 3 });
    const session = (await c.a.redeemInvite((await c.a.createInvite('sim', 'viewer', 3_600_000)).token))!;
    for (let i = 0; i < 3; i++) void c.a.failed('10.0.0.1', 'test');
    assert.equal(c.a.locked('10.0.0.1'), true);
    const ask = (token: string) => c.a.decideMediamtx({ ip: '10.0.0.1', action: 'read', path: 'robots/sim', token });
    assert.deepEqual(await ask(session.token), { allow: true, who: `session:${session.session.id}`, session: session.session });
    let answer: unknown = null;
    void ask('hs_wrong').then((d) => { answer = d; });
    for (let t = 0; t < 5; t++) { await settle(); mock.timers.tick(1); }
    await settle();
    assert.deepEqual(answer, { allow: false, status: 429, reason: 'too many failed logins' }, 'answered after the brake\'s 5 ms');
  });

  test('the delay counts only the failures within the window', async () => {
    const c = access({ authFailBaseDelayMs: 100, authFailMaxDelayMs: 3200, authFailLockAfter: 20, authFailWindowMs: 10_000 });
    assert.equal(await brakeOf(c.a, 'ip', 5000), 100, 'failure at 0');
    assert.equal(await brakeOf(c.a, 'ip', 5000), 200, 'failure at 100');
    await c.to(10_099);
    assert.equal(await brakeOf(c.a, 'ip', 5000), 200, 'at 10 099 the one at 0 has left the window, the one at 100 counts');
    await c.to(20_099);
    assert.equal(await brakeOf(c.a, 'ip', 5000), 100, 'at 20 099 the one at 10 099 has left it too');
  });
});

describe('invites and sessions', () => {
  test('an invite can be redeemed until the ms before it expires', async () => {
    const c = access();
    const inv = await c.a.createInvite('sim', 'driver', 5000);
    assert.equal(inv.expiresAt, T0 + 5000);
    await c.to(4999);
    assert.ok(await c.a.redeemInvite(inv.token), 'at 4 999 ms');
    await c.to(5000);
    assert.equal(await c.a.redeemInvite(inv.token), null, 'at 5 000 ms');
  });

  test('a session token works until the ms before sessionTtlMs', async () => {
    const c = access({ sessionTtlMs: 60_000 });
    const inv = await c.a.createInvite('sim', 'viewer', 3_600_000);
    await c.to(1000);
    const s = (await c.a.redeemInvite(inv.token))!;
    assert.equal(s.session.expiresAt, T0 + 61_000);
    await c.to(60_999);
    assert.equal((await c.a.verifySession(s.token))?.id, s.session.id);
    assert.ok(await c.a.sessionLive(s.session.id));
    await c.to(61_000);
    assert.equal(await c.a.verifySession(s.token), null);
    assert.equal(await c.a.sessionLive(s.session.id), null);
  });

  test('a session never outlives its invite', async () => {
    const c = access({ sessionTtlMs: 60_000 });
    const inv = await c.a.createInvite('sim', 'driver', 5000);
    await c.to(1000);
    const s = (await c.a.redeemInvite(inv.token))!;
    assert.equal(s.session.expiresAt, T0 + 5000, 'capped by the invite');
    await c.to(4999);
    assert.ok(await c.a.verifySession(s.token));
    await c.to(5000);
    assert.equal(await c.a.verifySession(s.token), null);
  });

  test('a refresh gives a new token with a fresh TTL (the old one dies at once), but not past the invite, and not after it', async () => {
    const c = access({ sessionTtlMs: 60_000 });
    const inv = await c.a.createInvite('sim', 'driver', 100_000);
    const s = (await c.a.redeemInvite(inv.token))!;
    await c.to(50_000);
    const r = (await c.a.refreshSession(s.session))!;
    assert.equal(r.session.expiresAt, T0 + 100_000, 'now + 60 s would pass the invite: capped');
    assert.equal(await c.a.verifySession(s.token), null, 'the old token stops working');
    await c.to(30_000 + 50_000);
    assert.ok(await c.a.verifySession(r.token), 'the new one outlives the old expiry (60 000)');
    await c.to(100_000);
    assert.equal(await c.a.verifySession(r.token), null);
    assert.equal(await c.a.refreshSession(r.session), null, 'no refresh once the invite has expired');
  });

  test('a refresh early in a long invite extends the session by sessionTtlMs from the refresh', async () => {
    const c = access({ sessionTtlMs: 60_000 });
    const inv = await c.a.createInvite('sim', 'driver', 3_600_000);
    const s = (await c.a.redeemInvite(inv.token))!;
    await c.to(59_999);
    const r = (await c.a.refreshSession(s.session))!;
    assert.equal(r.session.expiresAt, T0 + 59_999 + 60_000);
    await c.to(119_998);
    assert.ok(await c.a.verifySession(r.token));
    await c.to(119_999);
    assert.equal(await c.a.verifySession(r.token), null);
  });
});
