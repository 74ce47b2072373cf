// Real processes on loopback for the server tests: the relay (server/relay/main.ts), MediaMTX
// v1.20.1 with a per-test config, redis-server, FFmpeg. Every port is picked free; every child
// runs in its own process group and is killed with SIGKILL by stopAll().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { WaitTimeout } from '../../common/wait.ts';
import { renderMediamtxConfig, type MediamtxOptions } from '../mediamtx-config.ts';
import { distinctFreePorts, freePort } from '../../scripts/stack.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
export const ADMIN_KEY = 'test-admin-key-0123456789';
/**
 * The MediaMTX auth hook's shared secret: every child gets it (a relay reads it), and every
 * MediaMTX started here sends it, as a deployment's relay and MediaMTX share theirs.
 */
export const HOOK_SECRET = 'test-hook-secret-0123456789';
/**
 * The password of MediaMTX's API and metrics (MEDIAMTX_API_SECRET): every relay started here has it,
 * as a deployment's does, and a test that reads MediaMTX's API sends it (`mtxApiAuth`).
 */
export const API_SECRET = 'test-internal-api-secret-0123456789';
export const mtxApiAuth = { Authorization: `Basic ${Buffer.from(`havatar:${API_SECRET}`).toString('base64')}` };

export { freePort };

export interface Proc { child: ChildProcess; lines: string[]; exited: Promise<number | null> }
const procs = new Set<Proc>();
const dirs = new Set<string>();

