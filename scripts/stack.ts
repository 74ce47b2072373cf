// Starts the whole system on this machine — simulated ESP32, bridge, and (optionally) MediaMTX and
// the relay — as supervised child processes in their own process groups, so that stopping the
// stack leaves nothing behind. `npm start` and the end-to-end tests and benchmarks use it.
// Every child is spawned through scripts/children.ts, which knows it from that moment on.
import { type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { spawnGroup, stopGroup } from './children.ts';
import { renderMediamtxConfig } from '../server/mediamtx-config.ts';
import { BRIDGE_BUNDLE, BRIDGE_ENV, BRIDGE_NODE_FLAGS, bridgeBundleIsStale } from './build-bridge.ts';
import { MEDIAMTX_PORTS, RELAY_PORT } from '../protocol/limits.ts';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface Ports {
  bridge: number;
  bridgeHttps: number;
  simControl: number;
}

export interface ServerPorts {
  relay: number;
  rtsp: number;
  webrtc: number;
  webrtcUdp: number;
  hls: number;
  api: number;
  metrics: number;
  /** MediaMTX's playback server (recordings); without it nothing can be played back. */
  playback?: number;
}

export const STANDARD_SERVER_PORTS: ServerPorts = { relay: RELAY_PORT, ...MEDIAMTX_PORTS };

export interface ServerOptions {
  ports: ServerPorts;
  /** Robot id on the relay and MediaMTX path `robots/<id>`. */
  robotId?: string;
  /**
   * Server mode for phones on the LAN (`npm start -- --lan`). Without it everything listens on
   * 127.0.0.1, WebRTC ICE too: nothing of server mode is open to the network unless asked.
   */
  lan?: LanOptions;
  /** Origins the app is served from (CORS on WHEP/WHIP/HLS and the relay). */
  appOrigins: string[];
  /** Where the app lives, for invite links. */
  appUrl: string;
}

/**
 * `npm start -- --lan`: the relay and MediaMTX's HTTP stay on 127.0.0.1; an HTTPS front
 * (scripts/https-front.ts, with the robot CA's certificate) offers them on every interface, as
 * Caddy does on a server, because a phone's app is an https page (the microphone needs one) and may
 * not call plain http. WebRTC media (UDP) listens on every interface, with these addresses as its
 * only ICE candidates. Invite links and the robot itself use the first address, as a phone does.
 */
export interface LanOptions {
  /** This machine's LAN addresses (IPv4, not loopback). */
  addresses: string[];
  /** The HTTPS front's port. */
  httpsPort: number;
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
  /** Also run MediaMTX and the relay (server mode). */
  server?: ServerOptions;
  /** Persisted secrets for the dev stack (admin key, robot password); fresh ones when omitted. */
  secrets?: { adminKey?: string; robotPassword?: string };
  /** Told of each step of startup as it begins (npm start prints them under HAVATAR_PROGRESS=1). */
  progress?: (p: Progress) => void;
}

/**
 * A step of startup: `build` (name: app or bridge) as its staleness check begins, `spawned` with
 * the pid of a child just started (builds and helpers too: vite-build, bridge-build,
 * mediamtx-build, relay-register), `ready` when a long-running child said so.
 */
export interface Progress {
  stage: 'build' | 'spawned' | 'ready';
  name: string;
  pid?: number;
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
  /** Server mode, when started with `server`. */
  server?: {
    relayUrl: string;
    whepUrl: string;
    hlsUrl: string;
    robotId: string;
    adminKey: string;
    robotPassword: string;
    mediamtxApiUrl: string;
    /** MediaMTX's API answers only the internal credential (user havatar, MEDIAMTX_API_SECRET): send these. */
    mediamtxApiHeaders: Record<string, string>;
    /** With `lan`: the HTTPS front on the first LAN address, the relay as phones (and the robot) reach it. */
    lanUrl?: string;
    /** Creates an access link for the app: `{ link, token }` of a relay invite. */
    invite(role: 'driver' | 'viewer', ttl?: string): Promise<{ link: string; invite: string }>;
  };
  /** Starts (or restarts after a kill) one process by name: sim, bridge, relay, mediamtx. */
  restart(name: string): Promise<Proc>;
  stop(): Promise<void>;
}

/** Creates a relay invite with the admin key: `{ link, invite }` (the link opens the app with it). */
export async function relayInvite(relayUrl: string, adminKey: string, robot: string, role: 'driver' | 'viewer', ttl = '12h'): Promise<{ link: string; invite: string }> {
  const res = await fetch(`${relayUrl}/api/invites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ robot, role, ttl }),
  });
  const body = (await res.json()) as { ok: boolean; link?: string; invite?: { token: string }; msg?: string };
  if (!res.ok || !body.link || !body.invite) throw new Error(`invite failed: ${res.status} ${body.msg ?? ''}`);
  return { link: body.link, invite: body.invite.token };
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

/**
 * A free port for each name, no two alike: a port freePort() just released can be handed out again
 * (seen in field/stack.ts and server/test: MediaMTX drew one port for two listeners and exited on the bind).
 */
export async function distinctFreePorts<K extends string>(names: readonly K[], taken = new Set<number>()): Promise<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const name of names) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    out[name] = port;
  }
  return out;
}

export async function freePorts(taken = new Set<number>()): Promise<Ports> {
  return distinctFreePorts(['bridge', 'bridgeHttps', 'simControl'] as const, taken);
}

/** Spawns `node --import tsx <script>` in its own process group and waits for its JSON ready line. */
export function launch(
  name: string,
  script: string,
  args: string[],
  readyEvent: string,
  opts: LaunchOptions = {},
): Promise<Proc> {
  return launchCommand(name, process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], jsonEvent(readyEvent), opts);
}

export interface LaunchOptions {
  env?: Record<string, string>;
  log?: StackOptions['log'];
  timeoutMs?: number;
  cwd?: string;
  progress?: StackOptions['progress'];
}

/** Ready when the process prints a JSON line whose `event` is `name`. */
export const jsonEvent = (name: string) => (line: string): Record<string, unknown> | null => {
  if (!line.startsWith('{')) return null;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    return j.event === name ? j : null;
  } catch {
    return null;
  }
};

/** Ready when a line matches (MediaMTX prints plain text). */
export const lineMatching = (re: RegExp) => (line: string): Record<string, unknown> | null => (re.test(line) ? { line } : null);

/** Spawns any command in its own process group and waits until a stdout/stderr line says it is ready. */
export function launchCommand(
  name: string,
  cmd: string,
  args: string[],
  isReady: (line: string) => Record<string, unknown> | null,
  opts: LaunchOptions = {},
): Promise<Proc> {
  let child: ChildProcess;
  try {
    child = spawnGroup(name, cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  } catch (err) {
    return Promise.reject(err);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid !== undefined) opts.progress?.({ stage: 'spawned', name, pid: child.pid });
  const tail: string[] = [];
  let ready = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${name} did not become ready in time. Last output:\n${tail.join('\n')}`));
    }, opts.timeoutMs ?? 20000);
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      opts.log?.(name, line);
      if (ready) return;
      const r = isReady(line);
      if (r) {
        ready = true;
        clearTimeout(timer);
        opts.progress?.({ stage: 'ready', name, pid: child.pid });
        resolve({ name, child, ready: r, exited });
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not start: ${err.message}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${name} exited (code ${code}) before it was ready. Last output:\n${tail.join('\n')}`));
    });
  });
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

/** Stops a process politely (SIGTERM to its group), then forcefully after `graceMs`. */
export async function stopProc(p: Proc, graceMs = 3000): Promise<void> {
  await stopGroup(p.child, p.exited, graceMs);
}

/** The MediaMTX v1.20.1 binary (built once into a cache by scripts/build-mediamtx.sh). */
export function mediamtxBinary(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/build-mediamtx.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`MediaMTX is not available:\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

/**
 * mediamtxBinary() for the stack: a tracked child, not spawnSync, so that a first-time build
 * (a minute of `go build`) neither blocks the launcher's signal handlers nor outlives a stop.
 */
function mediamtxBinaryTracked(progress?: StackOptions['progress']): Promise<string> {
  return runTracked('mediamtx-build', 'bash', [join(ROOT, 'scripts/build-mediamtx.sh')], progress).then(
    ({ stdout }) => stdout.trim().split('\n').pop()!,
    (err: Error) => { throw new Error(`MediaMTX is not available:\n${err.message}`); },
  );
}

/** Runs a command to completion as a tracked child; rejects with its stderr when it fails. */
function runTracked(name: string, cmd: string, args: string[], progress?: StackOptions['progress'], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(name, cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    if (child.pid !== undefined) progress?.({ stage: 'spawned', name, pid: child.pid });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('error', (err) => reject(new Error(`${name} could not start: ${err.message}`)));
    child.once('close', (code, signal) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(stderr.trim() || `${name} ended (${signal ?? `code ${code}`})`))));
  });
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
export async function buildAppIfStale(log?: StackOptions['log'], progress?: StackOptions['progress']): Promise<void> {
  const sources = ['src', 'public', 'protocol', 'common', 'index.html', 'vite.config.ts', 'manifest.webmanifest'].map((p) => join(ROOT, p));
  const built = join(ROOT, 'dist', 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(sources)) return;
  if (!existsSync(join(ROOT, 'index.html'))) return;
  const { stdout, stderr } = await runTracked('vite-build', process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], progress)
    .catch((err: Error) => { throw new Error(`vite build failed:\n${err.message}`); });
  (stdout + stderr).split('\n').filter(Boolean).forEach((l) => log?.('build', l));
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  mkdirSync(join(opts.dataDir, 'pty'), { recursive: true });
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const progress = opts.progress;
  if (opts.build !== false) {
    progress?.({ stage: 'build', name: 'app' });
    await buildAppIfStale(opts.log, progress);
  }
  progress?.({ stage: 'build', name: 'bridge' });
  if (bridgeBundleIsStale()) {
    // In a child of its own rather than esbuild in this process: esbuild's service process would
    // share our process group, so a Ctrl-C would kill it before our handler ran and turn a stop
    // into a build error.
    const { stdout } = await runTracked('bridge-build', process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-bridge.ts')], progress);
    stdout.split('\n').filter(Boolean).forEach((l) => opts.log?.('build', l));
  }
  const procs = new Map<string, Proc>();
  const env = { HAVATAR_DATA_DIR: opts.dataDir, ...opts.env };

  const starters: Record<string, () => Promise<Proc>> = {
    sim: () => {
      // A socat killed before it could clean up (a stop during startup, a SIGKILL) leaves its
      // links behind, pointing at pty numbers the system hands out again: the simulator, which
      // waits for the links to exist, would open someone else's terminal. Its predecessor is gone
      // by now (stopped before a restart, or this is the first start).
      for (const link of ['ttyHOST', 'ttyESP']) rmSync(join(opts.dataDir, 'pty', link), { force: true });
      return launch('sim', 'bridge/sim/esp32-main.ts', ['--control-port', String(opts.ports.simControl), '--dir', join(opts.dataDir, 'pty')], 'ready', { env, log: opts.log, progress });
    },
    // The bridge runs as on the Pi: the prebuilt bundle under plain node (scripts/build-bridge.ts).
    bridge: () =>
      launchCommand(
        'bridge',
        process.execPath,
        [
          ...BRIDGE_NODE_FLAGS,
          BRIDGE_BUNDLE,
          '--port', String(opts.ports.bridge),
          '--https-port', String(opts.ports.bridgeHttps),
          '--data-dir', opts.dataDir,
          '--serial', String(procs.get('sim')!.ready.serialPort),
          '--host', opts.host ?? '127.0.0.1',
        ],
        jsonEvent('listening'),
        {
          // For the LAN its relay link goes through the HTTPS front, whose certificate the robot CA
          // signed (made by the front before the bridge starts): trusted as a phone trusts it.
          env: { ...env, ...BRIDGE_ENV, HAVATAR_OPERATOR_TOKEN: token, ...(opts.server?.lan && { NODE_EXTRA_CA_CERTS: join(opts.dataDir, 'tls', 'ca.pem') }) },
          log: opts.log, timeoutMs: 30000, progress,
        },
      ),
  };

  const server = opts.server;
  const adminKey = opts.secrets?.adminKey ?? randomBytes(24).toString('base64url');
  const robotPassword = opts.secrets?.robotPassword ?? randomBytes(24).toString('base64url');
  const robotId = server?.robotId ?? 'sim';
  // MediaMTX's auth hook proves itself to the relay with this (a fresh one each start: both
  // processes get it from here, and a restarted relay or MediaMTX gets the same one).
  const hookSecret = randomBytes(24).toString('base64url');
  // The password of MediaMTX's API and metrics, as in a deployment (the relay's hook checks it).
  const apiSecret = randomBytes(24).toString('base64url');
  const lan = server?.lan;
  const lanUrl = lan && `https://${lan.addresses[0]}:${lan.httpsPort}`;
  if (server) {
    const mediamtxConfig = join(opts.dataDir, 'mediamtx.yml');
    // MediaMTX records here when the driver or admin asks (off until then).
    const recordingsDir = join(opts.dataDir, 'recordings');
    mkdirSync(recordingsDir, { recursive: true });
    writeFileSync(
      mediamtxConfig,
      renderMediamtxConfig({
        host: '127.0.0.1',
        ...(lan ? { iceHost: '', iceHosts: ['127.0.0.1', ...lan.addresses], trustedProxies: ['127.0.0.1'] } : { loopbackOnly: true }),
        rtspPort: server.ports.rtsp,
        webrtcPort: server.ports.webrtc,
        webrtcUdpPort: server.ports.webrtcUdp,
        hlsPort: server.ports.hls,
        apiPort: server.ports.api,
        metricsPort: server.ports.metrics,
        playbackPort: server.ports.playback,
        recordingsDir,
        appOrigins: server.appOrigins,
        authUrl: `http://127.0.0.1:${server.ports.relay}/mediamtx/auth`,
        authSecret: hookSecret,
        logLevel: 'info',
      }),
    );
    const relayEnv = {
      ...env,
      ADMIN_API_KEY: adminKey,
      MEDIAMTX_AUTH_SECRET: hookSecret,
      MEDIAMTX_API_SECRET: apiSecret,
      MEDIAMTX_API_URL: `http://127.0.0.1:${server.ports.api}`,
      APP_URL: server.appUrl,
      APP_ORIGINS: server.appOrigins.join(','),
      PUBLIC_URL: `http://127.0.0.1:${server.ports.relay}`,
      MEDIA_PUBLIC_URL: `http://127.0.0.1:${server.ports.webrtc}`,
      HLS_PUBLIC_URL: `http://127.0.0.1:${server.ports.hls}`,
      RECORDINGS_DIR: recordingsDir,
      ...(server.ports.playback && { MEDIAMTX_PLAYBACK_URL: `http://127.0.0.1:${server.ports.playback}`, PLAYBACK_PUBLIC_URL: `http://127.0.0.1:${server.ports.playback}` }),
      // For the LAN: invite links point at the phone's way in; media URLs are on the host each
      // client asked by (this machine: 127.0.0.1; a phone: the front on its LAN address).
      ...(lan && {
        PUBLIC_URL: lanUrl!,
        MEDIA_PUBLIC_URL: [`http://127.0.0.1:${server.ports.webrtc}`, ...lan.addresses.map((a) => `https://${a}:${lan.httpsPort}`)].join(','),
        HLS_PUBLIC_URL: [`http://127.0.0.1:${server.ports.hls}`, ...lan.addresses.map((a) => `https://${a}:${lan.httpsPort}/hls`)].join(','),
        TRUST_PROXY: '1',
      }),
    };
    // The robot's credentials are set before the relay first starts, so they are the same every
    // time (a restart reuses them).
    const register = () =>
      runTracked('relay-register', process.execPath, ['--import', 'tsx', join(ROOT, 'server/relay/main.ts'), 'register', '--robot', robotId, '--password', robotPassword, '--data-dir', join(opts.dataDir, 'relay')], progress, relayEnv)
        .then(() => undefined, (err: Error) => { throw new Error(`registering robot ${robotId} with the relay failed:\n${err.message}`); });
    let registered: Promise<void> | null = null;
    starters.relay = async () => {
      await (registered ??= register());
      return launch('relay', 'server/relay/main.ts', ['--port', String(server.ports.relay), '--host', '127.0.0.1', '--data-dir', join(opts.dataDir, 'relay')], 'listening', { env: relayEnv, log: opts.log, progress });
    };
    if (lan) {
      starters['https-front'] = () => launch('https-front', 'scripts/https-front.ts', [
        '--port', String(lan.httpsPort), '--host', '0.0.0.0', '--data-dir', opts.dataDir,
        '--relay', `http://127.0.0.1:${server.ports.relay}`, '--webrtc', `http://127.0.0.1:${server.ports.webrtc}`, '--hls', `http://127.0.0.1:${server.ports.hls}`,
      ], 'listening', { env, log: opts.log, progress });
    }
    let binary: Promise<string> | null = null;
    const lookUp = () => mediamtxBinaryTracked(progress).catch((err: unknown) => { binary = null; throw err; });
    starters.mediamtx = async () => launchCommand('mediamtx', await (binary ??= lookUp()), [mediamtxConfig], lineMatching(/\[API\] started/), { log: opts.log, cwd: opts.dataDir, progress });
  }

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
      // The bridge first: it stops the motors before the simulated ESP32 goes away. The rest
      // (simulator, relay, MediaMTX) depend on nothing and stop together.
      const bridge = procs.get('bridge');
      if (bridge) await stopProc(bridge);
      await Promise.all([...procs.values()].filter((p) => p !== bridge).map((p) => stopProc(p)));
    },
  };

  if (server) {
    const relayUrl = `http://127.0.0.1:${server.ports.relay}`;
    stack.server = {
      relayUrl,
      whepUrl: `http://127.0.0.1:${server.ports.webrtc}/robots/${robotId}/whep`,
      hlsUrl: `http://127.0.0.1:${server.ports.hls}/robots/${robotId}/index.m3u8`,
      robotId,
      adminKey,
      robotPassword,
      mediamtxApiUrl: `http://127.0.0.1:${server.ports.api}`,
      mediamtxApiHeaders: { Authorization: `Basic ${Buffer.from(`havatar:${apiSecret}`).toString('base64')}` },
      lanUrl,
      invite: (role, ttl) => relayInvite(relayUrl, adminKey, robotId, role, ttl),
    };
  }

  // Server mode on the robot: the simulated camera at 720p30 (the publisher scales down, never
  // up) and the relay's credentials. A fresh data dir gets them in its first config; an existing
  // config keeps the user's other settings and gets the server block through the bridge's API.
  // For the LAN the robot reaches the relay as phones do, through the front (as a robot reaches a
  // deployed server through Caddy): the app's CSP allows the relay's host from server_url.
  const serverMode = server && {
    enabled: true,
    server_url: lanUrl ?? `http://127.0.0.1:${server.ports.relay}`,
    stream_key: robotId,
    stream_password: robotPassword,
    fallback_to_local: true,
    rtsp_url: `rtsp://127.0.0.1:${server.ports.rtsp}`,
  };
  const configFile = join(opts.dataDir, 'avatar_tank_config.json');
  const configExisted = existsSync(configFile);
  if (serverMode && !configExisted) {
    writeFileSync(configFile, JSON.stringify({ camera: { device: 'sim', width: 1280, height: 720, fps: 30 }, server_mode: serverMode }, null, 2), { mode: 0o600 });
  }

  try {
    // The simulator, MediaMTX and the relay need nothing of one another and start together; the
    // bridge needs the simulator's pty and the relay.
    const first = server ? ['sim', 'mediamtx', 'relay', ...(lan ? ['https-front'] : [])] : ['sim'];
    const started = await Promise.allSettled(first.map(async (name) => { procs.set(name, await starters[name]!()); }));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    procs.set('bridge', await starters.bridge!());
    if (serverMode && configExisted) {
      const res = await fetch(`${stack.bridgeUrl}/server/config`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(serverMode),
      });
      if (!res.ok) throw new Error(`configuring server mode on the bridge failed: ${res.status} ${await res.text()}`);
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const sim = procs.get('sim')!.ready;
  stack.simControlUrl = String(sim.controlUrl);
  stack.serialPort = String(sim.serialPort);
  return stack;
}
