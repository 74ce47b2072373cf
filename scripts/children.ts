// Every child process the launcher starts, known from the moment it is spawned, each in a process
// group of its own (so its helpers — socat, FFmpeg, esbuild — go with it).
//
// Two ways they stop:
// - stopAllChildren(): the launcher's own shutdown (Ctrl-C, SIGTERM, an error) at whatever stage
//   startup has reached; after it nothing new starts, so a starter that was awaiting something
//   cannot spawn a child behind the shutdown's back.
// - scripts/reaper.sh: a small process in its own session that learns each group through a pipe
//   and, when the pipe reaches EOF because this process is gone (even by SIGKILL, which no
//   handler sees), stops every group still listed. A pipe rather than watching a pid: EOF cannot
//   be missed or confused with a reused pid, and nothing polls while the stack runs. One reaper
//   rather than a watchdog in each child: MediaMTX and socat are not ours to change, and a child
//   killed before it installed a watchdog would still leave its own children.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';

export interface Tracked {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const REAPER = new URL('./reaper.sh', import.meta.url).pathname;
const live = new Map<number, Tracked>();
let closing = false;
let reaper: ChildProcess | null = null;

function tellReaper(line: string): void {
  if (!reaper) {
    const r = spawn('bash', [REAPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    // Without bash (or once the reaper was killed) the launcher still stops its children itself;
    // only the SIGKILL case is uncovered. A later group starts a new reaper that learns them all.
    r.once('error', () => { if (reaper === r) reaper = null; });
    r.once('exit', () => { if (reaper === r) reaper = null; });
    r.stdin!.on('error', () => {});
    // Neither keeps the launcher (or a test process) running; its exit closes the pipe.
    r.unref();
    (r.stdin as Socket).unref();
    reaper = r;
    for (const pgid of live.keys()) r.stdin!.write(`+${pgid}\n`);
  }
  reaper.stdin!.write(line + '\n');
}

/** Signals a whole process group; a group already gone is fine. */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try { process.kill(-pgid, signal); } catch { /* already gone */ }
}

/**
 * Spawns `cmd` as the leader of a new process group and tracks it until it exits. When the leader
 * exits, whatever is left in its group (socat behind a crashed simulator) is killed. Throws once
 * stopAllChildren() has begun.
 */
export function spawnGroup(name: string, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  if (closing) throw new Error(`not starting ${name}: stopping`);
  const child = spawn(cmd, args, { ...opts, detached: true });
  const pgid = child.pid;
  if (pgid === undefined) return child; // spawn failed; 'error' follows
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    signalGroup(pgid, 'SIGKILL');
    live.delete(pgid);
    tellReaper(`-${pgid}`);
    resolve(code);
  }));
  live.set(pgid, { name, child, exited });
  tellReaper(`+${pgid}`);
  return child;
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`; resolves once the leader has exited. */
export async function stopGroup(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  // Children of the child (FFmpeg, socat) share its group: none may outlive it.
  signalGroup(child.pid, 'SIGKILL');
}

/**
 * Stops every tracked child, whatever it is doing (starting, ready, half-built), the ones named in
 * `first` before the others; from the first call on, spawnGroup refuses to start anything.
 */
export async function stopAllChildren(opts: { first?: string[]; graceMs?: number } = {}): Promise<void> {
  closing = true;
  const graceMs = opts.graceMs ?? 3000;
  const all = [...live.values()];
  const first = all.filter((t) => opts.first?.includes(t.name));
  await Promise.all(first.map((t) => stopGroup(t.child, t.exited, graceMs)));
  await Promise.all(all.filter((t) => !first.includes(t)).map((t) => stopGroup(t.child, t.exited, graceMs)));
}

/** Names and pids of the children still running (for the launcher's progress lines). */
export function trackedChildren(): { name: string; pid: number }[] {
  return [...live.entries()].map(([pid, t]) => ({ name: t.name, pid }));
}
