// Command round trip: drive → bridge → simulated ESP32 over the pty ($M → $A) → ack, from a Node
// WebSocket client (the app's part is a WebSocket send/receive, no rendering), locally on the
// bridge's /ws and through the relay (/ws/client/<id> → relay → bridge's relay link → … → back).
//   node --import tsx bench/command-latency.ts [--count 300] [--stops 40]
// Sequential (one command in flight), 50 per second (under both sides' 60 msg/s limit).
// Then the deadman stop: a driver at the app's 25 Hz goes silent, and the time from its last
// command's stamp (t) to the simulator cutting the tracks ($S received, /state lastStopAt; both
// Date.now on one machine) is the stop time, `--stops` times on each path.
import WebSocket from 'ws';
import { DEFAULT_DEADMAN_MS } from '../protocol/limits.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, dist, emitResult, machine, onInterrupt, round1, sleep, STOP_FRAME_MS } from './lib/util.ts';

const COUNT = Math.min(20000, Math.max(100, Number(arg('count', '300'))));
const STOPS = Math.min(1000, Math.max(5, Number(arg('stops', '40'))));
/** The app's drive interval (src/lib/link/drive-sender.ts). */
const APP_INTERVAL_MS = 40;

interface Msg { type: string; seq?: number; result?: string; you?: boolean; serialRttMs?: number }

async function drive(url: string, headers: Record<string, string>): Promise<{ rtt: number[]; serial: number[]; notApplied: number }> {
  const ws = new WebSocket(url, { headers });
  const waiters = new Map<number, (m: Msg) => void>();
  let isDriver = false;
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) return;
    const m = JSON.parse(data.toString()) as Msg;
    if (m.type === 'lease' && m.you) isDriver = true;
    if (m.type === 'ack' && m.seq !== undefined) waiters.get(m.seq)?.(m);
  });
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  ws.send(JSON.stringify({ v: 1, type: 'hello', name: 'bench', want: 'driver' }));
  for (let i = 0; i < 100 && !isDriver; i++) await sleep(50);
  if (!isDriver) throw new Error(`did not get the lease on ${url.replace(/token=[^&]+/, 'token=…')}`);
  const rtt: number[] = [];
  const serial: number[] = [];
  let notApplied = 0;
  const t0 = Date.now();
  for (let seq = 1; seq <= COUNT; seq++) {
    const due = t0 + seq * 20;
    const sent = performance.now();
    const ack = await new Promise<Msg | null>((res) => {
      const timer = setTimeout(() => { waiters.delete(seq); res(null); }, 2000);
      waiters.set(seq, (m) => { clearTimeout(timer); waiters.delete(seq); res(m); });
      const v = ((seq % 20) - 10) / 40;
      ws.send(JSON.stringify({ v: 1, type: 'drive', seq, left: v, right: -v, ttl: 500, t: Date.now() }));
    });
    if (!ack) { notApplied++; continue; }
    rtt.push(performance.now() - sent);
    if (ack.result !== 'applied') notApplied++;
    if (typeof ack.serialRttMs === 'number') serial.push(ack.serialRttMs);
    await sleep(Math.max(0, due - Date.now()));
  }
  ws.send(JSON.stringify({ v: 1, type: 'stop' }));
  await sleep(100);
  ws.close();
  await sleep(300); // the lease is freed when the socket closes
  return { rtt, serial, notApplied };
}

async function lastStopAt(simControlUrl: string): Promise<number | null> {
  const r = await fetch(`${simControlUrl}/state`);
  return ((await r.json()) as { lastStopAt: number | null }).lastStopAt;
}

