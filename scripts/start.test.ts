// `npm start` as a newcomer runs it (on free ports so it can run beside anything): it prints a
// working link; with its token /system_status answers, /video streams, a drive over /ws moves the
// simulated wheels; Ctrl-C (SIGINT) stops every process it started — FFmpeg, socat, MediaMTX, all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { waitFor, within } from '../common/wait.ts';
import { ROOT } from './stack.ts';

/** Every descendant of a process, found through /proc (children of children too). */
function descendants(pid: number): number[] {
  let out: string;
  try { out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }); } catch { return []; }
  const kids = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [c, p] = line.trim().split(/\s+/).map(Number) as [number, number];
    kids.set(p, [...(kids.get(p) ?? []), c]);
  }
  const all: number[] = [];
  const visit = (p: number) => { for (const c of kids.get(p) ?? []) { all.push(c); visit(c); } };
  visit(pid);
  return all;
}

/** Running, not a zombie (an exited child whose parent is gone waits here for PID 1 to reap it). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('npm start prints a working link, streams, drives, and Ctrl-C leaves no process behind', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-start-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: { ...process.env, HAVATAR_PORTS: 'auto', HAVATAR_HOST: '127.0.0.1', HAVATAR_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output: string[] = [];
  let children: number[] = [];
  try {
    const printed = await new Promise<{ link: string; sim: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link printed in 90 s:\n${output.join('\n')}`)), 90_000);
      let link = '';
      const onLine = (line: string) => {
        output.push(line);
        const open = /^\s*Open:\s+(\S+)/.exec(line);
        if (open) link = open[1]!;
        const sim = /^\s*Simulator state:\s+(\S+)/.exec(line);
        if (sim && link) { clearTimeout(timer); resolve({ link, sim: sim[1]! }); }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      void exited.then((code) => reject(new Error(`npm start exited (${code}):\n${output.join('\n')}`)));
    });
    const url = new URL(printed.link);
    const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
    assert.ok(token, 'the link carries the operator token');
    assert.ok(url.searchParams.get('invite'), 'the link carries a relay invite for server mode');
    const base = url.origin;
    const auth = { authorization: `Bearer ${token}` };

    const status = (await (await fetch(`${base}/system_status`, { headers: auth })).json()) as Record<string, unknown>;
    for (const key of ['camera', 'motors', 'battery', 'server', 'app_state']) assert.ok(key in status, `/system_status has ${key}`);

    // At least 10 JPEG frames within 4 s.
    const ac = new AbortController();
    const started = Date.now();
    const res = await fetch(`${base}/video?token=${token}`, { signal: ac.signal });
    assert.match(res.headers.get('content-type') ?? '', /multipart\/x-mixed-replace/);
    let frames = 0;
    const reader = res.body!.getReader();
    let tail = Buffer.alloc(0);
    while (frames < 10 && Date.now() - started < 4000) {
      const { value, done } = await reader.read();
      if (done) break;
      const buf = Buffer.concat([tail, Buffer.from(value)]);
      for (let i = buf.indexOf(Buffer.from([0xff, 0xd8])); i !== -1; i = buf.indexOf(Buffer.from([0xff, 0xd8]), i + 2)) frames++;
      tail = buf.subarray(Math.max(0, buf.length - 1));
    }
    ac.abort();
    assert.ok(frames >= 10, `10 JPEG frames within 4 s (got ${frames} in ${Date.now() - started} ms)`);

    // A drive command over /ws moves the simulated wheels.
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${token}`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ v: 1, type: 'lease', action: 'take' }));
    let seq = 0;
    const timer = setInterval(() => ws.send(JSON.stringify({ v: 1, type: 'drive', seq: ++seq, left: 0.6, right: 0.6, ttl: 300, t: Date.now() })), 50);
    try {
      await waitFor('the simulated wheels to turn', async () => (await (await fetch(`${printed.sim}`)).json()) as { left: number; right: number },
        (s) => s.left > 0 && s.right > 0, { timeoutMs: 4000, everyMs: 100 });
    } finally {
      clearInterval(timer);
      ws.close();
    }

    children = descendants(child.pid!);
    assert.ok(children.length >= 5, `start runs its children (found ${children.length})`);
    child.kill('SIGINT');
    const code = await within('the launcher to exit after Ctrl-C', exited, 15_000);
    assert.equal(code, 0, 'Ctrl-C stops cleanly');
    // Processes SIGKILLed last by the launcher may take a moment to be gone from /proc.
    const left = await waitFor('every child to be gone', () => children.filter(alive), (l) => l.length === 0, 2000).catch(() => children.filter(alive));
    assert.deepEqual(left, [], `no process left behind: ${left.map((p) => { try { return execFileSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' }).trim(); } catch { return String(p); } }).join('; ')}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const p of [...children, ...descendants(child.pid!)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
