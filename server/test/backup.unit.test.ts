// The backup file (server/relay/backup.ts): what it accepts and every way it refuses a file, and
// the file store's snapshot and replaceAll (the Redis store's run in backup.test.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BadBackup, decodeBackup, encodeBackup, readBackup, writeBackup } from '../relay/backup.ts';
import { FileStore, type StoreState } from '../relay/store.ts';
import { stopAll, tempDir } from './helpers.ts';

after(stopAll);

const NOW = 1_800_000_000_000;
const state: StoreState = {
  robots: [{ id: 'sim', secretHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', createdAt: NOW - 5000 }],
  invites: [{ id: 'i1', hash: 'a'.repeat(64), robot: 'sim', role: 'driver', expiresAt: NOW + 3_600_000, createdAt: NOW, uses: 1, redeemed: 0 }],
  sessions: [{ id: 's1', tokenHash: 'b'.repeat(64), robot: 'sim', role: 'viewer', inviteId: 'i1', expiresAt: NOW + 3_600_000, createdAt: NOW }],
};
const refused = (raw: Buffer | string, message: RegExp) =>
  assert.throws(() => decodeBackup(Buffer.from(raw)), (e: unknown) => e instanceof BadBackup && message.test(e.message));

describe('backup file', () => {
  test('round-trips the state, with counts and the store it came from', () => {
    const { header, state: back } = decodeBackup(Buffer.from(encodeBackup(state, 'redis')));
    assert.deepEqual(back, state);
    assert.equal(header.store, 'redis');
    assert.deepEqual(header.counts, { robots: 1, invites: 1, sessions: 1 });
  });

  test('refuses a truncated backup, at any length', () => {
    const full = encodeBackup(state, 'file');
    for (const cut of [0, 10, full.indexOf('\n'), full.indexOf('\n') + 1, full.length - 1]) {
      assert.throws(() => decodeBackup(Buffer.from(full.slice(0, cut))), BadBackup, `cut at ${cut}`);
    }
    refused(full.slice(0, full.length - 1), /truncated/);
  });

  test('refuses a changed byte (checksum), a foreign file and another version, each saying so', () => {
    const full = encodeBackup(state, 'file');
    refused(full.replace('"role":"viewer"', '"role":"driver"'), /checksum/);
    refused('{"robots":[],"invites":[],"sessions":[]}', /not a Havatar relay backup/);
    refused('hello\nworld', /not a Havatar relay backup/);
    refused(full.replace('"version":1', '"version":2'), /version 2 is not supported/);
  });

  test('refuses records that are not records, even with a matching checksum', () => {
    // A well-formed file around a bad state: the header's length and checksum match it.
    const bad = (s: unknown) => {
      const body = Buffer.from(JSON.stringify(s));
      const header = { format: 'havatar-relay-backup', version: 1, createdAt: '', store: 'file', counts: {}, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
      return `${JSON.stringify(header)}\n${body.toString()}`;
    };
    refused(bad({ robots: [{ id: '../etc', secretHash: 'x', createdAt: 1 }], invites: [], sessions: [] }), /robot #1 is not a valid record/);
    refused(bad({ ...state, invites: [{ ...state.invites[0], role: 'admin' }] }), /invite #1/);
    refused(bad({ ...state, sessions: [state.sessions[0], state.sessions[0]] }), /session s1 twice/);
    refused(bad({ robots: [], invites: [] }), /no "sessions" list/);
  });

  test('is written 0600 and read back from disk; an unreadable path says which', async () => {
    const file = join(tempDir(), 'relay.backup');
    await writeBackup(file, state, 'file');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual((await readBackup(file)).state, state);
    await assert.rejects(readBackup(join(tempDir(), 'missing')), /cannot read .*missing/);
  });
});

describe('file store snapshot and replaceAll', () => {
  test('snapshot leaves out expired invites and sessions; replaceAll refuses a non-empty store unless forced', async () => {
    const dir = tempDir();
    const store = new FileStore(dir, () => NOW);
    assert.equal(await store.replaceAll(state, false), 'replaced');
    // An expired invite still in the file (the relay prunes on its next write): not backed up.
    const onDisk = JSON.parse(readFileSync(join(dir, 'relay-state.json'), 'utf8')) as { invites: Record<string, unknown> };
    onDisk.invites.old = { ...state.invites[0]!, id: 'old', hash: 'c'.repeat(64), expiresAt: NOW - 1 };
    writeFileSync(join(dir, 'relay-state.json'), JSON.stringify(onDisk));
    assert.deepEqual(await store.snapshot(), state);
    const before = readFileSync(join(dir, 'relay-state.json'));
    assert.equal(await store.replaceAll({ robots: [], invites: [], sessions: [] }, false), 'not_empty');
    assert.deepEqual(readFileSync(join(dir, 'relay-state.json')), before, 'a refused restore changes nothing');
    assert.equal(await store.replaceAll({ robots: [{ ...state.robots[0]!, id: 'other' }], invites: [], sessions: [] }, true), 'replaced');
    assert.deepEqual((await new FileStore(dir, () => NOW).snapshot()).robots.map((r) => r.id), ['other']);
  });

  test('snapshot of a corrupt state file fails loudly instead of backing up nothing', async () => {
    const dir = tempDir();
    const store = new FileStore(dir, () => NOW);
    writeFileSync(join(dir, 'relay-state.json'), '{"robots":');
    await assert.rejects(store.snapshot(), /cannot read .*relay-state\.json/);
  });
});
