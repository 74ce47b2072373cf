// Load generator for bench/relay/capacity.ts, run as its own process (forked with IPC) so the relay
// under test never shares an event loop with it. It plays robots and operators against either
// relay — ours (ws, protocol/*.ts frames) or the Socket.IO baseline — and measures one-way
// latency client send → robot receive in this one process (one clock, performance.now()).
// Every client sends at a fixed rate from one drift-compensated 5 ms timer; robots ack everything.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { io, type Socket } from 'socket.io-client';

export type Target = { kind: 'ours' | 'baseline'; url: string };
export interface RobotSpec { id: string; password?: string }
export interface ClientSpec { id: string; robot: string; token?: string; driver: boolean }
export type Request =
  | { op: 'connect'; target: Target; robots: RobotSpec[]; clients: ClientSpec[] }
  | { op: 'run'; rateHz: number; ms: number; drainMs: number }
  | { op: 'direct'; rateHz: number; count: number }
  | { op: 'closeAll' }
  | { op: 'exit' };
export interface RunResult {
  sent: number; delivered: number; acks: number; errors: number; closes: number; errorSample: string[];
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  seconds: number; genCpuPercent: number; genLoopLagP99Ms: number;
}

const CONNECT_CONCURRENCY = 64;
const CONNECT_TIMEOUT_MS = 10_000;
const TICK_MS = 5;

interface Sender { send(seq: number, t: number): void; alive(): boolean }
let robotsWs: { close(): void }[] = [];
let senders: Sender[] = [];
let lat: number[] = [];
let runStart = Infinity;
let delivered = 0, acks = 0, errors = 0, closes = 0;
const errorSample: string[] = [];
const noteError = (s: string) => { errors++; if (errorSample.length < 5) errorSample.push(s.slice(0, 200)); };

/** Called by every simulated robot on each command it receives. */
function received(t: unknown): void {
  if (typeof t !== 'number' || t < runStart) return;
  delivered++;
  lat.push(performance.now() - t);
}

function openOurs(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: CONNECT_TIMEOUT_MS });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function connectOurs(base: string, robots: RobotSpec[], clients: ClientSpec[]): Promise<void> {
  const ws = base.replace(/^http/, 'ws');
  await pool(robots, async (r) => {
    const sock = await openOurs(`${ws}/ws/robot/${r.id}`, { Authorization: `Basic ${Buffer.from(`${r.id}:${r.password}`).toString('base64')}` });
    sock.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; client?: string; msg?: { type: string; seq?: number; t?: number }; code?: string; message?: string };
      if (f.type === 'error') return noteError(`robot ${r.id}: ${f.code} ${f.message}`);
      if (f.type !== 'forward' || !f.msg) return;
      const m = f.msg;
      if (m.type === 'drive') {
        received(m.t);
        sock.send(JSON.stringify({ v: 1, type: 'to', client: f.client, msg: { v: 1, type: 'ack', seq: m.seq, t: m.t, result: 'applied' } }));
      } else if (m.type === 'heartbeat') {
        received(m.t);
        sock.send(JSON.stringify({ v: 1, type: 'to', client: f.client, msg: { v: 1, type: 'heartbeat_ack', t: m.t } }));
      }
    });
    sock.on('close', () => { closes++; });
    robotsWs.push(sock);
  });
  await pool(clients, async (c) => {
    const sock = await openOurs(`${ws}/ws/client/${c.id}?token=${c.token}`);
    let leased: () => void = () => {};
    const gotLease = new Promise<void>((r) => { leased = r; });
    sock.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; you?: boolean; code?: string; message?: string };
      if (f.type === 'ack' || f.type === 'heartbeat_ack') acks++;
      else if (f.type === 'error') noteError(`client ${c.id}: ${f.code} ${f.message}`);
      else if (f.type === 'lease' && f.you) leased();
    });
    sock.on('close', () => { closes++; });
    if (c.driver) {
      sock.send(JSON.stringify({ v: 1, type: 'lease', action: 'take' }));
      await Promise.race([gotLease, new Promise((_, rej) => setTimeout(() => rej(new Error(`no lease for ${c.id}`)), CONNECT_TIMEOUT_MS).unref())]);
    }
    robotsWs.push(sock);
    senders.push({
      alive: () => sock.readyState === sock.OPEN,
      send: c.driver
        ? (seq, t) => sock.send(JSON.stringify({ v: 1, type: 'drive', seq, left: 0.5, right: 0.5, ttl: 300, t }))
        : (_seq, t) => sock.send(JSON.stringify({ v: 1, type: 'heartbeat', t })),
    });
  });
}

