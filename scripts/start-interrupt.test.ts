// `npm start` stopped at every stage of its startup — by Ctrl-C (SIGINT to its process group, as a
// terminal sends it), by SIGTERM, and killed outright (SIGKILL, which it cannot handle: its
// reaper must act) — leaves no process behind, and the next start on the same fixed ports works.
// A start that finds a port taken names the process holding it and starts nothing.
//
// Stages come from the launcher's own progress lines (HAVATAR_PROGRESS=1); processes are found by
// a tag in their environment, which every descendant inherits, so one re-parented to init after a
// SIGKILL of the launcher is found too. The tag is the test's own, not the launcher's
// HAVATAR_STACK_ID: the check does not lean on the mechanism it checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor, within } from '../common/wait.ts';
import { commandLine } from './children.ts';
import { portConflicts, type PortNeed } from './ports.ts';
import { ROOT } from './stack.ts';

const TAG = 'HAVATAR_START_INTERRUPT_TEST';

interface Found { pid: number; state: string; command: string }

/** Every process whose environment carries `TAG=tag`, with its state (Z: a zombie, dead). */
function tagged(tag: string): Found[] {
  const needle = `${TAG}=${tag}`;
  const out: Found[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      out.push({ pid: Number(entry), state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), command: commandLine(Number(entry)) });
    } catch { /* gone meanwhile */ }
  }
  return out;
}
const running = (tag: string): Found[] => tagged(tag).filter((p) => p.state !== 'Z');

type Signal = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
/**
 * Where to interrupt: a progress line's `stage` and, for build/spawned/ready, its `name`. The
 * signal lands a few milliseconds after the line: while that child is starting (each takes 0.3 s
 * or more), or, for the steps that take no time (the port check, an up-to-date build), with the
 * first children just spawned. An app build cannot be had here without touching dist/, which
 * other tests read.
 */
const STAGES = [
  'begin',
  'build:bridge',
  'spawned:sim',
  'spawned:relay-register',
  'spawned:mediamtx',
  'spawned:relay',
  'spawned:bridge',
  'ready:bridge',
  'running',
] as const;

/** Ten ports below the ephemeral range (no outgoing connection takes them meanwhile), all free now. */
async function fixedPorts(): Promise<Record<string, number>> {
  const names = ['bridge', 'bridgeHttps', 'simControl', 'relay', 'rtsp', 'webrtc', 'webrtcUdp', 'hls', 'api', 'metrics', 'playback'];
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const ports = Object.fromEntries(names.map((n, i) => [n, base + i]));
    if (!(await portConflicts(portNeeds(ports))).length) return ports;
  }
}
const portNeeds = (ports: Record<string, number>): PortNeed[] =>
  Object.entries(ports).map(([what, port]) => ({ what, port, host: '127.0.0.1', proto: what === 'webrtcUdp' ? 'udp' : 'tcp' }));
const portsEnv = (ports: Record<string, number>) => Object.entries(ports).map(([n, p]) => `${n}=${p}`).join(',');