/** Drives for 0.4 s at the app's pace, goes silent, and times the deadman stop; `STOPS` times. */
async function deadmanStops(url: string, simControlUrl: string): Promise<{ stopMs: number[]; missed: number }> {
  const ws = new WebSocket(url);
  let isDriver = false;
  const stoppedSeen: string[] = [];
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) return;
    const m = JSON.parse(data.toString()) as Msg & { reason?: string };
    if (m.type === 'lease' && m.you) isDriver = true;
    if (m.type === 'stopped' && m.reason) stoppedSeen.push(m.reason);
  });
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  ws.send(JSON.stringify({ v: 1, type: 'hello', name: 'bench', want: 'driver' }));
  for (let i = 0; i < 100 && !isDriver; i++) await sleep(50);
  if (!isDriver) throw new Error('did not get the lease for the deadman stops');
  const stopMs: number[] = [];
  let missed = 0;
  let seq = 1_000_000;
  for (let i = 0; i < STOPS; i++) {
    const before = await lastStopAt(simControlUrl);
    let lastT = 0;
    for (let k = 0; k < 10; k++) {
      lastT = Date.now();
      ws.send(JSON.stringify({ v: 1, type: 'drive', seq: ++seq, left: 0.5, right: 0.5, ttl: 300, t: lastT }));
      await sleep(APP_INTERVAL_MS);
    }
    let at: number | null = null;
    for (let w = 0; w < 100; w++) {
      const s = await lastStopAt(simControlUrl);
      if (s !== null && s !== before && s >= lastT) { at = s; break; }
      await sleep(20);
    }
    if (at === null) missed++;
    else stopMs.push(at - lastT);
    await sleep(50);
  }
  if (stoppedSeen.some((r) => r !== 'deadman')) throw new Error(`stops other than the deadman's: ${stoppedSeen.join(', ')}`);
  ws.close();
  await sleep(300);
  return { stopMs, missed };
}

let bs: BenchStack | null = null;
onInterrupt(async () => { await bs?.stop(); });
try {
  const m = machine();
  bs = await startBenchStack();
  await bs.waitLive();
  const local = await drive(`${bs.bridgeUrl.replace('http', 'ws')}/ws?token=${encodeURIComponent(bs.stack.token)}`, {});
  const sess = await bs.session('driver');
  const relay = await drive(`${bs.stack.server!.relayUrl.replace('http', 'ws')}/ws/client/${sess.clientId}?token=${encodeURIComponent(sess.token)}`, {});
  const L = dist(local.rtt);
  const R = dist(relay.rtt);
  console.error(`local p50 ${L?.p50} p99 ${L?.p99}; relay p50 ${R?.p50} p99 ${R?.p99} ms`);
  const simUrl = bs.stack.simControlUrl;
  const stopLocal = await deadmanStops(`${bs.bridgeUrl.replace('http', 'ws')}/ws?token=${encodeURIComponent(bs.stack.token)}`, simUrl);
  const stopSess = await bs.session('driver');
  const stopRelay = await deadmanStops(`${bs.stack.server!.relayUrl.replace('http', 'ws')}/ws/client/${stopSess.clientId}?token=${encodeURIComponent(stopSess.token)}`, simUrl);
  const SL = dist(stopLocal.stopMs);
  const SR = dist(stopRelay.stopMs);
  console.error(`deadman stop after the last command: local p50 ${SL?.p50} p99 ${SL?.p99}; relay p50 ${SR?.p50} p99 ${SR?.p99} ms`);
  emitResult({
    bench: 'command-latency', count: COUNT, machine: m, loadAfter: machine().load,
    local: { rtt: L, serialRtt: dist(local.serial), notApplied: local.notApplied },
    relay: { rtt: R, serialRtt: dist(relay.serial), notApplied: relay.notApplied },
    relayAdded: L && R ? { p50: round1(R.p50 - L.p50), p99: round1(R.p99 - L.p99) } : null,
    deadmanStop: {
      deadmanMs: DEFAULT_DEADMAN_MS, stopFrameMs: STOP_FRAME_MS, intervalMs: APP_INTERVAL_MS,
      local: { stop: SL, missed: stopLocal.missed }, relay: { stop: SR, missed: stopRelay.missed },
    },
  });
} finally {
  await bs?.stop();
}
