// A field network leaves nothing behind: after SIGINT or SIGTERM to the process that made it, its
// namespaces, wires, portals and the commands it ran inside them are gone; after SIGKILL (which no
// handler sees) its wires exit with it and the next run removes its namespaces. And the server
// forwards between the two links only when the run asks for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { launch, type Proc } from '../scripts/stack.ts';
import { waitFor } from '../common/wait.ts';
import { createFieldNet, fieldNamespaces, fieldNetMissing, sweepStaleNamespaces } from './netns.ts';
import { profileByName, wireProfiles } from './profiles.ts';

const missing = fieldNetMissing();
const skip = missing ? `field network: ${missing}` : false;

/** Pids whose command line mentions `needle` (the run id is in every wire's and portal's arguments). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try { if (readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(needle)) out.push(Number(e)); } catch { /* gone */ }
  }
  return out;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

interface Up { proc: Proc; runId: string; ns: Record<string, string>; pid: number }
async function up(): Promise<Up> {
  // `sleep` inside the server namespace stands for MediaMTX or the relay: a process that would keep
  // a deleted namespace alive.
  const proc = await launch('field-up', 'field/up.ts', ['--profile', '4g', '--in', 'server', '--', 'sleep', '600'], 'ready', { timeoutMs: 30_000 });
  const r = proc.ready as unknown as Omit<Up, 'proc'>;
  assert.equal(fieldNamespaces().filter((n) => n.startsWith(r.runId)).length, 3, 'three namespaces');
  assert.ok(processesMentioning(r.runId).length >= 2, 'two wires running');
  assert.ok(alive(r.pid), 'the command runs in the namespace');
  return { proc, ...r };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal}: namespaces, wires and the commands inside are all gone`, { skip }, async () => {
    const run = await up();
    process.kill(run.proc.child.pid!, signal);
    await run.proc.exited;
    assert.deepEqual(fieldNamespaces().filter((n) => n.startsWith(run.runId)), []);
    await waitFor('wires and the command gone', () => [...processesMentioning(run.runId), ...(alive(run.pid) ? [run.pid] : [])], (l) => l.length === 0, 3000);
  });
}

test('SIGKILL: the wires exit with their parent, and the next run removes the namespaces', { skip }, async () => {
  const run = await up();
  process.kill(run.proc.child.pid!, 'SIGKILL');
  await run.proc.exited;
  await waitFor('wires gone', () => processesMentioning(run.runId), (l) => l.length === 0, 3000);
  assert.equal(fieldNamespaces().filter((n) => n.startsWith(run.runId)).length, 3, 'no handler ran: the namespaces are still there');
  const swept = sweepStaleNamespaces();
  assert.ok(swept.filter((n) => n.startsWith(run.runId)).length === 3, `swept ${swept.join(', ')}`);
  assert.deepEqual(fieldNamespaces().filter((n) => n.startsWith(run.runId)), []);
  await waitFor('the command inside killed with its namespace', () => alive(run.pid), (a) => !a, 3000);
});

/** Whether a TCP connect from the phone's namespace reaches a listener on the robot's address. */
async function phoneReachesRobot(forward: boolean): Promise<boolean> {
  const net = await createFieldNet({ ...wireProfiles(profileByName('wired')), forward });
  try {
    const [cmd, args] = net.wrap('robot', process.execPath, ['-e',
      `const s = require('node:net').createServer((c) => c.end('hi')).listen(0, '${net.addresses.robot}', () => console.log(s.address().port))`]);
    const server = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        server.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
      });
      const [c, a] = net.wrap('phone', process.execPath, ['-e',
        `const c = require('node:net').connect(${port}, '${net.addresses.robot}'); c.setTimeout(1500, () => process.exit(2)); c.on('data', () => process.exit(0)); c.on('error', () => process.exit(1))`]);
      return await new Promise<boolean>((resolve) => execFile(c, a, (err) => resolve(err === null)));
    } finally {
      server.kill('SIGKILL');
    }
  } finally {
    await net.close();
  }
}

test('the server forwards between the links only when asked (forward: true), through both wires', { skip }, async () => {
  assert.equal(await phoneReachesRobot(false), false, 'no forwarding by default: the phone reaches only the server');
  assert.equal(await phoneReachesRobot(true), true, 'with forward the phone reaches the robot');
});