interface Launcher {
  child: ChildProcess;
  tag: string;
  exited: Promise<number | null>;
  output: string[];
  /** Resolves with the first progress line for which `match` holds; rejects if the launcher exits first. */
  reach(match: (p: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}

function startLauncher(dataDir: string, ports: Record<string, number>, nodeFlags: string[] = []): Launcher {
  const tag = randomUUID();
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    // Its own process group, as a shell gives a foreground job: Ctrl-C is a SIGINT to that group.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HAVATAR_PORTS: portsEnv(ports), HAVATAR_HOST: '127.0.0.1', HAVATAR_DATA_DIR: dataDir, HAVATAR_PROGRESS: '1', [TAG]: tag },
  });
  // 'close', not 'exit': 'exit' can come while the last lines are still in the pipes, and a
  // failure's message would then miss the very lines that say why.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const output: string[] = [];
  const waiting: { match: (p: Record<string, unknown>) => boolean; resolve: (p: Record<string, unknown>) => void }[] = [];
  const onLine = (line: string) => {
    output.push(line);
    if (!line.startsWith('{"event":"progress"')) return;
    const p = JSON.parse(line) as Record<string, unknown>;
    for (const w of waiting.splice(0)) (w.match(p) ? w.resolve(p) : waiting.push(w));
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  return {
    child, tag, exited, output,
    reach: (match, what) => new Promise((resolve, reject) => {
      waiting.push({ match, resolve });
      void exited.then((code) => reject(new Error(`npm start exited (code ${code}) before ${what}:\n${output.join('\n')}`)));
    }),
  };
}

const atStage = (stage: string) => (p: Record<string, unknown>): boolean => {
  const [s, name] = stage.split(':');
  return p.stage === s && (name === undefined || p.name === name);
};

/** Starts npm start, interrupts it once it reached `stage`, and checks that nothing it started survives. */
async function interruptAt(stage: string, signal: Signal, dataDir: string, ports: Record<string, number>): Promise<string> {
  const l = startLauncher(dataDir, ports);
  try {
    await within(`npm start to reach ${stage}`, l.reach(atStage(stage), stage), 60_000);
    if (signal === 'SIGINT') process.kill(-l.child.pid!, 'SIGINT');
    else l.child.kill(signal);
    const code = await within(`npm start to exit after ${signal} at ${stage}`, l.exited, 15_000);
    if (signal !== 'SIGKILL') assert.equal(code, 0, `${signal} at ${stage} stops cleanly:\n${l.output.join('\n')}`);
    // After a SIGKILL the reaper is at work; after a clean stop everything is gone already.
    await waitFor(`every process of npm start (${signal} at ${stage}) to be gone`, () => running(l.tag), (left) => left.length === 0, 10_000);
    const stopping = l.output.find((line) => line.includes('"stage":"stopping"'));
    if (!stopping) return 'killed: no stopping line';
    const children = (JSON.parse(stopping) as { children: { name: string }[] }).children.map((c) => c.name);
    const leftovers = l.output.filter((line) => line.startsWith('killed a leftover process'));
    return `stopped ${children.join(', ') || 'nothing'}${leftovers.length ? `; ${leftovers.join('; ')}` : ''}`;
  } finally {
    if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
    for (const p of running(l.tag)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
  test(`npm start stopped by ${signal} at every stage of startup leaves nothing behind, and starts again on the same ports`, { timeout: 120_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'havatar-start-interrupt-'));
    const ports = await fixedPorts();
    try {
      // Each start after the first also proves the previous one released its ports: its port
      // check would refuse to go on, naming the holder. The last one starts completely.
      for (const stage of STAGES) {
        const started = Date.now();
        const stopping = await interruptAt(stage, signal, dataDir, ports);
        t.diagnostic(`${stage}: ${Date.now() - started} ms; ${stopping}`);
      }
      assert.deepEqual(await portConflicts(portNeeds(ports)), [], 'every port is free again');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

test('an uncaught error in npm start while the relay starts stops everything it started', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-start-interrupt-'));
  // Preloaded into the launcher: throws from the event loop once the relay is spawned.
  const inject = `data:text/javascript,${encodeURIComponent(`
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk, ...rest) => {
      if (/"stage":"spawned","name":"relay"/.test(String(chunk))) setImmediate(() => { throw new Error('injected failure'); });
      return write(chunk, ...rest);
    };
  `)}`;
  const l = startLauncher(dataDir, await fixedPorts(), ['--import', inject]);
  try {
    const code = await within('npm start to exit after the error', l.exited, 30_000);
    const text = l.output.join('\n');
    assert.equal(code, 1, text);
    assert.match(text, /injected failure/);
    assert.match(text, /"stage":"stopping","why":"error","children":\[.*"name":"relay"/);
    await waitFor('every process of npm start to be gone', () => running(l.tag), (left) => left.length === 0, 10_000);
  } finally {
    if (l.child.exitCode === null) l.child.kill('SIGKILL');
    for (const p of running(l.tag)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a start that finds a port taken names the process holding it and how to stop it, and starts nothing', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-start-interrupt-'));
  const ports = await fixedPorts();
  // One process holding a TCP and a UDP port, the way a stack left behind would.
  const holder = spawn(process.execPath, ['-e', `
    const net = require('node:net'), dgram = require('node:dgram');
    net.createServer().listen(${ports.simControl}, '127.0.0.1', () =>
      dgram.createSocket('udp4').bind(${ports.webrtcUdp}, '127.0.0.1', () => console.log('holding')));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let l: Launcher | undefined;
  try {
    // The launcher starts once both ports are held: started beside the holder, its port check
    // ran before the holder had bound in 1 of 20 busy runs, and it went on to start everything.
    await within('the holder to bind', new Promise((resolve) => createInterface({ input: holder.stdout! }).once('line', resolve)), 10_000);
    l = startLauncher(dataDir, ports);
    const code = await within('npm start to give up', l.exited, 30_000);
    const text = l.output.join('\n');
    assert.equal(code, 1, text);
    assert.match(text, new RegExp(`port ${ports.simControl} \\(simulator state, 127\\.0\\.0\\.1\\) is in use by pid ${holder.pid}: .*node -e`));
    assert.match(text, new RegExp(`UDP port ${ports.webrtcUdp} \\(MediaMTX WebRTC media, 127\\.0\\.0\\.1\\) is in use by pid ${holder.pid}`));
    assert.match(text, new RegExp(`kill ${holder.pid}$`, 'm'), 'says how to stop it, once');
    assert.ok(!text.includes('"stage":"spawned"'), `nothing was started:\n${text}`);
    assert.doesNotMatch(text, /EADDRINUSE/);
    await waitFor('every process of npm start to be gone', () => running(l!.tag), (left) => left.length === 0, 10_000);
  } finally {
    if (l && l.child.exitCode === null) l.child.kill('SIGKILL');
    for (const p of l ? running(l.tag) : []) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    holder.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('npm start whose parent is killed outright (a test runner, a CI job) stops itself and everything it started', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-start-interrupt-'));
  const tag = randomUUID();
  // bash stays the launcher's parent (`; true` keeps it from exec-ing node), and is the one killed.
  const parent = spawn('bash', ['-c', `${process.execPath} --import tsx ${join(ROOT, 'scripts/start.ts')}; true`], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HAVATAR_PORTS: portsEnv(await fixedPorts()), HAVATAR_HOST: '127.0.0.1', HAVATAR_DATA_DIR: dataDir, HAVATAR_PROGRESS: '1', [TAG]: tag },
  });
  try {
    await within('the simulator to be spawned', new Promise<void>((resolve) => {
      createInterface({ input: parent.stdout! }).on('line', (line) => { if (line.includes('"stage":"spawned","name":"sim"')) resolve(); });
    }), 60_000);
    parent.kill('SIGKILL');
    await waitFor('every process of npm start to be gone', () => running(tag), (left) => left.length === 0, 15_000);
  } finally {
    for (const p of running(tag)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
