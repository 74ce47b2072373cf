// Relay capacity: simulated robots and operators on loopback against OUR relay (a real
// `server/relay/main.ts --port 0` process; robots registered through the admin API, operators with
// sessions from invites, written to its state file before it starts so 1,000+ robots need no
// minutes of admin calls) and, in the same run, the same load against the baseline the product plan
// sketches (bench/baseline/socketio-relay.ts, Socket.IO). The load generator is a Go program
// (bench/relay/loadgen/, built on demand by bench/relay/loadgen.ts): raw WebSocket frames on every
// core it is given. Relay and generator share the machine's cores, so the generator's own CPU
// (from /proc/<pid>/stat, like the relay's) and how late its send ticks fired are printed beside
// every step — a step where it could not offer the asked rate measures the generator, not the relay.
//   node --import tsx bench/relay/capacity.ts [--quick | --full] [--drive-hz 20] [--viewer-hz 2] [--p99-bound 50]
// Growing steps: robots with one driver sending drive at --drive-hz (the app's 50 ms) and viewers
// sending heartbeats at --viewer-hz (the app's 500 ms), up to the goal of 1,000 robots + 5,000
// clients. Per step: connections, offered and delivered messages/s, p50/p99 client send → robot
// receive, relay RSS per connection, relay and generator CPU, the 1-minute load average, errors;
// the first step that breaks (p99 over the bound or messages lost). Then a saturation phase (fixed
// connections, every client at the same rising rate) whose best delivered rate within the bound
// gives the ours/baseline ratio "at equal p99". Light load first: the relay's added latency =
// one-way through the relay minus one direct WebSocket hop (the floor).
// Writes bench/results/relay-capacity-<date>.json and prints Markdown tables.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonEvent, launch, launchCommand, ROOT, stopProc, type Proc } from '../../scripts/stack.ts';
import { hashSecret } from '../../server/relay/access.ts';
import { hashGeneratedPassword } from '../../server/relay/robot-password.ts';
import type { InviteRecord, RobotRecord, SessionRecord } from '../../server/relay/store.ts';
import { histPercentiles, Loadgen, type ClientSpec, type HistPairs, type RobotSpec, type RunResult, type Target } from './loadgen.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, full: { type: 'boolean', default: false },
    'drive-hz': { type: 'string', default: '20' }, 'viewer-hz': { type: 'string', default: '2' }, 'p99-bound': { type: 'string', default: '50' },
    'clients-per-robot': { type: 'string', default: '5' }, 'gen-cores': { type: 'string' },
    steps: { type: 'string' }, side: { type: 'string', default: 'both' },
  },
});
const FULL = values.full && !values.quick;
/** The relay refuses more than 60 messages/s per socket (protocol/limits.ts). */
const DRIVE_HZ = Math.min(50, Math.max(1, Number(values['drive-hz']) || 20));
const VIEWER_HZ = Math.min(50, Math.max(0.5, Number(values['viewer-hz']) || 2));
const P99_BOUND_MS = Math.max(1, Number(values['p99-bound']) || 50);
const PER_ROBOT = Math.min(30, Math.max(1, Number(values['clients-per-robot']) || 5));
/** GOMAXPROCS of the generator (default: every core). */
const GEN_CORES = values['gen-cores'] ? Math.max(1, Number(values['gen-cores']) || 1) : undefined;
/** Robots per step (clients = robots × PER_ROBOT: one driver, the rest viewers sending heartbeats). */
/** --steps 250,1000 and --side ours: a subset, for profiling (the table then has gaps). */
const STEP_ARG = values.steps ? values.steps.split(',').map(Number).filter((n) => n > 0 && n <= 5000) : null;
const STEPS = STEP_ARG?.length ? STEP_ARG : FULL ? [10, 100, 250, 500, 1000, 1500, 2000] : [10, 100, 250, 500, 1000];
const STEP_MS = FULL ? 8000 : 1500;
const SAT_ROBOTS = FULL ? 400 : 200;
/** Per-client rates of the saturation phase (every client at this rate; the relay's own limit is 60/s per socket). */
const SAT_RATES = FULL ? [5, 10, 15, 20, 25, 30, 35, 40, 50] : [5, 10, 15, 20, 30, 40];
const SAT_MS = FULL ? 5000 : 1500;
const LIGHT = { rateHz: 50, count: FULL ? 1000 : 100 };
const DRAIN_MS = 2000;
/** Robot ids used in one side's run: r0 light load, then the steps, then the saturation phase. */
const TOTAL_ROBOTS = 1 + STEPS[STEPS.length - 1]! + SAT_ROBOTS;
const ADMIN_KEY = randomBytes(18).toString('base64url');

