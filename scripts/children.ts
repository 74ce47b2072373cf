// Every child process the launcher starts, known from the moment it is spawned, each in a process
// group of its own (so its helpers — socat, FFmpeg, esbuild — go with it), and all of them, with
// everything they start in turn, marked by HAVATAR_STACK_ID=<id of this process> in their
// environment, which descendants inherit whatever group or parent they end up with.
//
// Two ways they stop:
// - stopAllChildren(): the launcher's own shutdown (Ctrl-C, SIGTERM, an error) at whatever stage
//   startup has reached; from then on nothing new starts, so a starter that was awaiting
//   something cannot spawn a child behind the shutdown's back.
// - scripts/reaper.sh: a small process in its own session whose stdin is a pipe from this
//   process. EOF on it means this process is gone, even by SIGKILL, which no handler sees; the
//   reaper then stops every process carrying the id. A pipe rather than watching a pid: EOF
//   cannot be missed or confused with a reused pid, and nothing polls while the stack runs. One
//   reaper rather than a watchdog in each child: MediaMTX and socat are not ours to change, and a
//   child killed before it set up its watchdog would still leave its own children (the bridge's
//   FFmpeg runs in a group of its own).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { Socket } from 'node:net';

export const STACK_ID_VAR = 'HAVATAR_STACK_ID';
/** This process's mark on its descendants. */
export const STACK_ID = `${process.pid}-${randomBytes(6).toString('hex')}`;

interface Tracked {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const REAPER = new URL('./reaper.sh', import.meta.url).pathname;
const live = new Map<number, Tracked>();
/** Every group stopAllChildren() killed: what is still in one is dying, not left over. */
const killedGroups = new Set<number>();
let closing = false;
let reaper: ChildProcess | null = null;

function ensureReaper(): void {
  if (reaper) return;
  const env = { ...process.env };
  delete env[STACK_ID_VAR]; // the reaper must not find itself (nor the launcher of a launcher)
  const r = spawn('bash', [REAPER, STACK_ID], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env });
  // Without bash (or once the reaper was killed) the launcher still stops its children itself:
  // only the SIGKILL case is uncovered, until the next spawn starts a new reaper.
  r.once('error', () => { if (reaper === r) reaper = null; });
  r.once('exit', () => { if (reaper === r) reaper = null; });
  r.stdin!.on('error', () => {});
  // Neither keeps the launcher (or a test process) running; its exit closes the pipe.
  r.unref();
  (r.stdin as Socket).unref();
  reaper = r;
}

/** Signals a whole process group; a group already gone is fine. */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try { process.kill(-pgid, signal); } catch { /* already gone */ }
}

/**
 * Spawns `cmd` as the leader of a new process group, marked with this process's stack id, and
 * tracks it until it exits. When the leader exits, whatever is left in its group (socat behind a
 * crashed simulator) is killed. Throws once stopAllChildren() has begun.
 */
export function spawnGroup(name: string, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  if (closing) throw new Error(`not starting ${name}: stopping`);
  ensureReaper();
  const child = spawn(cmd, args, { ...opts, env: { ...(opts.env ?? process.env), [STACK_ID_VAR]: STACK_ID }, detached: true });
  const pgid = child.pid;
  if (pgid === undefined) return child; // spawn failed; 'error' follows
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    signalGroup(pgid, 'SIGKILL');
    live.delete(pgid);
    resolve(code);
  }));
  live.set(pgid, { name, child, exited });
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
 * A process's command line for a message, credentials removed (`relay register --password …`,
 * `rtsp://user:pass@…`), cut at 300 characters; '' once it is gone.
 */
export function commandLine(pid: number): string {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { return ''; }
  text = text
    .replace(/(--[\w-]*(?:password|token|secret|key)[\w-]*[= ])\S+/gi, '$1[redacted]')
    .replace(/(\/\/[^\s:/@]+:)[^\s@/]+@/g, '$1[redacted]@');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Pids of the running processes that carry this process's stack id (zombies' environ reads empty). */
export function markedProcesses(): number[] {
  const needle = `${STACK_ID_VAR}=${STACK_ID}`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) out.push(Number(entry));
    } catch { /* gone, or not ours to read */ }
  }
  return out;
}

/**
 * Stops every tracked child, whatever it is doing (starting, ready, half-built), the ones named in
 * `first` before the others; then kills anything of ours that outlived them (a helper its parent
 * could not stop in time) and returns those. From the first call on, spawnGroup refuses to start
 * anything.
 */
export async function stopAllChildren(opts: { first?: string[]; graceMs?: number } = {}): Promise<{ pid: number; command: string }[]> {
  closing = true;
  const graceMs = opts.graceMs ?? 3000;
  const all = [...live.values()];
  const first = all.filter((t) => opts.first?.includes(t.name));
  await Promise.all(first.map((t) => stopGroup(t.child, t.exited, graceMs)));
  await Promise.all(all.filter((t) => !first.includes(t)).map((t) => stopGroup(t.child, t.exited, graceMs)));
  for (const t of all) killedGroups.add(t.child.pid!);
  const leftovers: { pid: number; command: string }[] = [];
  for (const pid of markedProcesses()) {
    const command = commandLine(pid);
    let pgid = 0;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    } catch { /* gone */ }
    try { process.kill(pid, 'SIGKILL'); } catch { continue; }
    if (!killedGroups.has(pgid)) leftovers.push({ pid, command });
  }
  return leftovers;
}

/** Names and pids of the children still running (for the launcher's progress lines). */
export function trackedChildren(): { name: string; pid: number }[] {
  return [...live.entries()].map(([pid, t]) => ({ name: t.name, pid }));
}