function openBaseline(url: string, query: Record<string, string>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // WebSocket transport from the start (no long-polling first): in the baseline's favour.
    const s = io(url, { query, transports: ['websocket'], forceNew: true, reconnection: false, timeout: CONNECT_TIMEOUT_MS });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

async function connectBaseline(base: string, robots: RobotSpec[], clients: ClientSpec[]): Promise<void> {
  await pool(robots, async (r) => {
    const s = await openBaseline(`${base}/robot`, { robotId: r.id });
    s.on('command', (cmd: { clientId: string; type: string; seq?: number; t?: number }) => {
      received(cmd.t);
      s.emit('response', { clientId: cmd.clientId, type: cmd.type === 'drive' ? 'ack' : 'heartbeat_ack', seq: cmd.seq, t: cmd.t, result: 'applied' });
    });
    s.on('disconnect', () => { closes++; });
    robotsWs.push({ close: () => s.disconnect() });
  });
  await pool(clients, async (c) => {
    const s = await openBaseline(`${base}/client`, { robotId: c.robot, clientId: c.id });
    s.on('response', () => { acks++; });
    s.on('disconnect', () => { closes++; });
    robotsWs.push({ close: () => s.disconnect() });
    senders.push({
      alive: () => s.connected,
      send: c.driver
        ? (seq, t) => s.emit('command', { type: 'drive', seq, left: 0.5, right: 0.5, ttl: 300, t })
        : (_seq, t) => s.emit('command', { type: 'heartbeat', t }),
    });
  });
}

/** Runs `fn` over `items`, at most CONNECT_CONCURRENCY at a time; failures are counted, not thrown. */
async function pool<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const x = items[i++]!;
      try { await fn(x); } catch (e) { noteError(`connect: ${(e as Error).message}`); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, items.length) }, worker));
}

function pct(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3));
}

/** Every sender at rateHz for ms, phases spread evenly over the period; then waits for stragglers. */
async function run(rateHz: number, ms: number, drainMs: number): Promise<RunResult> {
  lat = []; delivered = 0; acks = 0; errors = 0; closes = 0; errorSample.length = 0;
  const buckets = Math.max(1, Math.round(1000 / rateHz / TICK_MS));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  runStart = performance.now();
  let sent = 0, seq = 0, tick = 0;
  const live = senders;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - runStart;
      if (elapsed >= ms) { clearInterval(timer); resolve(); return; }
      const due = Math.floor(elapsed / TICK_MS);
      // Catch up missed ticks (at most one period), so the offered rate holds when the loop lags.
      for (tick = Math.max(tick, due - buckets + 1); tick <= due; tick++) {
        const b = tick % buckets;
        seq++;
        for (let i = b; i < live.length; i += buckets) {
          const s = live[i]!;
          if (!s.alive()) continue;
          s.send(seq, performance.now());
          sent++;
        }
      }
    }, TICK_MS);
  });
  const sendEnd = performance.now();
  const drainEnd = sendEnd + drainMs;
  while (delivered < sent && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  const wall = performance.now() - runStart;
  const sorted = lat.sort((a, b) => a - b);
  runStart = Infinity;
  return {
    sent, delivered, acks, errors, closes, errorSample: [...errorSample],
    latencyMs: { p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: pct(sorted, 1) },
    seconds: ms / 1000,
    genCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    genLoopLagP99Ms: Number((lag.percentile(99) / 1e6).toFixed(2)),
  };
}

/** The floor: one WebSocket hop on loopback, client → "robot" directly, nothing in between. */
async function direct(rateHz: number, count: number): Promise<RunResult> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (s) => s.on('message', (d) => {
    const m = JSON.parse(String(d)) as { t: number; seq: number };
    received(m.t);
    s.send(JSON.stringify({ v: 1, type: 'ack', seq: m.seq, t: m.t, result: 'applied' }));
  }));
  const addr = wss.address() as { port: number };
  const c = await openOurs(`ws://127.0.0.1:${addr.port}`);
  const saved = senders;
  senders = [{ alive: () => c.readyState === c.OPEN, send: (seq, t) => c.send(JSON.stringify({ v: 1, type: 'drive', seq, left: 0.5, right: 0.5, ttl: 300, t })) }];
  const r = await run(rateHz, (count / rateHz) * 1000, 1000);
  senders = saved;
  c.terminate();
  await new Promise<void>((res) => wss.close(() => res()));
  return r;
}

function closeAll(): void {
  for (const s of robotsWs) { try { s.close(); } catch { /* gone */ } }
  robotsWs = []; senders = [];
}

process.on('message', (req: Request) => {
  void (async () => {
    switch (req.op) {
      case 'connect': {
        errors = 0; errorSample.length = 0;
        const before = senders.length;
        const t0 = performance.now();
        if (req.target.kind === 'ours') await connectOurs(req.target.url, req.robots, req.clients);
        else await connectBaseline(req.target.url, req.robots, req.clients);
        return process.send!({ op: 'connected', clients: senders.length - before, failed: errors, errorSample: [...errorSample], ms: Math.round(performance.now() - t0) });
      }
      case 'run': return process.send!({ op: 'result', result: await run(req.rateHz, req.ms, req.drainMs) });
      case 'direct': return process.send!({ op: 'result', result: await direct(req.rateHz, req.count) });
      case 'closeAll': closeAll(); await new Promise((r) => setTimeout(r, 500)); return process.send!({ op: 'closed' });
      case 'exit': closeAll(); process.exit(0);
    }
  })().catch((e: Error) => process.send!({ op: 'failed', error: e.message }));
});
// The parent died: do not linger.
process.on('disconnect', () => process.exit(0));