// ---- processes -------------------------------------------------------------------------------

const procs: Proc[] = [];
let gen: Loadgen | null = null;
const tmp = mkdtempSync(join(tmpdir(), 'havatar-bench-relay-'));
async function cleanup(): Promise<void> {
  await gen?.stop();
  gen = null;
  for (const p of procs.splice(0)) await stopProc(p, 1000);
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(130)));

interface Merged extends Omit<RunResult, 'hist'> { latencyMs: { p50: number | null; p99: number | null; max: number | null } }
function summarize(r: RunResult): Merged {
  const [p50, p99, max] = histPercentiles(r.hist as HistPairs, [0.5, 0.99, 1]);
  return { ...r, latencyMs: { p50: p50 ?? null, p99: p99 ?? null, max: max ?? null } };
}

function procStat(pid: number): { rssKb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKb, cpuTicks: Number(f[11]) + Number(f[12]) }; // utime + stime (fields 14, 15)
}
const CLK_TCK = 100;

// ---- our relay: credentials in its state file --------------------------------------------------

interface Creds { password: string; driverToken: string; viewerToken: string }
/**
 * Writes relay-state.json the way the admin API would (the relay's own record types and hashes):
 * registering 1,000+ robots and redeeming 2,000+ invites through HTTP rewrites the whole file each
 * time and took minutes. The relay verifies every handshake against these hashes as usual.
 */
function seedOurs(dataDir: string, n: number): Map<string, Creds> {
  const creds = new Map<string, Creds>();
  const robots: Record<string, RobotRecord> = {}, invites: Record<string, InviteRecord> = {}, sessions: Record<string, SessionRecord> = {};
  const now = Date.now(), expiresAt = now + 2 * 3600_000;
  const secret = () => randomBytes(24).toString('base64url');
  for (let i = 0; i < n; i++) {
    const id = `r${i}`;
    const c: Creds = { password: secret(), driverToken: `hs_${secret()}`, viewerToken: `hs_${secret()}` };
    creds.set(id, c);
    robots[id] = { id, secretHash: hashGeneratedPassword(c.password), createdAt: now };
    for (const [role, token] of [['driver', c.driverToken], ['viewer', c.viewerToken]] as const) {
      const inv = `${id}-${role}-inv`, ses = `${id}-${role}-ses`;
      invites[inv] = { id: inv, hash: hashSecret(secret()), robot: id, role, expiresAt, createdAt: now };
      sessions[ses] = { id: ses, tokenHash: hashSecret(token), robot: id, role, inviteId: inv, expiresAt, createdAt: now };
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, 'relay-state.json'), JSON.stringify({ robots, invites, sessions }), { mode: 0o600 });
  return creds;
}
/** One driver and (perRobot-1) viewer sockets per robot (viewers share a session). */
function specs(ids: string[], perRobot: number, creds: Map<string, Creds> | null): { robots: RobotSpec[]; clients: ClientSpec[] } {
  return {
    robots: ids.map((id) => ({ id, password: creds?.get(id)?.password })),
    clients: ids.flatMap((id) => Array.from({ length: perRobot }, (_, k) => ({
      id: k ? `${id}-v${k}` : `${id}-d`, robot: id, driver: k === 0,
      token: creds ? (k ? creds.get(id)!.viewerToken : creds.get(id)!.driverToken) : undefined,
    }))),
  };
}

// ---- one relay, all phases ---------------------------------------------------------------------

