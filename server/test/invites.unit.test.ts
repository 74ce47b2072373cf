// Invite uses in both stores, without a relay process: a use is claimed in one step (racing claims
// of a single-use invite: one wins, in the file store and in Redis shared by several relays), the
// redemption list is bounded, an invite saved before invites had a limit stays unlimited, and
// Invites answers a used invite with its own 410. The relay process and its CLI:
// invites-single-use.test.ts.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Logger } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
import { HttpError } from '../relay/http.ts';
import { hashSecret, Invites, parseUses } from '../relay/invites.ts';
import { RelayLimits } from '../relay/limits.ts';
import { FileStore, REDEMPTIONS_KEPT, RedisStore, type InviteRecord, type Store } from '../relay/store.ts';
import { startRedis, stopAll, tempDir } from './helpers.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const record = (over: Partial<InviteRecord> = {}): InviteRecord => ({
  id: 'inv1', hash: hashSecret('hi_x'), robot: 'sim', role: 'viewer', expiresAt: Date.now() + 3_600_000, createdAt: Date.now(), ...over,
});
// Real clock values: Redis' Lua (cjson) must carry 13-digit millisecond times unchanged.
const T = 1_796_640_395_582;
const use = (n: number) => ({ at: T + n, ip: `10.0.0.${n % 250}`, session: `s${n}` });

let redisUrl: string | null = null;
before(async () => { redisUrl = (await startRedis())?.url ?? null; });
after(stopAll);

/** Stores opened by a test, closed after it whatever its outcome (an open Redis client keeps the process alive). */
const open: Store[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

/** Each backend: `make(dir)` opens one more store on the same state (the same file, the same Redis). */
function stores(): [string, (dir: string) => Promise<Store>][] {
  return [
    ['file store', async (dir) => { const s = new FileStore(dir); open.push(s); return s; }],
    ['redis store', async () => {
      if (!redisUrl) throw new Error('redis-server is not installed');
      const s = new RedisStore(redisUrl);
      open.push(s);
      await waitFor('redis to answer', () => s.ping().then(() => true, () => false), (ok) => ok, 5000);
      return s;
    }],
  ];
}

for (const [name, make] of stores()) {
  describe(`invite uses in the ${name}`, () => {
    test('racing claims of a single-use invite: exactly one wins, and it is recorded', async () => {
      const dir = tempDir();
      const [a, b] = [await make(dir), await make(dir)]; // two relays (Redis) or two stores on one file
      const id = `race-${Math.random().toString(36).slice(2)}`;
      await a.putInvite(record({ id, uses: 1, redeemed: 0, redemptions: [] }));
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimInvite(id, use(i))));
      assert.equal(results.filter((r) => r && r !== 'used').length, 1);
      assert.equal(results.filter((r) => r === 'used').length, 5);
      const saved = (await a.listInvites()).find((i) => i.id === id)!;
      assert.equal(saved.redeemed, 1);
      assert.equal(saved.redemptions!.length, 1);
      assert.equal(await a.claimInvite('no-such-invite', use(1)), null);
    });

    test('an invite saved without a limit stays unlimited; the list of redemptions keeps the latest only', async () => {
      const s = await make(tempDir());
      const id = `old-${Math.random().toString(36).slice(2)}`;
      const put = record({ id });
      await s.putInvite(put);
      for (let i = 0; i < REDEMPTIONS_KEPT + 5; i++) assert.notEqual(await s.claimInvite(id, use(i)), 'used');
      const saved = (await s.listInvites()).find((i) => i.id === id)!;
      assert.equal(saved.uses, undefined);
      assert.equal(saved.redeemed, REDEMPTIONS_KEPT + 5);
      assert.equal(saved.redemptions!.length, REDEMPTIONS_KEPT);
      assert.deepEqual(saved.redemptions![0], use(5), 'the oldest are dropped first, the rest kept exactly');
      const { uses: _u, redeemed: _r, redemptions: _l, ...rest } = (await s.getInviteById(id))!;
      assert.deepEqual(rest, put, 'the rest of the record is unchanged');
    });
  });
}

describe('Invites', () => {
  test('a used invite throws 410 invite_used with a message the app can show; unknown is null', async () => {
    const invites = new Invites(new FileStore(tempDir()), { ...RelayLimits }, quiet);
    const inv = await invites.createInvite('sim', 'viewer', 60_000);
    const first = await invites.redeemInvite(inv.token, '192.0.2.1');
    assert.ok(first);
    await assert.rejects(invites.redeemInvite(inv.token, '192.0.2.2'), (e: unknown) =>
      e instanceof HttpError && e.status === 410 && e.code === 'invite_used' && /already been used \(\d{4}-.*\)\. Each link works once/.test(e.message));
    assert.equal(await invites.redeemInvite('hi_unknown'), null);
    const [listed] = await invites.list();
    assert.deepEqual(listed!.redemptions, [{ at: listed!.redemptions[0]!.at, ip: '192.0.2.1', session: first.session.id }]);
  });

  test('uses: whole numbers 1..1000, as a number or a string of digits (the CLI)', () => {
    assert.equal(parseUses(1), 1);
    assert.equal(parseUses('25'), 25);
    assert.equal(parseUses(1000), 1000);
    for (const bad of [0, 1001, 2.5, -3, '', '3x', null, true, {}]) assert.throws(() => parseUses(bad), /uses must be a whole number from 1 to 1000/, String(bad));
  });
});
