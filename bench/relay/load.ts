// Load generator for bench/relay/capacity.ts, run as its own process (forked with IPC) so the relay
// under test never shares an event loop with it; the orchestrator may run several, each with its
// own robots and their clients (latency is always measured inside one process, one clock).
// It plays robots and operators against either relay — ours (plain WebSocket, protocol/*.ts frames)
// or the Socket.IO baseline (engine.io v4 / socket.io v5 framing) — on raw `net` sockets: masked
// client frames built in one buffer per send, a minimal parser for what comes back, and every
// robot's answers to one incoming chunk written with one write. The `ws` and socket.io-client
// libraries cost ~90 µs per forwarded message here, which made the generator the bottleneck.
// Latency: the client puts performance.now() in the payload (`t`) just before the write; the robot
// takes performance.now() once when a chunk arrives on its socket, before parsing it.
// Every client sends at a fixed rate from one drift-compensated 5 ms timer; robots ack everything.
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export type Target = { kind: 'ours' | 'baseline'; url: string };
export interface RobotSpec { id: string; password?: string }
export interface ClientSpec { id: string; robot: string; token?: string; driver: boolean }
export type Request =
  | { op: 'connect'; target: Target; robots: RobotSpec[]; clients: ClientSpec[] }
  | { op: 'run'; rateHz: number; ms: number; drainMs: number }
  | { op: 'direct'; rateHz: number; count: number }
  | { op: 'closeAll' }
  | { op: 'exit' };
/** Latency histogram: [bucket index, count] pairs (see Hist), merged by the orchestrator. */
export type HistPairs = [number, number][];
export interface RunResult {
  sent: number; delivered: number; acks: number; errors: number; closes: number; errorSample: string[];
  hist: HistPairs; seconds: number; genCpuPercent: number; genLoopLagP99Ms: number;
}

const CONNECT_CONCURRENCY = 64;
const CONNECT_TIMEOUT_MS = 10_000;
const TICK_MS = 5;

// ---- latency histogram: 10 µs buckets to 20 ms, then 1 ms buckets to 10 s --------------------

const FINE = 2000;
const COARSE = 10_000;
export const histIndex = (ms: number): number => {
  if (ms < 0) return 0;
  if (ms < FINE / 100) return Math.floor(ms * 100);
  return Math.min(FINE + COARSE - 1, FINE + Math.floor(ms - FINE / 100));
};
/** The middle of a bucket, in ms. */
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
const hist = new Uint32Array(FINE + COARSE);

// ---- raw WebSocket ------------------------------------------------------------------------------

const MASK = randomBytes(4);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

/** One masked client frame (text unless opcode says otherwise), header and payload in one buffer. */
function frame(text: string, opcode = 1): Buffer {
  const n = Buffer.byteLength(text);
  const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hl + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(n, 2); }
  else { out[1] = 0x80 | 127; out.writeBigUInt64BE(BigInt(n), 2); }
  MASK.copy(out, hl);
  const p = hl + 4;
  out.write(text, p, 'utf8');
  for (let i = 0; i < n; i++) out[p + i]! ^= MASK[i & 3]!;
  return out;
}

/** A raw WebSocket connection: text frames go to onText; pings are answered; close ends it. */
class Raw {
  private pending: Buffer | null = null;
  open = false;
  onText: (text: string, now: number, out: Buffer[]) => void = () => {};
  onClose: () => void = () => {};
  constructor(readonly sock: Socket, private readonly masked = false) {
    sock.setNoDelay(true);
    sock.on('close', () => { const was = this.open; this.open = false; if (was) this.onClose(); });
    sock.on('error', () => { /* close follows */ });
  }
  /** After the handshake (socket paused): frames that came with it are read once the caller had a turn to set onText. */
  start(rest: Buffer): void {
    this.open = true;
    setImmediate(() => {
      if (rest.length) this.data(rest);
      this.sock.on('data', (d: Buffer) => this.data(d));
      this.sock.resume();
    });
  }
  send(text: string): void { if (this.open) this.sock.write(frame(text)); }
  close(): void { this.open = false; this.sock.destroy(); }
  private data(d: Buffer): void {
    const now = performance.now();
    let b = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = null;
    const out: Buffer[] = [];
    let o = 0;
    while (b.length - o >= 2) {
      const op = b[o]! & 0x0f;
      const hasMask = (b[o + 1]! & 0x80) !== 0;
      let n = b[o + 1]! & 0x7f;
      let h = 2;
      if (n === 126) { if (b.length - o < 4) break; n = b.readUInt16BE(o + 2); h = 4; }
      else if (n === 127) { if (b.length - o < 10) break; n = Number(b.readBigUInt64BE(o + 2)); h = 10; }
      const mk = hasMask ? h : -1;
      if (hasMask) h += 4;
      if (b.length - o < h + n) break;
      const s = o + h;
      if (hasMask && this.masked) for (let i = 0; i < n; i++) b[s + i]! ^= b[o + mk + (i & 3)]!;
      if (op === 1) this.onText(b.toString('utf8', s, s + n), now, out);
      else if (op === 9) out.push(frame(b.toString('latin1', s, s + n), 10)); // ping → pong
      else if (op === 8) { this.close(); return; }
      o = s + n;
    }
    if (o < b.length) this.pending = b.subarray(o);
    if (out.length) this.sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }
}