interface Step {
  robots: number; clients: number; driverHz: number; viewerHz: number; connectFailed: number; connectMs: number;
  offeredPerSec: number; deliveredPerSec: number; lost: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null;
  errors: number; closes: number; errorSample: string[]; rssMb: number; rssPerConnKb: number | null; relayCpuPercent: number;
  genCpuPercent: number; genTickLateP99Ms: number; intendedPerSec: number; genLimited: boolean; load1: number; broken: string | null;
  /** Relay CPU time per delivered message (its ack included), µs: far steadier than latency when other work shares the machine. */
  relayCpuUsPerMsg: number | null; tries: number; sent: number;
}
interface Side {
  relay: string; idleRssMb: number;
  light: { p50Ms: number | null; p99Ms: number | null; addedP50Ms: number | null; addedP99Ms: number | null; relayInternal?: unknown; samples: number };
  steps: Step[]; saturation: Step[]; breaksAt: string | null; capacityPerSec: number;
}

function verdict(r: Merged, failed: number): string | null {
  if (failed) return `${failed} connections failed`;
  if (r.delivered < r.sent) return `${r.sent - r.delivered} of ${r.sent} messages lost`;
  if (r.latencyMs.p99 !== null && r.latencyMs.p99 > P99_BOUND_MS) return `p99 ${r.latencyMs.p99} ms > ${P99_BOUND_MS} ms`;
  return null;
}

const cpuPercent = (ticks: number, wallS: number) => Math.round((ticks / CLK_TCK / wallS) * 100);

async function measure(g: Loadgen, pid: number, driverHz: number, viewerHz: number, ms: number, idleRssKb: number, conns: { robots: number; clients: number; failed: number; connectMs: number }, settledRssKb: number): Promise<Step> {
  const s0 = procStat(pid), g0 = procStat(g.pid);
  const t0 = performance.now();
  const r = summarize(await g.run(driverHz, viewerHz, ms, DRAIN_MS));
  const s1 = procStat(pid), g1 = procStat(g.pid);
  const wall = (performance.now() - t0) / 1000;
  const n = conns.robots + conns.clients;
  return {
    robots: conns.robots, clients: conns.clients, driverHz, viewerHz, connectFailed: conns.failed, connectMs: conns.connectMs,
    sent: r.sent, offeredPerSec: Math.round(r.sent / r.seconds), deliveredPerSec: Math.round(r.delivered / r.seconds), lost: r.sent - r.delivered,
    p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, maxMs: r.latencyMs.max, errors: r.errors, closes: r.closes, errorSample: r.errorSample,
    rssMb: Math.round(s1.rssKb / 102.4) / 10, rssPerConnKb: n ? Math.round(((settledRssKb - idleRssKb) / n) * 10) / 10 : null,
    relayCpuPercent: cpuPercent(s1.cpuTicks - s0.cpuTicks, wall), genCpuPercent: cpuPercent(g1.cpuTicks - g0.cpuTicks, wall),
    genTickLateP99Ms: r.tickLateP99Ms, broken: verdict(r, conns.failed),
    intendedPerSec: Math.round(r.intended / r.seconds),
    // The generator could not offer what was asked: this step measures the generator.
    genLimited: r.sent < 0.95 * r.intended,
    load1: Number(loadavg()[0]!.toFixed(2)),
    relayCpuUsPerMsg: r.delivered ? Math.round(((s1.cpuTicks - s0.cpuTicks) / CLK_TCK / r.delivered) * 1e6) : null, tries: 1,
  };
}

/**
 * A window that breaks is run once more and the better of the two is kept (both sides alike): on
 * a machine shared with other work, one window can lose the CPU to someone else's burst.
 */
async function measureTwice(...args: Parameters<typeof measure>): Promise<Step> {
  const first = await measure(...args);
  if (!first.broken || first.connectFailed) return first;
  const second = { ...(await measure(...args)), tries: 2 };
  return second.broken && (second.p99Ms ?? Infinity) >= (first.p99Ms ?? Infinity) ? { ...first, tries: 2 } : second;
}

