// `npm run relay -- backup <file>` / `restore <file>` against real relays, in both stores: a
// backup taken while the relay runs (and writes) restores into an empty relay, where the robot logs
// in with its password and an unused invite still opens a session; a non-empty relay and a bad
// file are refused and left as they were.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Peer, admin, api, kill, registerRobot, robotAuth, startRedis, startRelay, stopAll, tempDir } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
after(stopAll);

/** The relay CLI as an operator runs it; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const { REDIS_URL: _ignored, ...base } = process.env;
  const child = spawn('node', ['--import', 'tsx', 'server/relay/main.ts', ...args], { cwd: ROOT, env: { ...base, HAVATAR_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += String(d); });
  child.stderr.on('data', (d: Buffer) => { err += String(d); });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

async function invite(base: string, robot: string): Promise<string> {
  const r = await api(base, 'POST', '/api/invites', { robot, role: 'driver', ttl: '1h' }, admin);
  assert.equal(r.status, 201, r.text);
  return (r.json.invite as { token: string }).token;
}

/** The robot logs in with its password (and not with another): the hash came back intact. */
async function robotLogsIn(ws: string, robot: string, password: string): Promise<void> {
  const peer = await Peer.open(`${ws}/ws/robot/${robot}`, robotAuth(robot, password));
  peer.close();
  await assert.rejects(Peer.open(`${ws}/ws/robot/${robot}`, robotAuth(robot, `${password}x`)), { status: 401 });
}

/** The state of a relay as the CLI sees it, through a backup file (counts and records). */
async function stateOf(where: string[], env: Record<string, string> = {}): Promise<string> {
  const file = join(tempDir(), 'probe.backup');
  const r = await cli(['backup', file, ...where], env);
  assert.equal(r.code, 0, r.err);
  const state = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as Record<string, { id: string }[]>;
  for (const list of Object.values(state)) list.sort((x, y) => x.id.localeCompare(y.id));
  return JSON.stringify(state);
}

/**
 * Registers a robot and makes invites on a running relay while backups are taken: every backup is
 * complete (it restores), whatever the relay wrote meanwhile. Returns the last backup's file.
 */
async function backupWhileWriting(url: string, where: string[], env: Record<string, string>): Promise<{ file: string; password: string; token: string }> {
  const password = await registerRobot(url, 'sim');
  const token = await invite(url, 'sim');
  const dir = tempDir();
  let writing = true;
  const writes = (async () => { let n = 0; while (writing) { await invite(url, 'sim'); n++; } return n; })();
  const files: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `relay-${i}.backup`);
      const r = await cli(['backup', file, ...where], env);
      assert.equal(r.code, 0, r.err);
      const line = JSON.parse(r.out) as { event: string; robots: number; invites: number };
      assert.equal(line.event, 'backup_written');
      assert.equal(line.robots, 1);
      files.push(file);
    }
  } finally {
    writing = false;
  }
  assert.ok((await writes) > 0, 'the relay wrote invites while the backups ran');
  const last = files.at(-1)!;
  const counts = files.map((f) => (JSON.parse(readFileSync(f, 'utf8').split('\n')[0]!) as { counts: { invites: number } }).counts.invites);
  assert.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]!), `invite counts never go back: ${counts.join(', ')}`);
  return { file: last, password, token };
}

describe('relay backup and restore', () => {
  test('file store: backed up while running, restored into an empty relay: the robot logs in, the invite opens a session', async () => {
    const dirA = tempDir();
    const a = await startRelay({ dataDir: dirA });
    const { file, password, token } = await backupWhileWriting(a.url, ['--data-dir', dirA], {});
    await kill(a);

    const dirB = tempDir();
    const restored = await cli(['restore', file, '--data-dir', dirB]);
    assert.equal(restored.code, 0, restored.err);
    assert.equal((JSON.parse(restored.out) as { event: string; robots: number }).robots, 1);
    const b = await startRelay({ dataDir: dirB });
    await robotLogsIn(b.ws, 'sim', password);
    const s = await api(b.url, 'POST', '/api/session', { invite: token });
    assert.equal(s.status, 201, s.text);

    // B is no longer empty: a second restore is refused and changes nothing, unless --force.
    const before = readFileSync(join(dirB, 'relay-state.json'));
    const again = await cli(['restore', file, '--data-dir', dirB]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already holds robots, invites or sessions: nothing was restored.*--force/);
    assert.deepEqual(readFileSync(join(dirB, 'relay-state.json')), before);
    const forced = await cli(['restore', file, '--data-dir', dirB, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.equal((JSON.parse(forced.out) as { force: boolean }).force, true);
  });

  test('file store: a truncated, altered or foreign backup is refused with the reason, and the relay\'s state is unchanged', async () => {
    const dirA = tempDir();
    const good = join(tempDir(), 'good.backup');
    const a = await startRelay({ dataDir: dirA });
    await registerRobot(a.url, 'sim');
    await kill(a);
    assert.equal((await cli(['backup', good, '--data-dir', dirA])).code, 0);
    const text = readFileSync(good, 'utf8');
    const dirB = tempDir();
    const b = await startRelay({ dataDir: dirB });
    await registerRobot(b.url, 'other');
    const before = await stateOf(['--data-dir', dirB]);
    const bad = tempDir();
    const cases: [string, string, RegExp][] = [
      ['truncated', text.slice(0, Math.floor(text.length * 0.8)), /truncated/],
      ['altered', text.replace('"id":"sim"', '"id":"sum"'), /checksum/],
      ['foreign', '{"robots":[],"invites":[],"sessions":[]}\n', /not a Havatar relay backup/],
    ];
    for (const [name, content, reason] of cases) {
      const file = join(bad, `${name}.backup`);
      writeFileSync(file, content);
      // --force too: validation comes before anything else, forced or not.
      const r = await cli(['restore', file, '--data-dir', dirB, '--force']);
      assert.equal(r.code, 2, `${name}: ${r.err}`);
      assert.match(r.err, reason, name);
      assert.match(r.err, /nothing was restored/, name);
    }
    assert.equal(await stateOf(['--data-dir', dirB]), before, 'the relay holds what it held');
    await kill(b);
  });

  test('Redis: backed up while running, restored into an empty Redis: the robot logs in, the invite opens a session; bad files change nothing', async (t) => {
    const redisA = await startRedis();
    if (!redisA) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const redisB = (await startRedis())!;
    const envA = { REDIS_URL: redisA.url };
    const envB = { REDIS_URL: redisB.url };
    const a = await startRelay({ redisUrl: redisA.url });
    const { file, password, token } = await backupWhileWriting(a.url, [], envA);
    await kill(a);

    const b = await startRelay({ redisUrl: redisB.url });
    const restored = await cli(['restore', file], envB);
    assert.equal(restored.code, 0, restored.err);
    assert.equal((JSON.parse(restored.out) as { store: string; from: string }).store, 'redis');
    await robotLogsIn(b.ws, 'sim', password);
    const s = await api(b.url, 'POST', '/api/session', { invite: token });
    assert.equal(s.status, 201, s.text);

    const before = await stateOf([], envB);
    const again = await cli(['restore', file], envB);
    assert.equal(again.code, 2);
    assert.match(again.err, /Redis store already holds/);
    const truncated = join(tempDir(), 'truncated.backup');
    const whole = readFileSync(file);
    writeFileSync(truncated, whole.subarray(0, whole.length - 10));
    const r = await cli(['restore', truncated, '--force'], envB);
    assert.equal(r.code, 2);
    assert.match(r.err, /truncated.*nothing was restored/);
    assert.equal(await stateOf([], envB), before, 'Redis holds what it held');
  });
});
