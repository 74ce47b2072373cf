// Soak (npm run bench -- --soak): driving + streaming for --minutes (default 60), bridge, FFmpeg,
// MediaMTX, relay and simulator RSS and open fds sampled every 10 s. Verdict per process: flat when
// the RSS slope over the second half (least squares) is under 5 MB/h and fds end within 4 of start.
//   node --import tsx bench/soak.ts [--minutes 60]
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, descendants, emitResult, machine, onInterrupt, procName, procStat, round1, sleep } from './lib/util.ts';

const MINUTES = Math.min(240, Math.max(1, Number(arg('minutes', '60'))));
type Bench = { bench: Record<string, (...a: unknown[]) => Promise<unknown>> };

let bs: BenchStack | null = null;
let browser: Browser | null = null;
let ws: WebSocket | null = null;
const ac = new AbortController();
async function cleanup() { ac.abort(); ws?.terminate(); await browser?.close().catch(() => {}); await bs?.stop().catch(() => {}); }
onInterrupt(cleanup);

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? num / den : 0;
}

try {
  const m = machine();
  bs = await startBenchStack({ fresh: true });
  await bs.waitLive();
  browser = await benchBrowser();
  const sess = await bs.session('viewer');
  const page = await openBenchPage(browser, bs.bridgeUrl);
  await page.evaluate(([u, t]) => (globalThis as unknown as Bench).bench.start!('ours-webrtc', u, t), [sess.whepUrl, sess.token]);
  // One MJPEG viewer (Node) and one driver on the relay, 20 Hz drive with a stop every 10 s.
  void fetch(`${bs.bridgeUrl}/video?token=${encodeURIComponent(bs.stack.token)}`, { signal: ac.signal }).then(async (r) => { const rd = r.body!.getReader(); for (;;) { const { done } = await rd.read(); if (done) break; } }).catch(() => {});
  const drv = await bs.session('driver');
  let acks = 0;
  let errors = 0;
  ws = new WebSocket(`${bs.stack.server!.relayUrl.replace('http', 'ws')}/ws/client/${drv.clientId}?token=${encodeURIComponent(drv.token)}`);
  ws.on('message', (d: Buffer, bin: boolean) => { if (bin) return; const j = JSON.parse(d.toString()) as { type: string }; if (j.type === 'ack') acks++; if (j.type === 'error') errors++; });
  ws.on('error', () => { errors++; });
  await new Promise<void>((res) => ws!.once('open', () => res()));
  ws.send(JSON.stringify({ v: 1, type: 'hello', name: 'soak', want: 'driver' }));
  let seq = 0;
  const driveTimer = setInterval(() => {
    seq++;
    if (ws?.readyState !== WebSocket.OPEN) return;
    if (seq % 200 === 0) ws.send(JSON.stringify({ v: 1, type: 'stop' }));
    else ws.send(JSON.stringify({ v: 1, type: 'drive', seq, left: 0.3, right: 0.25, ttl: 500, t: Date.now() }));
  }, 50);

  const series: Record<string, Array<{ t: number; rssMb: number; fds: number }>> = {};
  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  while (Date.now() < end) {
    const bridge = bs.pid('bridge');
    const groups: Record<string, number[]> = { bridge: [bridge], ffmpeg: descendants(bridge).filter((p) => procName(p) === 'ffmpeg'), mediamtx: [bs.pid('mediamtx')], relay: [bs.pid('relay')], simulator: [bs.pid('sim')] };
    for (const [name, pids] of Object.entries(groups)) {
      let rss = 0, fds = 0;
      for (const p of pids) { const s = procStat(p); if (s) { rss += s.rssKb / 1024; fds += s.fds; } }
      (series[name] ??= []).push({ t: (Date.now() - t0) / 3_600_000, rssMb: rss, fds });
    }
    await sleep(Math.min(10_000, Math.max(0, end - Date.now())));
  }
  clearInterval(driveTimer);
  const procs: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(series)) {
    const half = s.slice(Math.floor(s.length / 2));
    const sl = slope(half.map((x) => [x.t, x.rssMb]));
    const first = s[0]!, last = s[s.length - 1]!;
    procs[name] = { rssStartMb: round1(first.rssMb), rssEndMb: round1(last.rssMb), slopeMbPerHour: round1(sl), fdsStart: first.fds, fdsEnd: last.fds, flat: sl < 5 && last.fds - first.fds <= 4 };
  }
  console.error(JSON.stringify(procs));
  emitResult({ bench: 'soak', minutes: MINUTES, machine: m, loadAfter: machine().load, procs, acks, errors, samples: series });
} finally {
  await cleanup();
}
