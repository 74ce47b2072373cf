// Small helpers shared by the benchmarks: percentiles, /proc sampling, machine description, the
// one-JSON-line result convention (`BENCH_RESULT {...}` on stdout, read by bench/run.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { sleep, waitFor as waitForOutcome } from '../../common/wait.ts';
import { SERIAL_BAUD, encodeSerial } from '../../protocol/serial.ts';

export { sleep };

export interface Dist { n: number; p50: number; p95: number; p99: number; max: number; min: number; mean: number }

export function dist(xs: readonly number[]): Dist | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(s[s.length - 1]!), min: r(s[0]!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

export const round1 = (v: number) => Math.round(v * 10) / 10;

/** One $S frame on the UART (10 bits a byte): the "+ one serial frame" of the deadman stop goal. */
export const STOP_FRAME_MS = round1((encodeSerial({ type: 'S', seq: 65535 }).length * 10 * 1000) / SERIAL_BAUD);

/** common/wait's waitFor with the benchmarks' defaults: until `fn` returns a truthy value, 15 s, every 50 ms. */
export const waitFor = <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15000, everyMs = 50): Promise<T> =>
  waitForOutcome(what, fn, (v) => Boolean(v), { timeoutMs, everyMs });

export const CLK_TCK = 100;

export interface ProcStat { pid: number; rssKb: number; cpuTicks: number; fds: number }

export function procStat(pid: number): ProcStat | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let fds = 0;
    try { fds = readdirSync(`/proc/${pid}/fd`).length; } catch { /* not ours to read */ }
    return { pid, rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), cpuTicks: Number(f[11]) + Number(f[12]), fds };
  } catch {
    return null;
  }
}

/** Direct and indirect children of `pid` (from /proc/<pid>/task/<tid>/children). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number, depth: number) => {
    if (depth > 5) return;
    let tasks: string[] = [];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const t of tasks) {
      let kids = '';
      try { kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8'); } catch { continue; }
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) { out.push(k); visit(k, depth + 1); }
    }
  };
  visit(pid, 0);
  return out;
}

export function procName(pid: number): string {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return '?'; }
}

export function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { return ''; }
}

/**
 * Samples processes over `ms` (every `everyMs`): mean/max RSS and CPU % of one core. `pids` is
 * re-evaluated each sample so restarted children are picked up.
 */
export async function sampleProcs(pids: () => Record<string, number[]>, ms: number, everyMs = 500): Promise<Record<string, { cpuPct: number; rssMbMean: number; rssMbMax: number; fds: number }>> {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const rss: Record<string, number[]> = {};
  const fds: Record<string, number> = {};
  const t0 = Date.now();
  let names: Record<string, number[]> = {};
  while (Date.now() - t0 < ms) {
    names = pids();
    for (const [name, list] of Object.entries(names)) {
      let total = 0;
      let nfd = 0;
      for (const pid of list) {
        const s = procStat(pid);
        if (!s) continue;
        if (!first.has(pid)) first.set(pid, s.cpuTicks);
        last.set(pid, s.cpuTicks);
        total += s.rssKb;
        nfd += s.fds;
      }
      (rss[name] ??= []).push(total / 1024);
      fds[name] = nfd;
    }
    await sleep(everyMs);
  }
  const elapsedS = (Date.now() - t0) / 1000;
  const out: Record<string, { cpuPct: number; rssMbMean: number; rssMbMax: number; fds: number }> = {};
  for (const [name, list] of Object.entries(names)) {
    let ticks = 0;
    for (const pid of list) ticks += (last.get(pid) ?? 0) - (first.get(pid) ?? 0);
    const r = rss[name] ?? [0];
    out[name] = { cpuPct: round1((ticks / CLK_TCK / elapsedS) * 100), rssMbMean: round1(r.reduce((a, b) => a + b, 0) / r.length), rssMbMax: round1(Math.max(...r)), fds: fds[name] ?? 0 };
  }
  return out;
}

export interface Machine { cores: number; cpu: string; memGb: number; load: number[]; node: string; chromium?: string; ffmpeg?: string }

export function machine(): Machine {
  const c = cpus();
  let ffmpeg = '';
  try { ffmpeg = execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/ Copyright.*/, ''); } catch { /* absent */ }
  return { cores: c.length, cpu: c[0]?.model ?? '?', memGb: Math.round(totalmem() / 2 ** 30), load: loadavg().map(round1), node: process.version, ffmpeg };
}

/** The line bench/run.ts reads from each bench's stdout. */
export function emitResult(result: Record<string, unknown>): void {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
}

/** Runs `cleanup` once on SIGINT/SIGTERM, then exits. */
export function onInterrupt(cleanup: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
export const flag = (name: string) => process.argv.includes(`--${name}`);
