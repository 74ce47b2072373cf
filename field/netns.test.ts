// A field network leaves nothing behind: after SIGINT or SIGTERM to the process that made it, its
// namespaces, wires, portals and the commands it ran inside them are gone; after SIGKILL (which no
// handler sees) its wires exit with it and the next run removes its namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { launch, type Proc } from '../scripts/stack.ts';
import { waitFor } from '../common/wait.ts';
import { fieldNamespaces, fieldNetMissing, sweepStaleNamespaces } from './netns.ts';

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
