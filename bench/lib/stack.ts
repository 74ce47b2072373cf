// The product stack for the benchmarks: relay + MediaMTX + simulator + bridge in server mode on
// loopback (scripts/stack.ts), the simulated camera at 1280x720@30 and the microphone's latency
// marker on; the app origin allowed by CORS is the bridge's own (the bench page is served there).
// bench/run.ts starts one for the benches that leave it as they found it (video, audio, command)
// and names it in HAVATAR_BENCH_STACK; startBenchStack() then attaches to it instead of starting
// its own (a stack start and its server-mode warm-up is ~5 s of the quick mode per bench).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts, relayInvite, startStack, type ServerPorts, type Stack } from '../../scripts/stack.ts';
import { waitFor } from './util.ts';

export interface BenchStack {
  stack: Stack;
  dataDir: string;
  bridgeUrl: string;
  /** MediaMTX's RTSP base, e.g. rtsp://127.0.0.1:8554 (no credentials). */
  rtspBase: string;
  /** A relay session (driver by default): token and media URLs as the app gets them. */
  session(role?: 'driver' | 'viewer'): Promise<{ token: string; whepUrl: string; whipUrl: string; hlsUrl: string; clientId: string }>;
  serverStatus(): Promise<Record<string, unknown>>;
  /** Waits until the robot publishes (server state live, MediaMTX path ready). */
  waitLive(timeoutMs?: number): Promise<void>;
  pid(name: string): number;
  stop(): Promise<void>;
}

/** What a bench needs to attach to a stack another process started (no secrets beyond the run's own). */
export interface SharedStack {
  dataDir: string; bridgeUrl: string; rtspBase: string; pids: Record<string, number>;
  stack: Pick<Stack, 'token' | 'bridgeUrl' | 'bridgeHttpsUrl' | 'simControlUrl' | 'serialPort'> & { server: Omit<NonNullable<Stack['server']>, 'invite'> };
}
export const SHARED_STACK_ENV = 'HAVATAR_BENCH_STACK';

/** The server-mode state in a /server/status answer. */
const serverState = (st: Record<string, unknown>): unknown => st.state ?? (st.status as Record<string, unknown> | undefined)?.state;

export function describeBenchStack(bs: BenchStack): SharedStack {
  const { token, bridgeUrl, bridgeHttpsUrl, simControlUrl, serialPort } = bs.stack;
  const { invite: _invite, ...server } = bs.stack.server!;
  return {
    dataDir: bs.dataDir, bridgeUrl: bs.bridgeUrl, rtspBase: bs.rtspBase,
    pids: Object.fromEntries(bs.stack.procs.map((p) => [p.name, p.child.pid!])),
    stack: { token, bridgeUrl, bridgeHttpsUrl, simControlUrl, serialPort, server },
  };
}

function attach(shared: SharedStack): BenchStack {
  const server = shared.stack.server;
  const stack: Stack = {
    ...shared.stack,
    procs: [],
    server: { ...server, invite: (role, ttl) => relayInvite(server.relayUrl, server.adminKey, server.robotId, role, ttl) },
    restart: () => Promise.reject(new Error('a shared bench stack is restarted by its owner only')),
    stop: async () => {},
  };
  return benchStack(stack, shared.dataDir, shared.bridgeUrl, shared.rtspBase, (name) => shared.pids[name], async () => {});
}

export async function startBenchStack(opts: { log?: boolean; env?: Record<string, string>; build?: boolean; fresh?: boolean } = {}): Promise<BenchStack> {
  const sharedFile = process.env[SHARED_STACK_ENV];
  if (sharedFile && !opts.fresh && !opts.env && !opts.log) {
    const bs = attach(JSON.parse(readFileSync(sharedFile, 'utf8')) as SharedStack);
    // A bench that failed midway may have left server mode off (the video bench turns it off for MJPEG).
    if (serverState(await bs.serverStatus()) === 'off') {
      await fetch(`${bs.bridgeUrl}/server/start`, { method: 'POST', headers: { authorization: `Bearer ${bs.stack.token}` } });
    }
    return bs;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-bench-'));
  const ports = await freePorts();
  const server: ServerPorts = { relay: await freePort(), rtsp: await freePort(), webrtc: await freePort(), webrtcUdp: await freePort(), hls: await freePort(), api: await freePort(), metrics: await freePort() };
  const bridgeUrl = `http://127.0.0.1:${ports.bridge}`;
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir, ports, build: opts.build ?? false,
      env: { HAVATAR_SIM_MIC_MARKER: '1', HAVATAR_LOG_LEVEL: 'warn', ...opts.env },
      server: { ports: server, appOrigins: [bridgeUrl], appUrl: `${bridgeUrl}/` },
      ...(opts.log ? { log: (n: string, l: string) => console.error(`[${n}] ${l}`) } : {}),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return benchStack(stack, dataDir, bridgeUrl, `rtsp://127.0.0.1:${server.rtsp}`,
    (name) => stack.procs.find((x) => x.name === name)?.child.pid,
    async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
}

function benchStack(stack: Stack, dataDir: string, bridgeUrl: string, rtspBase: string, pidOf: (name: string) => number | undefined, stop: () => Promise<void>): BenchStack {
  const s = stack.server!;
  let nClient = 0;
  const bs: BenchStack = {
    stack, dataDir, bridgeUrl, rtspBase,
    async session(role = 'driver') {
      const { invite } = await s.invite(role, '2h');
      const res = await fetch(`${s.relayUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite }) });
      const body = (await res.json()) as { token: string; whepUrl: string; whipUrl: string; hlsUrl: string };
      if (!res.ok) throw new Error(`session: ${res.status} ${JSON.stringify(body)}`);
      return { token: body.token, whepUrl: body.whepUrl, whipUrl: body.whipUrl, hlsUrl: body.hlsUrl, clientId: `bench-${process.pid}-${++nClient}` };
    },
    async serverStatus() {
      const r = await fetch(`${bridgeUrl}/server/status`, { headers: { authorization: `Bearer ${stack.token}` } });
      return (await r.json()) as Record<string, unknown>;
    },
    async waitLive(timeoutMs = 20000) {
      await waitFor('server mode live', async () => {
        if (serverState(await bs.serverStatus()) !== 'live') return false;
        const r = await fetch(`${s.mediamtxApiUrl}/v3/paths/get/robots/${s.robotId}`, { headers: s.mediamtxApiHeaders });
        return r.ok && ((await r.json()) as { ready?: boolean }).ready === true;
      }, timeoutMs, 200);
    },
    pid(name) {
      const pid = pidOf(name);
      if (!pid) throw new Error(`no process ${name}`);
      return pid;
    },
    stop,
  };
  return bs;
}