export function tempDir(prefix = 'havatar-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** Spawns a process in its own group; resolves once a stdout/stderr line matches `ready`. */
export function launch(cmd: string, args: string[], ready: RegExp | null, opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<Proc & { readyLine: string }> {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MEDIAMTX_AUTH_SECRET: HOOK_SECRET, MEDIAMTX_API_SECRET: API_SECRET, ...opts.env } });
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const p: Proc = { child, lines, exited };
  procs.add(p);
  return new Promise((resolve, reject) => {
    if (!ready) return resolve({ ...p, readyLine: '' });
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in time:\n${lines.slice(-20).join('\n')}`)), opts.timeoutMs ?? 15000);
    const onLine = (line: string) => {
      lines.push(line);
      if (ready.test(line)) { clearTimeout(timer); resolve({ ...p, readyLine: line }); }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`${cmd} exited ${code}:\n${lines.slice(-20).join('\n')}`)); });
  });
}

export function kill(p: Proc): Promise<number | null> {
  try { process.kill(-p.child.pid!, 'SIGKILL'); } catch { /* gone */ }
  procs.delete(p);
  return p.exited;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...procs].map((p) => kill(p)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

export interface RelayProc extends Proc { port: number; url: string; ws: string }

export async function startRelay(opts: { dataDir?: string; mediamtxApiUrl?: string; redisUrl?: string; env?: Record<string, string> } = {}): Promise<RelayProc> {
  const env: Record<string, string> = {
    ADMIN_API_KEY: ADMIN_KEY, MEDIAMTX_API_URL: opts.mediamtxApiUrl ?? 'none', HAVATAR_LOG_LEVEL: 'info', ...opts.env,
  };
  if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
  const p = await launch('node', ['--import', 'tsx', 'server/relay/main.ts', '--port', '0', '--host', '127.0.0.1', '--data-dir', opts.dataDir ?? tempDir()], /"event":"listening"/, { env });
  const port = (JSON.parse(p.readyLine) as { port: number }).port;
  return { ...p, port, url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

export interface MediamtxProc extends Proc { rtsp: number; webrtc: number; hls: number; api: number; metrics: number; udp: number; configPath: string }

export function mediamtxBin(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/build-mediamtx.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`MediaMTX not available: ${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

export async function mediamtxPorts() {
  return distinctFreePorts(['rtsp', 'webrtc', 'hls', 'api', 'metrics', 'udp'] as const);
}

export async function startMediamtx(authUrl: string, ports?: Awaited<ReturnType<typeof mediamtxPorts>>, extra: Partial<MediamtxOptions> = {}): Promise<MediamtxProc> {
  const p = ports ?? (await mediamtxPorts());
  const dir = tempDir('havatar-mtx-');
  const configPath = join(dir, 'mediamtx.yml');
  writeFileSync(configPath, renderMediamtxConfig({
    host: '127.0.0.1', rtspPort: p.rtsp, webrtcPort: p.webrtc, webrtcUdpPort: p.udp, hlsPort: p.hls, apiPort: p.api,
    metricsPort: p.metrics, appOrigins: ['http://127.0.0.1:5173'], authUrl, authSecret: HOOK_SECRET, loopbackOnly: true, ...extra,
  }));
  const proc = await launch(mediamtxBin(), [configPath], /\[API\] started/, { cwd: dir });
  return { ...proc, ...p, configPath };
}

/**
 * server/Caddyfile in a real Caddy (plain HTTP on a free loopback port, admin endpoint off, an
 * empty app) in front of the relay and MediaMTX on the given ports; resolves to its base URL.
 */
export async function startCaddy(up: { relay: number; webrtc: number; hls: number }): Promise<string> {
  const port = await freePort();
  const dir = tempDir('havatar-caddy-');
  mkdirSync(join(dir, 'app'));
  const base = `http://127.0.0.1:${port}`;
  await launch('caddy', ['run', '--adapter', 'caddyfile', '--config', join(ROOT, 'server/Caddyfile')], /serving initial configuration|server running/, {
    env: {
      HAVATAR_DOMAIN: base, CADDY_ADMIN: 'off', APP_ROOT: join(dir, 'app'), XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir,
      RELAY_UPSTREAM: `127.0.0.1:${up.relay}`, WEBRTC_UPSTREAM: `127.0.0.1:${up.webrtc}`, HLS_UPSTREAM: `127.0.0.1:${up.hls}`,
    },
  });
  return base;
}

export async function startRedis(): Promise<(Proc & { url: string }) | null> {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) return null;
  const port = await freePort();
  const dir = tempDir('havatar-redis-');
  const p = await launch('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);
  return { ...p, url: `redis://127.0.0.1:${port}` };
}

// ---- HTTP and WebSocket helpers ---------------------------------------------------------------

export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, {
    method, headers: { 'Content-Type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}
export const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

export async function registerRobot(base: string, robot: string): Promise<string> {
  const r = await api(base, 'POST', '/api/robot/register', { robot }, admin);
  if (r.status !== 201) throw new Error(`register ${r.status} ${r.text}`);
  return r.json.password as string;
}

export async function sessionFor(base: string, robot: string, role: 'driver' | 'viewer'): Promise<string> {
  const inv = await api(base, 'POST', '/api/invites', { robot, role, ttl: '1h' }, admin);
  if (inv.status !== 201) throw new Error(`invite ${inv.status} ${inv.text}`);
  const token = (inv.json.invite as { token: string }).token;
  const s = await api(base, 'POST', '/api/session', { invite: token });
  if (s.status !== 201) throw new Error(`session ${s.status} ${s.text}`);
  return s.json.token as string;
}

/**
 * A WebSocket that records every JSON frame and lets a test wait for one. A wait that gives up
 * names the frame it waited for (the predicate's source), the socket, and the last frames seen
 * (newest first).
 */
export class Peer {
  readonly frames: Record<string, unknown>[] = [];
  private waiters: { pred: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
  closed: Promise<{ code: number; at: number }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as Record<string, unknown>;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
    this.closed = new Promise((r) => ws.once('close', (code) => r({ code, at: Date.now() })));
  }
  static open(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      const peer = new Peer(ws);
      ws.once('open', () => resolve(peer));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }
  send(f: unknown): void { this.ws.send(JSON.stringify(f)); }
  next(pred: (f: Record<string, unknown>) => boolean, timeoutMs = 3000, includePast = true): Promise<Record<string, unknown>> {
    if (includePast) {
      const seen = this.frames.find(pred);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = { pred, resolve: (f: Record<string, unknown>) => { clearTimeout(t); resolve(f); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const where = this.ws.url.split('?')[0]; // the query holds the session token
        reject(new WaitTimeout(`a frame matching ${pred.toString()} on ${where}`, timeoutMs, this.frames.slice(-5).reverse()));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
  /** Waits for a frame that arrives from now on. */
  fresh(pred: (f: Record<string, unknown>) => boolean, timeoutMs = 3000) { return this.next(pred, timeoutMs, false); }
  close(): void { this.ws.terminate(); }
}

export const robotAuth = (robot: string, password: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`${robot}:${password}`).toString('base64')}` } });

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}
