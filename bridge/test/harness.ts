// Test harness: the real simulator process and the real bridge process on loopback, ephemeral
// ports, each in its own process group (killed with everything it started), plus a small
// WebSocket client that collects what the bridge sends.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parseRobotMessage, type RobotMessage } from '../../protocol/messages.ts';
import { launch, stopProc, type Proc } from '../../scripts/stack.ts';
import { waitFor } from '../../common/wait.ts';

export const TOKEN = 'test-operator-token-0123456789abcdef';

export interface SimState {
  left: number; right: number; targetLeft: number; targetRight: number; stopped: boolean;
  framesReceived: number; framesRejected: number;
  /** Date.now() when moving tracks were last cut at once ($S or the watchdog). */
  lastStopAt: number | null;
  lastMotorFrames: { at: number; seq: number; left: number; right: number }[];
}

export interface Rig {
  dataDir: string;
  http: string;
  https: string;
  httpPort: number;
  controlUrl: string;
  serialPort: string;
  sim: Proc;
  bridge: Proc;
  /** Stderr lines of the bridge, to check what it logged. */
  bridgeLog: string[];
  simState(): Promise<SimState>;
  restartBridge(extraEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `havatar-${prefix}-`));
}

export async function startBridgeProc(dataDir: string, serialPort: string, log: string[], env: Record<string, string> = {}): Promise<Proc> {
  return launch('bridge', 'bridge/main.ts', ['--port', '0', '--https-port', '0', '--data-dir', dataDir, '--serial', serialPort, '--host', '127.0.0.1'], 'listening', {
    env: { HAVATAR_OPERATOR_TOKEN: TOKEN, HAVATAR_LOG_LEVEL: 'info', ...env },
    log: (_name, line) => { log.push(line); if (log.length > 2000) log.shift(); },
    timeoutMs: 30_000,
  });
}

