// Attacks on the bridge's operator token, against the real bridge process: a flood of wrong tokens
// must be turned away before it costs a scrypt each (and must not slow the operator down), and a
// short HAVATAR_OPERATOR_TOKEN is refused at start.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { api, startRig, tempDir, type Rig } from './harness.ts';

const timed = async <T>(p: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now();
  const value = await p();
  return { value, ms: performance.now() - t0 };
};

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/**
 * The attacker, in a process of its own (so the test's event loop measures only the operator):
 * `n` requests at once, each with another wrong token; prints the status counts and the slowest answer.
 */
const ATTACKER = `
const [base, n] = process.argv.slice(1);
const t0 = performance.now();
const answers = await Promise.all(Array.from({ length: Number(n) }, async (_, i) => {
  const s = performance.now();
  const r = await fetch(base + '/config', { headers: { Authorization: 'Bearer guess-' + i + '-' + 'x'.repeat(32) } });
  const body = await r.json().catch(() => ({}));
  return { status: r.status, ok: body.ok, ms: performance.now() - s };
}));
const statuses = {};
for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
const away = answers.filter((a) => a.status === 429 || a.status === 503);
console.log(JSON.stringify({ statuses, allOkFalse: answers.every((a) => a.ok === false), slowestTurnedAwayMs: Math.round(Math.max(0, ...away.map((a) => a.ms))), totalMs: Math.round(performance.now() - t0) }));
`;

interface FloodReport { statuses: Record<string, number>; allOkFalse: boolean; slowestTurnedAwayMs: number; totalMs: number }

describe('operator token under attack', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  after(async () => { await rig?.stop(); });

  test('a flood of wrong tokens is answered at once without a scrypt each, and the operator is not slowed', async () => {
    const legit = () => timed(() => api(rig, 'GET', '/system_status'));
    assert.equal((await legit()).value.status, 200);
    const pid = rig.bridge.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    const flood = 400;
    const attacker = spawn(process.execPath, ['--input-type=module', '-e', ATTACKER, rig.http, String(flood)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    attacker.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const done = new Promise<void>((r) => attacker.once('exit', () => r()));
    let finished = false;
    void done.then(() => { finished = true; });
    // The operator keeps working while the guesses are in flight: one request after another (each
    // one is the probe) until the attacker has all its answers.
    const during: number[] = [];
    while (!finished) {
      const r = await legit();
      assert.equal(r.value.status, 200, 'the right token keeps working during the flood');
      during.push(Math.round(r.ms));
    }
    await done;
    const report = JSON.parse(out) as FloodReport;
    const cpu = cpuSeconds(pid) - cpuBefore;
    console.log(`# ${flood} wrong tokens at once: ${JSON.stringify(report)}; bridge CPU ${cpu.toFixed(2)} s; operator during the flood: ${during.length} requests, slowest ${Math.max(...during)} ms`);

    assert.ok(report.allOkFalse, 'no guess gets in');
    assert.ok((report.statuses['401'] ?? 0) <= 10, `only a few guesses are checked at all (${JSON.stringify(report.statuses)})`);
    assert.equal((report.statuses['429'] ?? 0) + (report.statuses['503'] ?? 0) + (report.statuses['401'] ?? 0), flood);
    assert.ok(report.slowestTurnedAwayMs < 2000, 'the rest are turned away at once');
    assert.ok(cpu < 3, `the flood costs the bridge little CPU (${cpu.toFixed(2)} s; a scrypt each would be tens of ms × ${flood})`);
    assert.ok(Math.max(...during) < 1000, `the operator's requests stay fast during the flood (slowest ${Math.max(...during)} ms)`);
    assert.equal((await legit()).value.status, 200, 'and after it');
  });

  test('a short HAVATAR_OPERATOR_TOKEN is refused at start, with a message; a long one starts', async () => {
    const dir = tempDir('short-token');
    // The attack: a guessable token ("robot", "1234") would be found by the slowed guessing in hours.
    const short = spawnSync(process.execPath, ['--import', 'tsx', 'bridge/main.ts', '--port', '0', '--https-port', 'off', '--data-dir', dir, '--serial', rig.serialPort, '--host', '127.0.0.1'], {
      env: { ...process.env, HAVATAR_OPERATOR_TOKEN: 'robot1234' }, encoding: 'utf8', timeout: 20_000,
    });
    assert.equal(short.status, 2, `refused at start (status ${short.status}, stdout ${short.stdout.slice(0, 200)})`);
    assert.match(short.stderr, /HAVATAR_OPERATOR_TOKEN must have at least 16 characters/);
    assert.ok(!short.stderr.includes('robot1234') && !short.stdout.includes('robot1234'), 'the refused token is not echoed');
    assert.ok(!existsSync(join(dir, 'operator_token.json')), 'nothing was stored');
    // The legitimate path: the rig's bridge started with a 36-character token, and takes it.
    assert.equal((await api(rig, 'GET', '/system_status')).status, 200);
  });
});
