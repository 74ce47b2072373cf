// Starts the whole system on this machine — simulated ESP32, bridge, and (optionally) MediaMTX and
// the relay — as supervised child processes in their own process groups, so that stopping the
// stack leaves nothing behind. `npm start` and the end-to-end tests and benchmarks use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface Ports {
  bridge: number;
  bridgeHttps: number;
  simControl: number;
}

export interface StackOptions {
  dataDir: string;
  ports: Ports;
  /** Operator token for the bridge; a fresh one when omitted. */
  token?: string;
  /** Bind address of the bridge: 127.0.0.1 for tests, 0.0.0.0 to let phones on the LAN in. */
  host?: string;
  /** Build the app first when its sources are newer than dist/. */
  build?: boolean;
  /** Child output goes here (default: discarded, except errors kept for the failure message). */
  log?: (name: string, line: string) => void;
  env?: Record<string, string>;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The JSON "ready" line the process printed. */
  ready: Record<string, unknown>;
  exited: Promise<number | null>;
}

export interface Stack {
  token: string;
  bridgeUrl: string;
  bridgeHttpsUrl: string;
  simControlUrl: string;
  serialPort: string;
  procs: Proc[];
  /** Starts (or restarts after a kill) one process by name. */
  restart(name: string): Promise<Proc>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (bound, then released: fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function freePorts(): Promise<Ports> {
  return { bridge: await freePort(), bridgeHttps: await freePort(), simControl: await freePort() };
}

/** Spawns `node --import tsx <script>` in its own process group and waits for its JSON ready line. */
export function launch(
  name: string,
  script: string,
  args: string[],
  readyEvent: string,
  opts: { env?: Record<string, string>; log?: StackOptions['log']; timeoutMs?: number } = {},
): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    opts.log?.(name, line);
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${name} did not become ready in time. Last output:\n${tail.join('\n')}`));
    }, opts.timeoutMs ?? 20000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (!line.startsWith('{')) return;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.event === readyEvent) {
          clearTimeout(timer);
          resolve({ name, child, ready: j, exited });
        }
      } catch { /* not a JSON line */ }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}) before it was ready. Last output:\n${tail.join('\n')}`));
    });
  });
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

/** Stops a process politely (SIGTERM to its group), then forcefully after `graceMs`. */
export async function stopProc(p: Proc, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  killGroup(p.child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(p.child, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
  // Children of the child (FFmpeg, socat) share its group: make sure none outlive it.
  killGroup(p.child, 'SIGKILL');
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const n of readdirSync(p)) visit(join(p, n));
    else if (!p.endsWith('.test.ts')) newest = Math.max(newest, s.mtimeMs);
  };
  paths.forEach(visit);
  return newest;
}

/** Builds the PWA into dist/ when its sources changed since the last build. */
export async function buildAppIfStale(log?: StackOptions['log']): Promise<void> {
  const sources = ['src', 'public', 'protocol', 'index.html', 'vite.config.ts', 'manifest.webmanifest'].map((p) => join(ROOT, p));
  const built = join(ROOT, 'dist', 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(sources)) return;
  if (!existsSync(join(ROOT, 'index.html'))) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    child.stderr!.on('data', (d: Buffer) => { out += d; });
    child.on('exit', (code) => {
      out.split('\n').filter(Boolean).forEach((l) => log?.('build', l));
      code === 0 ? resolve() : reject(new Error(`vite build failed:\n${out}`));
    });
  });
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  mkdirSync(join(opts.dataDir, 'pty'), { recursive: true });
  const token = opts.token ?? randomBytes(24).toString('base64url');
  if (opts.build !== false) await buildAppIfStale(opts.log);
  const procs = new Map<string, Proc>();
  const env = { HAVATAR_DATA_DIR: opts.dataDir, ...opts.env };

  const starters: Record<string, () => Promise<Proc>> = {
    sim: () =>
      launch('sim', 'bridge/sim/esp32-main.ts', ['--control-port', String(opts.ports.simControl), '--dir', join(opts.dataDir, 'pty')], 'ready', { env, log: opts.log }),
    bridge: () =>
      launch(
        'bridge',
        'bridge/main.ts',
        [
          '--port', String(opts.ports.bridge),
          '--https-port', String(opts.ports.bridgeHttps),
          '--data-dir', opts.dataDir,
          '--serial', String(procs.get('sim')!.ready.serialPort),
          '--host', opts.host ?? '127.0.0.1',
        ],
        'listening',
        { env: { ...env, HAVATAR_OPERATOR_TOKEN: token }, log: opts.log, timeoutMs: 30000 },
      ),
  };

  const stack: Stack = {
    token,
    bridgeUrl: `http://127.0.0.1:${opts.ports.bridge}`,
    bridgeHttpsUrl: `https://127.0.0.1:${opts.ports.bridgeHttps}`,
    simControlUrl: '',
    serialPort: '',
    get procs() { return [...procs.values()]; },
    async restart(name) {
      const old = procs.get(name);
      if (old) await stopProc(old);
      const p = await starters[name]!();
      procs.set(name, p);
      return p;
    },
    async stop() {
      // Reverse start order: the bridge stops the motors before the simulated ESP32 goes away.
      for (const p of [...procs.values()].reverse()) await stopProc(p);
    },
  };

  try {
    for (const name of ['sim', 'bridge']) procs.set(name, await starters[name]!());
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const sim = procs.get('sim')!.ready;
  stack.simControlUrl = String(sim.controlUrl);
  stack.serialPort = String(sim.serialPort);
  return stack;
}