/** HTTP upgrade on a raw socket; resolves with the connection once 101 arrives. */
function openRaw(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error('loopback only');
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: Number(u.port) });
    const key = randomBytes(16).toString('base64');
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('handshake timeout')); }, CONNECT_TIMEOUT_MS);
    let head = Buffer.alloc(0);
    const fail = (e: Error) => { clearTimeout(timer); sock.destroy(); reject(e); };
    sock.once('error', fail);
    sock.once('connect', () => {
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.pause();
      sock.off('data', onData);
      clearTimeout(timer);
      sock.off('error', fail);
      const text = head.toString('latin1', 0, end);
      const status = /^HTTP\/1\.1 (\d+)/.exec(text)?.[1];
      if (status !== '101') return fail(new Error(`HTTP ${status}`));
      if (!text.toLowerCase().includes(`sec-websocket-accept: ${accept(key).toLowerCase()}`)) return fail(new Error('bad Sec-WebSocket-Accept'));
      const raw = new Raw(sock);
      raw.start(head.subarray(end + 4));
      resolve(raw);
    };
    sock.on('data', onData);
  });
}

// ---- the simulated fleet ---------------------------------------------------------------------

interface Sender { send(seq: number): void; alive(): boolean }
let conns: Raw[] = [];
let senders: Sender[] = [];
let runStart = Infinity;
let delivered = 0, acks = 0, errors = 0, closes = 0;
const errorSample: string[] = [];
const noteError = (s: string) => { errors++; if (errorSample.length < 5) errorSample.push(s.slice(0, 200)); };

/** Called by every simulated robot on each command it receives (now: arrival of the chunk). */
function received(t: unknown, now: number): void {
  if (typeof t !== 'number' || t < runStart) return;
  delivered++;
  hist[histIndex(now - t)]!++;
}

function track(c: Raw): Raw {
  c.onClose = () => { closes++; };
  conns.push(c);
  return c;
}

async function connectOurs(base: string, robots: RobotSpec[], clients: ClientSpec[]): Promise<void> {
  const ws = base.replace(/^http/, 'ws');
  await pool(robots, async (r) => {
    const sock = track(await openRaw(`${ws}/ws/robot/${r.id}`, { Authorization: `Basic ${Buffer.from(`${r.id}:${r.password}`).toString('base64')}` }));
    sock.onText = (text, now, out) => {
      const f = JSON.parse(text) as { type: string; client?: string; msg?: { type: string; seq?: number; t?: number }; code?: string; message?: string };
      if (f.type === 'error') return noteError(`robot ${r.id}: ${f.code} ${f.message}`);
      if (f.type !== 'forward' || !f.msg) return;
      const m = f.msg;
      if (m.type === 'drive') {
        received(m.t, now);
        out.push(frame(`{"v":1,"type":"to","client":"${f.client}","msg":{"v":1,"type":"ack","seq":${m.seq},"t":${m.t},"result":"applied"}}`));
      } else if (m.type === 'heartbeat') {
        received(m.t, now);
        out.push(frame(`{"v":1,"type":"to","client":"${f.client}","msg":{"v":1,"type":"heartbeat_ack","t":${m.t}}}`));
      }
    };
  });
  await pool(clients, async (c) => {
    const sock = track(await openRaw(`${ws}/ws/client/${c.id}?token=${c.token}`));
    let leased: () => void = () => {};
    const gotLease = new Promise<void>((r) => { leased = r; });
    sock.onText = (text) => {
      // Acks are only counted; anything else is parsed (errors, lease).
      if (text.startsWith('{"v":1,"type":"ack"') || text.startsWith('{"v":1,"type":"heartbeat_ack"')) { acks++; return; }
      const f = JSON.parse(text) as { type: string; you?: boolean; code?: string; message?: string };
      if (f.type === 'ack' || f.type === 'heartbeat_ack') acks++;
      else if (f.type === 'error') noteError(`client ${c.id}: ${f.code} ${f.message}`);
      else if (f.type === 'lease' && f.you) leased();
    };
    if (c.driver) {
      sock.send('{"v":1,"type":"lease","action":"take"}');
      await Promise.race([gotLease, new Promise((_, rej) => setTimeout(() => rej(new Error(`no lease for ${c.id}`)), CONNECT_TIMEOUT_MS).unref())]);
    }
    senders.push({
      alive: () => sock.open,
      send: c.driver
        ? (seq) => sock.send(`{"v":1,"type":"drive","seq":${seq},"left":0.5,"right":0.5,"ttl":300,"t":${performance.now()}}`)
        : () => sock.send(`{"v":1,"type":"heartbeat","t":${performance.now()}}`),
    });
  });
}

