// The relay capacity bench's load generator (bench/relay/loadgen/, Go): built on demand into a
// cache outside the repo (like scripts/build-mediamtx.sh; the binary is named by a hash of its
// sources, so an edited generator is rebuilt and a stale one never runs), started as a child, and
// asked over stdin/stdout one JSON line at a time. Go, because a generator in Node on the same two
// cores cost about as much per message as the relay under test and became the limit it measured.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SOURCE_DIR = new URL('./loadgen/', import.meta.url).pathname;

export type Target = { kind: 'ours' | 'baseline'; url: string };
export interface RobotSpec { id: string; password?: string }
export interface ClientSpec { id: string; robot: string; token?: string; driver: boolean }
export type Request =
  | { op: 'connect'; target: Target; robots: RobotSpec[]; clients: ClientSpec[] }
  /** Drivers send drive at driverHz, viewers heartbeats at viewerHz, for ms; then up to drainMs for stragglers. */
  | { op: 'run'; driverHz: number; viewerHz: number; ms: number; drainMs: number }
  | { op: 'direct'; rateHz: number; count: number }
  | { op: 'closeAll' }
  | { op: 'exit' };
/** Latency histogram: [bucket index, count] pairs (10 µs buckets to 20 ms, then 1 ms to 10 s). */
export type HistPairs = [number, number][];
export interface RunResult {
  sent: number; intended: number; delivered: number; acks: number; errors: number; closes: number; errorSample: string[];
  hist: HistPairs; seconds: number; tickLateP99Ms: number;
}
export interface Connected { clients: number; failed: number; ms: number; errorSample: string[] }

const FINE = 2000;
/** The middle of a bucket, in ms (the buckets are bench/relay/loadgen/hist.go's). */
export const histValue = (i: number): number => (i < FINE ? (i + 0.5) / 100 : FINE / 100 + (i - FINE) + 0.5);
export function histPercentiles(pairs: HistPairs, ps: number[]): (number | null)[] {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((a, [, n]) => a + n, 0);
  return ps.map((p) => {
    if (!total) return null;
    const rank = Math.min(total - 1, Math.floor(p * total));
    let seen = 0;
    for (const [i, n] of sorted) { seen += n; if (seen > rank) return Number(histValue(i).toFixed(3)); }
    return null;
  });
}

function goCommand(): string {
  if (process.env.GO) return process.env.GO;
  const onPath = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (onPath.status === 0) return 'go';
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('the relay load generator needs Go (https://go.dev/dl): none on PATH or in /usr/local/go');
}

/** The built generator's path; builds it (a few seconds, once per source change) when missing. */
export function loadgenBinary(): string {
  const files = readdirSync(SOURCE_DIR).filter((f) => f.endsWith('.go') || f === 'go.mod').sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(readFileSync(join(SOURCE_DIR, f))).update('\0');
  const cache = process.env.HAVATAR_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'havatar');
  const bin = join(cache, `relay-loadgen-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  process.stderr.write(`# building the relay load generator into ${bin}\n`);
  const r = spawnSync(goCommand(), ['build', '-trimpath', '-o', tmp, '.'], { cwd: SOURCE_DIR, env: { ...process.env, CGO_ENABLED: '0' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the relay load generator failed: ${r.error?.message ?? r.stderr}`);
  renameSync(tmp, bin); // atomic: a concurrent build of the same sources leaves the same binary
  return bin;
}

/** One running generator. Requests are answered in order; each ask waits for its own answer. */
export class Loadgen {
  private readonly answers: ((line: string) => void)[] = [];
  private exited: Error | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.answers.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('exit', (code, signal) => {
      this.exited = new Error(`load generator exited (${signal ?? code})`);
      for (const a of this.answers.splice(0)) a(JSON.stringify({ op: 'failed', error: this.exited.message }));
    });
  }

  /** `cores`: GOMAXPROCS, the cores the generator may use at once (default: all). */
  static start(cores?: number): Loadgen {
    const env = { ...process.env, ...(cores ? { GOMAXPROCS: String(cores) } : {}) };
    return new Loadgen(spawn(loadgenBinary(), [], { stdio: ['pipe', 'pipe', 'pipe'], env }));
  }

  get pid(): number { return this.child.pid!; }

  ask<T>(req: Request, timeoutMs = 300_000): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`load generator: no answer to ${req.op} in ${timeoutMs} ms`)), timeoutMs);
      this.answers.push((line) => {
        clearTimeout(t);
        const m = JSON.parse(line) as { op: string; error?: string } & T;
        if (m.op === 'failed') reject(new Error(`load generator: ${m.error}`)); else resolve(m);
      });
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** A relay that times out every handshake (10 s each, 64 at a time) takes ~160 ms a socket: wait that long, at least 300 s. */
  connect(target: Target, robots: RobotSpec[], clients: ClientSpec[]): Promise<Connected> {
    return this.ask({ op: 'connect', target, robots, clients }, Math.max(300_000, (robots.length + clients.length) * 200));
  }
  async run(driverHz: number, viewerHz: number, ms: number, drainMs: number): Promise<RunResult> {
    return (await this.ask<{ result: RunResult }>({ op: 'run', driverHz, viewerHz, ms, drainMs }, ms + drainMs + 60_000)).result;
  }
  async direct(rateHz: number, count: number): Promise<RunResult> { return (await this.ask<{ result: RunResult }>({ op: 'direct', rateHz, count })).result; }
  async closeAll(): Promise<void> { await this.ask({ op: 'closeAll' }); }

  /** Asks it to exit; kills it if it has not within a second. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end(JSON.stringify({ op: 'exit' }) + '\n');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await gone;
    clearTimeout(t);
  }
}
