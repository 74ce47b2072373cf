// Glass-to-glass video latency in real headless Chromium, ours beside the bare floor, same run:
//   node --import tsx bench/video-latency.ts [--frames 300] [--repeat 1]
// ours:  simulator camera (strip) → bridge → FFmpeg (bridge/media/ffmpeg-args.ts) → bridge /video
//        MJPEG in the app's MjpegSource <img>; → publisher → MediaMTX (product config, relay auth)
//        → the app's WhepPlayer <video> / HlsPlayer (hls.js).
// floor: bench/lib/floor.ts (generator → plain FFmpeg → own MediaMTX or a minimal MJPEG server →
//        plain <img> / RTCPeerConnection / hls.js).
// Each path is measured alone (the other pipeline stopped: /server/stop on the bridge while the
// MJPEG and floor runs go), so the two do not share the 2 cores' encoder load.
// Prints `BENCH_RESULT {...}` (bench/run.ts reads it).
import type { Browser, Page } from 'playwright-core';
import { FLOOR_W, startFloorMediamtx, startFloorMjpeg } from './lib/floor.ts';
import { probeVideo } from './lib/rtsp-probe.ts';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, dist, emitResult, machine, onInterrupt, round1, sleep, type Dist } from './lib/util.ts';

const FRAMES = Math.max(300, Number(arg('frames', '300')));
const REPEAT = Math.min(5, Math.max(1, Number(arg('repeat', '1'))));
const WARMUP_MS = 1000;
/** Which paths to measure (all for bench/run.ts; a subset when working on one). */
const PATHS = new Set(arg('paths', 'mjpeg,webrtc,hls').split(','));

interface Sample { lat: number; recv?: number; disp?: number; proc?: number }
interface InboundSnap { t: number; video?: Record<string, number>; audio?: Record<string, number> }
interface MeasureOut { samples: Sample[]; failures: number; firstFrameMs: number | null; statsBefore: InboundSnap | null; statsAfter: InboundSnap | null; width: number }

export interface PathResult {
  latency: Dist | null;
  decodeFailures: number;
  frames: number;
  width: number;
  firstFrameMs: number | null;
  /** WebRTC only: where the time goes (ms, medians / per-frame means). */
  stages?: { captureToReceiveP50: number | null; receiveToDisplayP50: number | null; displayToCallbackP50: number | null; jitterBufferMsPerFrame: number | null; decodeMsPerFrame: number | null; assemblyMsPerFrame: number | null };
  bitrateKbps?: { video: number | null; audio: number | null };
}

function delta(a: InboundSnap | null, b: InboundSnap | null, kind: 'video' | 'audio', key: string): number | null {
  const x = a?.[kind]?.[key];
  const y = b?.[kind]?.[key];
  return typeof x === 'number' && typeof y === 'number' ? y - x : null;
}

function summarise(runs: MeasureOut[]): PathResult {
  const samples = runs.flatMap((r) => r.samples);
  const med = (xs: number[]) => dist(xs)?.p50 ?? null;
  const res: PathResult = {
    latency: dist(samples.map((s) => s.lat)),
    decodeFailures: runs.reduce((a, r) => a + r.failures, 0),
    frames: samples.length,
    width: runs[0]?.width ?? 0,
    firstFrameMs: runs[0]?.firstFrameMs !== null && runs[0]?.firstFrameMs !== undefined ? Math.round(runs[0].firstFrameMs) : null,
  };
  const withRecv = samples.filter((s) => s.recv !== undefined && s.disp !== undefined);
  const last = runs[runs.length - 1]!;
  if (withRecv.length) {
    const per = (key: string, count: string) => {
      const d = delta(last.statsBefore, last.statsAfter, 'video', key);
      const n = delta(last.statsBefore, last.statsAfter, 'video', count);
      return d !== null && n ? round1((d / n) * 1000) : null;
    };
    res.stages = {
      captureToReceiveP50: med(withRecv.map((s) => s.recv!)),
      receiveToDisplayP50: med(withRecv.map((s) => s.disp! - s.recv!)),
      displayToCallbackP50: med(withRecv.map((s) => s.lat - s.disp!)),
      jitterBufferMsPerFrame: per('jitterBufferDelay', 'jitterBufferEmittedCount'),
      decodeMsPerFrame: per('totalDecodeTime', 'framesDecoded'),
      assemblyMsPerFrame: per('totalAssemblyTime', 'framesAssembledFromMultiplePackets'),
    };
  }
  if (last.statsBefore && last.statsAfter) {
    const dt = (last.statsAfter.t - last.statsBefore.t) / 1000;
    const kbps = (kind: 'video' | 'audio') => {
      const d = delta(last.statsBefore, last.statsAfter, kind, 'bytesReceived');
      return d !== null && dt > 0 ? Math.round((d * 8) / dt / 1000) : null;
    };
    res.bitrateKbps = { video: kbps('video'), audio: kbps('audio') };
  }
  return res;
}

async function run(page: Page, kind: string, url: string, token: string | null, timeoutMs = 60000): Promise<PathResult> {
  const runs: MeasureOut[] = [];
  for (let i = 0; i < REPEAT; i++) {
    await page.evaluate(([k, u, t]) => (globalThis as unknown as { bench: { start(a: string, b: string, c: string | null): Promise<boolean> } }).bench.start(k!, u!, t ?? null), [kind, url, token] as const);
    runs.push(await page.evaluate((o) => (globalThis as unknown as { bench: { measure(o: object): Promise<MeasureOut> } }).bench.measure(o), { frames: FRAMES, timeoutMs, warmupMs: WARMUP_MS }));
    await page.evaluate(() => (globalThis as unknown as { bench: { stop(): void } }).bench.stop());
  }
  const r = summarise(runs);
  console.error(`${kind}: p50 ${r.latency?.p50} p95 ${r.latency?.p95} max ${r.latency?.max} ms over ${r.frames} frames, ${r.decodeFailures} unreadable reads`);
  return r;
}

