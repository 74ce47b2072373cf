// Attack: an invite link that leaked (a forwarded message, a screenshot, a shared history) lets
// anyone who finds it in, as often as they like, until it expires (up to 30 days), and nobody can
// see that it happened. Against the real relay process and its CLI: invites are single-use unless
// created with more uses, a used one is refused with its own error the app can show, every
// redemption (when, from which address, which session) is in the admin API, and invites already
// saved in a relay's state file keep working as they were created.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { admin, api, kill, startRelay, stopAll, tempDir, type RelayProc } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
after(stopAll);

interface Listed { id: string; robot: string; role: string; uses: number | null; redeemed: number; redemptions: { at: number; ip: string; session: string }[] }
const invites = async (relay: RelayProc) => {
  const r = await api(relay.url, 'GET', '/api/invites', undefined, admin);
  assert.equal(r.status, 200, r.text);
  return r.json.invites as Listed[];
};
async function invite(relay: RelayProc, extra: Record<string, unknown> = {}) {
  const r = await api(relay.url, 'POST', '/api/invites', { robot: 'sim', role: 'viewer', ttl: '1h', ...extra }, admin);
  assert.equal(r.status, 201, r.text);
  return r.json.invite as { id: string; token: string; uses: number };
}
const redeem = (relay: RelayProc, token: string) => api(relay.url, 'POST', '/api/session', { invite: token });

describe('invites are single-use unless made for more, and every use is on record', () => {
  let relay: RelayProc;

  test('a second redemption of an invite is refused with invite_used; the first is recorded', async () => {
    relay = await startRelay();
    const inv = await invite(relay);
    assert.equal(inv.uses, 1, 'one use by default');
    const first = await redeem(relay, inv.token);
    assert.equal(first.status, 201, first.text);
    const again = await redeem(relay, inv.token);
    assert.equal(again.status, 410, `the leaked link was redeemed again: ${again.text}`);
    assert.equal(again.json.error, 'invite_used');
    assert.match(String(again.json.msg), /already been used.*ask .* new/i);
    const [listed] = (await invites(relay)).filter((i) => i.id === inv.id);
    assert.equal(listed!.redeemed, 1);
    assert.deepEqual(listed!.redemptions.map((r) => [r.ip, r.session]), [['127.0.0.1', first.json.session]]);
    assert.ok(Math.abs(listed!.redemptions[0]!.at - Date.now()) < 60_000);
    // The admin's list never shows a token or its hash; without the key there is no list.
    assert.doesNotMatch(JSON.stringify(await invites(relay)), /hi_|"hash"/);
    assert.equal((await api(relay.url, 'GET', '/api/invites')).status, 401);
    // The session it gave stands.
    assert.equal((await api(relay.url, 'POST', '/api/session/refresh', undefined, { Authorization: `Bearer ${first.json.token as string}` })).status, 200);
  });

  test('racing redemptions of one invite: exactly one wins', async () => {
    const inv = await invite(relay);
    const answers = await Promise.all(Array.from({ length: 8 }, () => redeem(relay, inv.token)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 410, 410, 410, 410, 410, 410, 410]);
  });

  test('uses: N allows N redemptions, each recorded; bad values are refused and create nothing', async () => {
    const inv = await invite(relay, { uses: 3 });
    const sessions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await redeem(relay, inv.token);
      assert.equal(s.status, 201);
      sessions.push(s.json.session as string);
    }
    assert.equal((await redeem(relay, inv.token)).status, 410);
    const listed = (await invites(relay)).find((i) => i.id === inv.id)!;
    assert.equal(listed.uses, 3);
    assert.deepEqual(listed.redemptions.map((r) => r.session), sessions);
    const count = (await invites(relay)).length;
    for (const uses of [0, -1, 1.5, '2x', 1001, null, true]) {
      const r = await api(relay.url, 'POST', '/api/invites', { robot: 'sim', role: 'viewer', uses }, admin);
      assert.equal(r.status, 400, `uses ${JSON.stringify(uses)}: ${r.text}`);
      assert.match(String(r.json.msg), /uses must be a whole number from 1 to 1000/);
    }
    assert.equal((await invites(relay)).length, count, 'nothing was created');
  });

  test('the CLI makes single-use invites, --uses N for more, and refuses a bad --uses', async () => {
    const dataDir = tempDir();
    const cli = (...args: string[]) => spawnSync('node', ['--import', 'tsx', 'server/relay/main.ts', 'invite', '--robot', 'sim', '--data-dir', dataDir, '--json', ...args], { cwd: ROOT, encoding: 'utf8' });
    assert.equal((JSON.parse(cli().stdout) as { uses: number }).uses, 1);
    assert.equal((JSON.parse(cli('--uses', '5').stdout) as { uses: number }).uses, 5);
    const bad = cli('--uses', 'many');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--uses must be a whole number from 1 to 1000/);
  });

  test('invites saved before single-use keep working until they expire, with a log line', async () => {
    await kill(relay);
    const dataDir = tempDir();
    const token = 'hi_saved-before-single-use-invites-000000';
    const now = Date.now();
    const old = { id: 'oldinvite1', hash: createHash('sha256').update(token).digest('hex'), robot: 'sim', role: 'viewer', expiresAt: now + 3_600_000, createdAt: now };
    writeFileSync(join(dataDir, 'relay-state.json'), JSON.stringify({ robots: {}, invites: { [old.id]: old }, sessions: {} }));
    relay = await startRelay({ dataDir });
    await waitFor('the log line about the saved invites', () => relay.lines.find((l) => l.includes('invites from before single-use')));
    for (let i = 0; i < 3; i++) assert.equal((await redeem(relay, token)).status, 201, 'a saved invite is redeemed as often as before');
    const listed = (await invites(relay)).find((i) => i.id === old.id)!;
    assert.equal(listed.uses, null, 'shown as without a limit');
    assert.equal(listed.redeemed, 3);
  });
});