async function benchSide(kind: 'ours' | 'baseline'): Promise<Side> {
  const dataDir = join(tmp, `relay-${kind}`);
  const creds = kind === 'ours' ? seedOurs(dataDir, TOTAL_ROBOTS) : null;
  const relay = kind === 'ours'
    // RELAY_CPU_PROF=<dir>: our relay runs under --cpu-prof (profile written when it stops).
    ? await launchCommand('relay', process.execPath, [
      ...(process.env.RELAY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RELAY_CPU_PROF}`] : []),
      '--import', 'tsx', join(ROOT, 'server/relay/main.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir,
    ], jsonEvent('listening'), { env: { ADMIN_API_KEY: ADMIN_KEY, MEDIAMTX_API_URL: 'none', HAVATAR_LOG_LEVEL: 'warn' }, timeoutMs: 30_000 })
    : await launch('baseline', 'bench/baseline/socketio-relay.ts', ['--port', '0'], 'listening', { timeoutMs: 30_000 });
  procs.push(relay);
  const pid = relay.child.pid!;
  const base = `http://127.0.0.1:${Number(relay.ready.port)}`;
  const target: Target = { kind, url: base };
  const g = gen = Loadgen.start(GEN_CORES);
  let made = 0;
  const next = async (n: number, perRobot = PER_ROBOT) => {
    const ids = Array.from({ length: n }, () => `r${made++}`);
    const spec = specs(ids, perRobot, creds);
    const t0 = performance.now();
    const c = await g.connect(target, spec.robots, spec.clients);
    const ms = Math.round(performance.now() - t0);
    process.stderr.write(`# ${kind}: +${spec.robots.length}/${spec.clients.length} connected in ${ms} ms\n`);
    if (c.failed) process.stderr.write(`# ${kind}: ${c.failed} connect failures, e.g. ${c.errorSample.slice(0, 3).join(' | ')}\n`);
    return { robots: spec.robots.length, clients: spec.clients.length, failed: c.failed, connectMs: ms };
  };
  const settle = async () => { await new Promise((r) => setTimeout(r, 500)); return procStat(pid).rssKb; };
  const idleRssKb = await settle();
  const log = (what: string, s: Step) => process.stderr.write(`# ${kind} ${what}: ${s.robots}/${s.clients} @${s.driverHz}/${s.viewerHz} Hz → ${s.deliveredPerSec}/s (offered ${s.offeredPerSec} of ${s.intendedPerSec}) p50 ${s.p50Ms} p99 ${s.p99Ms} ms, ${s.rssPerConnKb} KB/conn, relay CPU ${s.relayCpuPercent} % (${s.relayCpuUsPerMsg} µs/msg), gen CPU ${s.genCpuPercent} %, load ${s.load1}${s.tries > 1 ? ' (2 tries)' : ''}${s.broken ? `, BROKEN: ${s.broken}` : ''}${s.errorSample.length ? ` [${s.errorSample.join(' | ')}]` : ''}\n`);

  // Light load: one robot, one driver at 50 Hz, then the direct hop (the floor).
  await next(1, 1);
  const light = summarize(await g.run(LIGHT.rateHz, 0, (LIGHT.count / LIGHT.rateHz) * 1000, DRAIN_MS));
  const floor = summarize(await g.direct(LIGHT.rateHz, LIGHT.count));
  let relayInternal: unknown;
  if (kind === 'ours') relayInternal = ((await (await fetch(`${base}/api/status`)).json()) as { status: { forwardLatencyMs: unknown } }).status.forwardLatencyMs;
  const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : Number((a - b).toFixed(3)));
  const side: Side = {
    relay: kind, idleRssMb: Math.round(idleRssKb / 102.4) / 10,
    light: { p50Ms: light.latencyMs.p50, p99Ms: light.latencyMs.p99, addedP50Ms: sub(light.latencyMs.p50, floor.latencyMs.p50), addedP99Ms: sub(light.latencyMs.p99, floor.latencyMs.p99), relayInternal, samples: light.delivered },
    steps: [], saturation: [], breaksAt: null, capacityPerSec: 0,
  };
  process.stderr.write(`# ${kind} light load: p50 ${light.latencyMs.p50} p99 ${light.latencyMs.p99} ms; direct hop p50 ${floor.latencyMs.p50} p99 ${floor.latencyMs.p99} ms\n`);
  await g.closeAll();

  // Growing steps: drivers at DRIVE_HZ, viewers at VIEWER_HZ.
  let have = { robots: 0, clients: 0, failed: 0, connectMs: 0 };
  for (const robots of STEPS) {
    const add = await next(robots - have.robots);
    have = { robots: have.robots + add.robots, clients: have.clients + add.clients, failed: have.failed + add.failed, connectMs: add.connectMs };
    const s = await measureTwice(g, pid, DRIVE_HZ, VIEWER_HZ, STEP_MS, idleRssKb, have, await settle());
    side.steps.push(s); log('step', s);
    if (s.broken && !side.breaksAt) side.breaksAt = `${s.robots} robots / ${s.clients} clients: ${s.broken}`;
    if (s.broken && s.connectFailed > s.clients / 2) break; // nothing more to learn
  }
  await g.closeAll();

  // Saturation: fixed connections, every client at the same rising rate, until the bound breaks
  // (after the last step's thousands of sockets are gone and collected).
  await new Promise((r) => setTimeout(r, 2000));
  const sat = await next(SAT_ROBOTS);
  const satRss = await settle();
  for (const rate of SAT_RATES) {
    const s = await measureTwice(g, pid, rate, rate, SAT_MS, idleRssKb, sat, satRss);
    side.saturation.push(s); log('saturation', s);
    if (s.broken) break;
  }
  // Capacity: the most delivered within the bound, in any step or saturation run.
  side.capacityPerSec = Math.max(0, ...[...side.steps, ...side.saturation].filter((s) => !s.broken).map((s) => s.deliveredPerSec));
  await g.stop();
  gen = null;
  await stopProc(relay, 2000);
  procs.splice(procs.indexOf(relay), 1);
  return side;
}

// ---- main -------------------------------------------------------------------------------------

const started = Date.now();
const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
const ulimit = (() => { try { return readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1] ?? '?'; } catch { return '?'; } })();
const need = STEPS[STEPS.length - 1]! * (PER_ROBOT + 1) + 200; // the relay holds every socket
if (Number(ulimit) < need) process.stderr.write(`# warning: open-files limit ${ulimit} < ${need} sockets per process; raise it (ulimit -n) before --full\n`);
let ours: Side, baseline: Side;
try {
  const skipped = (relay: string): Side => ({ relay, idleRssMb: 0, light: { p50Ms: null, p99Ms: null, addedP50Ms: null, addedP99Ms: null, samples: 0 }, steps: [], saturation: [], breaksAt: 'not run', capacityPerSec: 0 });
  ours = values.side === 'baseline' ? skipped('ours') : await benchSide('ours');
  baseline = values.side === 'ours' ? skipped('baseline') : await benchSide('baseline');
} finally {
  await cleanup();
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '–' : x.toFixed(d));
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : '–');
const all = [...ours.saturation, ...ours.steps, ...baseline.saturation, ...baseline.steps];
const lines: string[] = [];
lines.push(`## Relay capacity (${FULL ? 'full' : 'quick'}; ${cpus().length} cores, load average at start ${load0} (other work on the machine); ${PER_ROBOT} clients per robot: 1 driver sending drive at ${DRIVE_HZ} Hz, ${PER_ROBOT - 1} viewers sending heartbeats at ${VIEWER_HZ} Hz; p99 bound ${P99_BOUND_MS} ms; open-files limit ${ulimit}; load generator: Go (bench/relay/loadgen), ${GEN_CORES ?? cpus().length} core${(GEN_CORES ?? cpus().length) > 1 ? 's' : ''}, raw WebSocket frames for both relays)`, '');
lines.push('Light load (1 robot, 1 driver at 50 Hz): one-way client send → robot receive, and added = minus one direct WebSocket hop (goal: ≤ 1 ms p50, ≤ 5 ms p99)', '');
lines.push('| relay | p50 ms | p99 ms | added p50 ms | added p99 ms | relay-internal (ours) |', '|---|---|---|---|---|---|');
for (const s of [ours, baseline]) lines.push(`| ${s.relay} | ${f(s.light.p50Ms, 2)} | ${f(s.light.p99Ms, 2)} | ${f(s.light.addedP50Ms, 2)} | ${f(s.light.addedP99Ms, 2)} | ${s.light.relayInternal ? JSON.stringify(s.light.relayInternal) : '–'} |`);
lines.push('', `Growing load, drive at ${DRIVE_HZ} Hz and viewer heartbeats at ${VIEWER_HZ} Hz (goal: 1,000 robots + 5,000 clients with p99 ≤ ${P99_BOUND_MS} ms and nothing lost). Memory per connection = relay RSS after connecting − idle RSS, over robots + clients; CPU in % of one core (the generator may use every core); load = 1-minute load average after the step`, '');
lines.push('| robots / clients | relay | delivered msg/s (offered) | p50 ms | p99 ms | KB/conn | relay RSS MB | relay CPU % | relay CPU µs/msg | gen CPU % | load | errors | lost | ratio msg/s ours/base | broken |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (let i = 0; i < Math.max(ours.steps.length, baseline.steps.length); i++) {
  for (const s of [ours, baseline]) {
    const st = s.steps[i];
    if (!st) continue;
    const other = (s === ours ? baseline : ours).steps[i];
    lines.push(`| ${st.robots} / ${st.clients} | ${s.relay} | ${st.deliveredPerSec} (${st.offeredPerSec}) | ${f(st.p50Ms, 2)} | ${f(st.p99Ms, 2)} | ${f(st.rssPerConnKb)} | ${f(st.rssMb)} | ${st.relayCpuPercent} | ${st.relayCpuUsPerMsg ?? '–'} | ${st.genCpuPercent} | ${f(st.load1)} | ${st.errors + st.connectFailed} | ${st.lost} | ${s === ours && other ? ratio(st.deliveredPerSec, other.deliveredPerSec) : ''} | ${st.broken ?? ''}${st.tries > 1 ? ' (2 tries)' : ''}${st.genLimited ? ` (generator-limited: offered ${st.offeredPerSec} of ${st.intendedPerSec}/s)` : ''} |`);
  }
}
lines.push('', `Saturation (${SAT_ROBOTS} robots / ${SAT_ROBOTS * PER_ROBOT} clients, every client at the same rising rate until p99 > ${P99_BOUND_MS} ms or a message is lost)`, '');
lines.push('| rate Hz | relay | delivered msg/s | p50 ms | p99 ms | relay CPU % | relay CPU µs/msg | gen CPU % | gen tick late p99 ms | load | broken |', '|---|---|---|---|---|---|---|---|---|---|---|');
for (let i = 0; i < SAT_RATES.length; i++) for (const s of [ours, baseline]) {
  const st = s.saturation[i];
  if (st) lines.push(`| ${st.driverHz} | ${s.relay} | ${st.deliveredPerSec} | ${f(st.p50Ms, 2)} | ${f(st.p99Ms, 2)} | ${st.relayCpuPercent} | ${st.relayCpuUsPerMsg ?? '–'} | ${st.genCpuPercent} | ${st.genTickLateP99Ms} | ${f(st.load1)} | ${st.broken ?? ''}${st.tries > 1 ? ' (2 tries)' : ''}${st.genLimited ? ` (generator-limited: offered ${st.offeredPerSec} of ${st.intendedPerSec}/s)` : ''} |`);
}
const capRatio = ratio(ours.capacityPerSec, baseline.capacityPerSec);
const goalStep = ours.steps.find((s) => s.robots >= 1000);
lines.push('', `Capacity (most delivered in any step or saturation run within p99 ≤ ${P99_BOUND_MS} ms, no loss): ours ${ours.capacityPerSec} msg/s, baseline ${baseline.capacityPerSec} msg/s → ratio ${capRatio} (goal ≥ 5x)` +
  (ours.saturation.length && ours.saturation.every((s) => !s.broken) ? ' — ours did not break within the rates tried: the ratio is a lower bound' : ''));