/**
 * Socket.IO over a raw WebSocket, as socket.io-client does with transports: ['websocket'] (no
 * long-polling first, in the baseline's favour): engine.io open `0{…}`, namespace connect `40/ns,`,
 * events `42/ns,[name, data]`, engine.io ping `2` answered with pong `3`.
 */
async function openSocketIo(base: string, ns: string, query: Record<string, string>): Promise<Raw> {
  const q = new URLSearchParams({ ...query, EIO: '4', transport: 'websocket' });
  const sock = await openRaw(`${base.replace(/^http/, 'ws')}/socket.io/?${q}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.close(); reject(new Error(`no socket.io connect for ${ns}`)); }, CONNECT_TIMEOUT_MS);
    sock.onText = (text) => {
      if (text.startsWith('0')) sock.send(`40${ns},`);
      else if (text.startsWith(`40${ns},`)) { clearTimeout(timer); resolve(sock); }
      else if (text.startsWith(`44${ns},`)) { clearTimeout(timer); sock.close(); reject(new Error(`connect_error ${text.slice(0, 100)}`)); }
      else if (text === '2') sock.send('3');
    };
  });
}

async function connectBaseline(base: string, robots: RobotSpec[], clients: ClientSpec[]): Promise<void> {
  const CMD = '42/robot,["command",';
  await pool(robots, async (r) => {
    const s = track(await openSocketIo(base, '/robot', { robotId: r.id }));
    s.onText = (text, now, out) => {
      if (text === '2') { out.push(frame('3')); return; }
      if (!text.startsWith(CMD)) return;
      const cmd = JSON.parse(text.slice(CMD.length, -1)) as { clientId: string; type: string; seq?: number; t?: number };
      received(cmd.t, now);
      out.push(frame(`42/robot,["response",${JSON.stringify({ clientId: cmd.clientId, type: cmd.type === 'drive' ? 'ack' : 'heartbeat_ack', seq: cmd.seq, t: cmd.t, result: 'applied' })}]`));
    };
  });
  await pool(clients, async (c) => {
    const s = track(await openSocketIo(base, '/client', { robotId: c.robot, clientId: c.id }));
    s.onText = (text, _now, out) => {
      if (text.startsWith('42/client,["response"')) acks++;
      else if (text === '2') out.push(frame('3'));
    };
    senders.push({
      alive: () => s.open,
      send: c.driver
        ? (seq) => s.send(`42/client,["command",{"type":"drive","seq":${seq},"left":0.5,"right":0.5,"ttl":300,"t":${performance.now()}}]`)
        : () => s.send(`42/client,["command",{"type":"heartbeat","t":${performance.now()}}]`),
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

/** Every sender at rateHz for ms, phases spread evenly over the period; then waits for stragglers. */
async function run(rateHz: number, ms: number, drainMs: number): Promise<RunResult> {
  hist.fill(0); delivered = 0; acks = 0; errors = 0; closes = 0; errorSample.length = 0;
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
          s.send(seq);
          sent++;
        }
      }
    }, TICK_MS);
  });
  const drainEnd = performance.now() + drainMs;
  while (delivered < sent && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  const wall = performance.now() - runStart;
  runStart = Infinity;
  const pairs: HistPairs = [];
  for (let i = 0; i < hist.length; i++) if (hist[i]) pairs.push([i, hist[i]!]);
  return {
    sent, delivered, acks, errors, closes, errorSample: [...errorSample], hist: pairs,
    seconds: ms / 1000,
    genCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    genLoopLagP99Ms: Number((lag.percentile(99) / 1e6).toFixed(2)),
  };
}

/** The floor: one raw WebSocket hop on loopback, client → "robot" directly, nothing in between. */
async function direct(rateHz: number, count: number): Promise<RunResult> {
  const server = createServer((sock) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.pause();
      sock.off('data', onData);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n\r\n`);
      const raw = new Raw(sock, true);
      raw.onText = (text, now, out) => {
        const m = JSON.parse(text) as { t: number; seq: number };
        received(m.t, now);
        out.push(Buffer.from(`\x81${String.fromCharCode(0)}`, 'latin1')); // empty unmasked text frame as the ack
      };
      raw.start(Buffer.from(head.slice(end + 4), 'latin1'));
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const c = await openRaw(`ws://127.0.0.1:${port}/`);
  const saved = senders;
  senders = [{ alive: () => c.open, send: (seq) => c.send(`{"v":1,"type":"drive","seq":${seq},"left":0.5,"right":0.5,"ttl":300,"t":${performance.now()}}`) }];
  const r = await run(rateHz, (count / rateHz) * 1000, 1000);
  senders = saved;
  c.close();
  server.close();
  return r;
}

function closeAll(): void {
  for (const s of conns) s.close();
  conns = []; senders = [];
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