/** Starts the simulator and a bridge on it. `prepare` runs on the data dir before the bridge starts. */
export async function startRig(opts: { prepare?: (dataDir: string) => void; env?: Record<string, string>; dataDir?: string } = {}): Promise<Rig> {
  const dataDir = opts.dataDir ?? tempDir('rig');
  opts.prepare?.(dataDir);
  const sim = await launch('sim', 'bridge/sim/esp32-main.ts', ['--control-port', '0', '--dir', dataDir], 'ready', { timeoutMs: 20_000 });
  const controlUrl = String(sim.ready.controlUrl);
  const serialPort = String(sim.ready.serialPort);
  const bridgeLog: string[] = [];
  let bridge: Proc;
  try {
    bridge = await startBridgeProc(dataDir, serialPort, bridgeLog, opts.env);
  } catch (err) {
    await stopProc(sim, 500);
    throw err;
  }
  const rig: Rig = {
    dataDir, controlUrl, serialPort, sim, bridge, bridgeLog,
    httpPort: Number(bridge.ready.http),
    http: `http://127.0.0.1:${bridge.ready.http}`,
    https: `https://127.0.0.1:${bridge.ready.https}`,
    async simState() {
      const r = await fetch(`${controlUrl}/state`);
      return (await r.json()) as SimState;
    },
    async restartBridge(extraEnv = {}) {
      await stopProc(rig.bridge, 3000);
      rig.bridge = await startBridgeProc(dataDir, serialPort, bridgeLog, { ...opts.env, ...extraEnv });
      rig.httpPort = Number(rig.bridge.ready.http);
      rig.http = `http://127.0.0.1:${rig.bridge.ready.http}`;
      rig.https = `https://127.0.0.1:${rig.bridge.ready.https}`;
    },
    async stop() {
      await stopProc(rig.bridge, 3000);
      await stopProc(sim, 1000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  // The bridge is ready before the serial link is up: wait for the first status frame.
  await waitFor('the bridge to reach the simulated motor board',
    async () => ((await api(rig, 'GET', '/system_status')).body as { motors?: { connected?: boolean } }).motors,
    (motors) => motors?.connected === true, 5000);
  return rig;
}

export async function api(
  rig: Pick<Rig, 'http'>, method: string, path: string, body?: unknown,
  headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` },
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  const r = await fetch(rig.http + path, init);
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** A WebSocket operator: collects every message; waits for the ones a test expects. */
export class Operator {
  readonly messages: RobotMessage[] = [];
  readonly binary: Buffer[] = [];
  closeCode: number | null = null;
  private waiters: { pred: (m: RobotMessage) => boolean; resolve: (m: RobotMessage) => void }[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) { this.binary.push(data as Buffer); return; }
      const p = parseRobotMessage(String(data));
      if (!p.ok) throw new Error(`bridge sent an invalid message: ${p.error}: ${String(data)}`);
      this.messages.push(p.value);
      this.waiters = this.waiters.filter((w) => (w.pred(p.value) ? (w.resolve(p.value), false) : true));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => { this.closeCode = code; resolve(code); }));
  }

  /** Operators whose socket has not closed yet. */
  private static readonly connected = new Set<Operator>();

  /**
   * Closes every operator still connected: for an afterEach, so a test that fails before its own
   * close() does not leave its driver holding the lease for the tests after it.
   */
  static async closeAll(): Promise<void> {
    await Promise.all([...Operator.connected].map((op) => op.close()));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<Operator> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const op = new Operator(ws);
      Operator.connected.add(op);
      void op.closed.then(() => Operator.connected.delete(op));
      ws.once('open', () => resolve(op));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  static async connect(rig: Pick<Rig, 'httpPort'>, query = ''): Promise<Operator> {
    const op = await Operator.open(`ws://127.0.0.1:${rig.httpPort}/ws?token=${TOKEN}${query}`);
    await op.next((m) => m.type === 'welcome');
    return op;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The first message (already received or coming) of a type, or matching pred. */
  next<T extends RobotMessage['type']>(type: T, timeoutMs?: number, from?: number): Promise<Extract<RobotMessage, { type: T }>>;
  // `any` fields: tests read the fields of whichever message matched.
  next(pred: (m: RobotMessage) => boolean, timeoutMs?: number, from?: number): Promise<RobotMessage & Record<string, any>>;
  next<T extends RobotMessage['type']>(type: T | ((m: RobotMessage) => boolean), timeoutMs = 3000, from = 0): Promise<Extract<RobotMessage, { type: T }>> {
    const pred = typeof type === 'string' ? (m: RobotMessage) => m.type === type : type;
    const seen = this.messages.slice(from).find(pred);
    if (seen) return Promise.resolve(seen as Extract<RobotMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms: ${String(type).slice(0, 80)}; ${this.lastSeen()}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m as Extract<RobotMessage, { type: T }>); } });
    });
  }

  /** The last few messages other than the 5 Hz telemetry, which would hide them. */
  private lastSeen(): string {
    const telemetry = this.messages.filter((m) => m.type === 'telemetry').length;
    const rest = this.messages.filter((m) => m.type !== 'telemetry').slice(-4);
    return `last seen (besides ${telemetry} telemetry): ${JSON.stringify(rest).slice(0, 600)}`;
  }

  /**
   * Where the messages received so far end: `next(pred, timeout, op.mark())` then matches only what
   * arrives later. A state message (lease, talk_state) is sent at connect too, so a wait for a
   * change must start from a mark taken before the change, or it finds the old one.
   */
  mark(): number {
    return this.messages.length;
  }

  /** Closes politely; a bridge that does not finish the closing handshake within 1 s is cut off. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const cutOff = setTimeout(() => this.ws.terminate(), 1000);
    this.ws.close();
    await this.closed;
    clearTimeout(cutOff);
  }
}

let seq = 0;
export const drive = (left: number, right: number, extra: Record<string, unknown> = {}) =>
  ({ v: 1, type: 'drive', seq: ++seq, left, right, ttl: 300, t: Date.now(), ...extra });