lines.push(`Goal point (1,000 robots + 5,000 clients, drive ${DRIVE_HZ} Hz): ${goalStep ? `${goalStep.deliveredPerSec} msg/s, p99 ${f(goalStep.p99Ms)} ms, ${goalStep.lost} lost → ${goalStep.broken ? `missed (${goalStep.broken})` : 'met'}` : 'not run'}.`);
/**
 * What a message costs the relay: the median CPU µs per delivered message over the windows that
 * carried at least 5,000 msg/s with under 1 % lost (fewer, and the relay's fixed work per second
 * weighs in; lost ones are not counted, so the cost looks cheaper).
 */
function cpuCost(s: Side): number | null {
  const xs = [...s.steps, ...s.saturation].filter((x) => x.deliveredPerSec >= 5000 && x.lost < 0.01 * x.sent && x.relayCpuUsPerMsg).map((x) => x.relayCpuUsPerMsg!).sort((a, b) => a - b);
  return xs.length ? xs[Math.floor(xs.length / 2)]! : null;
}
const costOurs = cpuCost(ours), costBase = cpuCost(baseline);
const goalRate = Math.round(1000 * (DRIVE_HZ + (PER_ROBOT - 1) * VIEWER_HZ));
lines.push(`CPU per message (median over windows of ≥ 5,000 msg/s with < 1 % lost): ours ${costOurs ?? '–'} µs, baseline ${costBase ?? '–'} µs${costOurs && costBase ? ` → ours costs ${(costBase / costOurs).toFixed(2)}x less` : ''}. At that cost one core would carry about ${costOurs ? Math.round(1e6 / costOurs) : '–'} msg/s (ours) and ${costBase ? Math.round(1e6 / costBase) : '–'} msg/s (baseline); the goal point is ${goalRate} msg/s.`);
const held = (s: Side) => { const ok = s.steps.filter((x) => !x.broken); const last = ok[ok.length - 1]; return last ? `${last.robots} robots / ${last.clients} clients (${last.deliveredPerSec} msg/s, p99 ${f(last.p99Ms)} ms)` : 'no step'; };
lines.push(`Breaks (first step over the bound): ours ${ours.breaksAt ?? 'not within the steps'}; baseline ${baseline.breaksAt ?? 'not within the steps'}. Last step held: ours ${held(ours)}; baseline ${held(baseline)}.`);
const genMax = Math.max(0, ...all.map((s) => s.genCpuPercent));
const genLimited = all.filter((s) => s.genLimited).length;
lines.push(`Honest limits: ${cpus().length} cores shared by the relay under test (one event loop: ~100 % is its ceiling) and the load generator (at most ${genMax} % of a core here, out of ${100 * (GEN_CORES ?? cpus().length)} %), and with other work on the machine (the load column). ${genLimited ? `The generator could not offer the asked rate in ${genLimited} step(s), marked: those measure the generator as much as the relay.` : 'The generator offered every asked rate.'} A window that broke was run once more and the better kept (marked 2 tries), on both sides alike. Relay CPU µs/msg = the relay's CPU time over the window ÷ messages delivered (each with its ack): the cost per message, far steadier than latency when others share the machine (it still moves: a relay that falls behind batches more per write), and 1,000,000 ÷ it is roughly what one core could carry. Relay CPU above 100 % is kernel and GC threads beside the event loop. KB/conn is RSS growth over the idle relay, so heap the relay kept from earlier steps counts in later ones. Latency includes both ends' frame work in the generator.`);
lines.push('', `Command: node --import tsx bench/relay/capacity.ts ${FULL ? '--full' : '--quick'}${values['drive-hz'] !== '20' ? ` --drive-hz ${DRIVE_HZ}` : ''}${values['viewer-hz'] !== '2' ? ` --viewer-hz ${VIEWER_HZ}` : ''} (${Math.round((Date.now() - started) / 1000)} s)`);

const result = {
  bench: 'relay-capacity', mode: FULL ? 'full' : 'quick', date: new Date().toISOString(), cores: cpus().length, loadAverageAtStart: load0, loadAverageAtEnd: loadavg(), openFilesLimit: ulimit,
  driveHz: DRIVE_HZ, viewerHz: VIEWER_HZ, clientsPerRobot: PER_ROBOT, p99BoundMs: P99_BOUND_MS, stepMs: STEP_MS, generator: { kind: 'go', cores: GEN_CORES ?? cpus().length },
  cpuUsPerMsg: { ours: costOurs, baseline: costBase }, ours, baseline, capacityRatio: baseline.capacityPerSec ? ours.capacityPerSec / baseline.capacityPerSec : null,
  seconds: Math.round((Date.now() - started) / 1000),
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out = join(ROOT, 'bench/results', `relay-capacity-${new Date().toISOString().slice(0, 10)}.json`);
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(lines.join('\n'));
console.log(`\nwritten: ${out.slice(ROOT.length + 1)}`);
