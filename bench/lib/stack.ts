// The product stack for the benchmarks: relay + MediaMTX + simulator + bridge in server mode on
// loopback (scripts/stack.ts), the simulated camera at 1280x720@30 and the microphone's latency
// marker on; the app origin allowed by CORS is the bridge's own (the bench page is served there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts, startStack, type ServerPorts, type Stack } from '../../scripts/stack.ts';
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

export async function startBenchStack(opts: { log?: boolean; env?: Record<string, string>; build?: boolean } = {}): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-bench-'));
  const ports = await freePorts();
  const server: ServerPorts = { relay: await freePort(), rtsp: await freePort(), webrtc: await freePort(), webrtcUdp: await freePort(), hls: await freePort(), api: await freePort(), metrics: await freePort() };
  const bridgeUrl = `http://127.0.0.1:${ports.bridge}`;
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir, ports, build: opts.build ?? false,
      env: { HAVATAR_SIM_MIC_MARKER: '1', HAVATAR_LOG_LEVEL: 'warn', ...opts.env },
      server: { ports: server, loopbackOnly: true, appOrigins: [bridgeUrl], appUrl: `${bridgeUrl}/` },
      ...(opts.log ? { log: (n: string, l: string) => console.error(`[${n}] ${l}`) } : {}),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const s = stack.server!;
  let nClient = 0;
  const bs: BenchStack = {
    stack, dataDir, bridgeUrl, rtspBase: `rtsp://127.0.0.1:${server.rtsp}`,
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
        const st = await bs.serverStatus();
        const state = (st.state ?? (st.status as Record<string, unknown> | undefined)?.state) as string | undefined;
        if (state !== 'live') return false;
        const r = await fetch(`${s.mediamtxApiUrl}/v3/paths/get/robots/${s.robotId}`);
        return r.ok && ((await r.json()) as { ready?: boolean }).ready === true;
      }, timeoutMs, 200);
    },
    pid(name) {
      const p = stack.procs.find((x) => x.name === name);
      if (!p?.child.pid) throw new Error(`no process ${name}`);
      return p.child.pid;
    },
    async stop() {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return bs;
}