/**
 * Stage: capture → MediaMTX's RTSP egress, read by a bufferless FFmpeg reader
 * (bench/lib/rtsp-probe.ts). It runs during the HLS measurement, floor and ours alike (one more
 * reader at MediaMTX; the ~0.8 s HLS figure does not feel it, and the quick mode gains the probe's
 * time), and never during a WebRTC or MJPEG one.
 */
async function withEgress<T>(url: string | null, during: () => Promise<T>): Promise<[T, Dist | null]> {
  if (!url) return [await during(), null];
  const probe = probeVideo(url, FLOOR_W);
  const started = Date.now();
  try {
    // The probe's own start (FFmpeg, RTSP, decoder) is over before hls.js starts beside it.
    await sleep(1000);
    const r = await during();
    // At least 4 s of frames after the probe's own 1 s start.
    await sleep(Math.max(0, 5000 - (Date.now() - started)));
    const d = dist(probe.stop());
    console.error(`egress ${url.replace(/\/\/[^@]*@/, '//')}: ${JSON.stringify(d)}`);
    return [r, d];
  } finally {
    probe.stop();
  }
}

const ratio = (a: PathResult, b: PathResult) => (a.latency && b.latency && b.latency.p50 > 0 ? Math.round((a.latency.p50 / b.latency.p50) * 100) / 100 : null);

let bs: BenchStack | null = null;
let browser: Browser | null = null;
const stopAll: Array<() => Promise<void>> = [];
async function cleanup() {
  for (const f of stopAll.splice(0)) await f().catch(() => {});
  await browser?.close().catch(() => {});
  await bs?.stop().catch(() => {});
}
onInterrupt(cleanup);

try {
  const machineBefore = machine();
  bs = await startBenchStack();
  await bs.waitLive();
  browser = await benchBrowser();
  const auth = { authorization: `Bearer ${bs.stack.token}` };
  const serverCtl = async (what: 'start' | 'stop') => {
    const r = await fetch(`${bs!.bridgeUrl}/server/${what}`, { method: 'POST', headers: auth });
    if (!r.ok) throw new Error(`/server/${what}: ${r.status} ${await r.text()}`);
  };

  const skipped: PathResult = { latency: null, decodeFailures: 0, frames: 0, width: 0, firstFrameMs: null };
  const measure = async (name: string, fn: () => Promise<PathResult>) => (PATHS.has(name) ? fn() : skipped);

  // 1. MJPEG: server mode off (local mode only), floor then ours.
  await serverCtl('stop');
  const [floorMjpeg, oursMjpeg] = PATHS.has('mjpeg') ? await (async () => {
    const fm = await startFloorMjpeg();
    stopAll.push(fm.stop);
    let page = await openBenchPage(browser!, fm.origin);
    const floor = await run(page, 'floor-mjpeg', fm.url, null);
    await page.close();
    await fm.stop();
    stopAll.pop();
    page = await openBenchPage(browser!, bs!.bridgeUrl);
    const ours = await run(page, 'ours-mjpeg', `/video?token=${encodeURIComponent(bs!.stack.token)}`, null);
    await page.close();
    return [floor, ours];
  })() : [skipped, skipped];

  // 2. WebRTC + LL-HLS floor: own MediaMTX, ours idle.
  const fw = await startFloorMediamtx();
  stopAll.push(fw.stop);
  let page = await openBenchPage(browser, bs.bridgeUrl);
  const floorWebrtc = await measure('webrtc', () => run(page, 'floor-webrtc', fw.whepUrl, null));
  const [floorHls, floorEgress] = await withEgress(PATHS.has('webrtc') ? fw.rtspUrl : null, () => measure('hls', () => run(page, 'floor-hls', fw.hlsUrl, null)));
  await page.close();
  await fw.stop();
  stopAll.pop();

  // 3. Ours through MediaMTX: server mode back on, the app's players with a relay session.
  await serverCtl('start');
  await bs.waitLive();
  const sess = await bs.session('viewer');
  page = await openBenchPage(browser, bs.bridgeUrl);
  const oursWebrtc = await measure('webrtc', () => run(page, 'ours-webrtc', sess.whepUrl, sess.token));
  const oursRtsp = `${bs.rtspBase.replace('rtsp://', `rtsp://viewer:${encodeURIComponent(sess.token)}@`)}/robots/${bs.stack.server!.robotId}`;
  const [oursHls, oursEgress] = await withEgress(PATHS.has('webrtc') ? oursRtsp : null, () => measure('hls', () => run(page, 'ours-hls', sess.hlsUrl, sess.token)));
  await page.close();

  emitResult({
    bench: 'video-latency', framesPerPath: FRAMES * REPEAT, machine: machineBefore, loadAfter: machine().load,
    paths: {
      mjpeg: { ours: oursMjpeg, floor: floorMjpeg, ratioP50: ratio(oursMjpeg, floorMjpeg) },
      webrtc: { ours: oursWebrtc, floor: floorWebrtc, ratioP50: ratio(oursWebrtc, floorWebrtc), egress: { ours: oursEgress, floor: floorEgress } },
      hls: { ours: oursHls, floor: floorHls, ratioP50: ratio(oursHls, floorHls) },
    },
  });
} finally {
  await cleanup();
}
