// Robot footprint and bandwidth, sampled from /proc (RSS from status, CPU from utime+stime of stat;
// 100 % = one core), two phases on the same stack:
//   local  — server mode stopped, 2 MJPEG viewers (Node HTTP readers of /video) at 1280x720@30
//   server — publishing H.264 + Opus to MediaMTX, 1 WHEP viewer (the app's WhepPlayer in Chromium)
// Bandwidth in the server phase: MediaMTX API bytesReceived on robots/<id> (upstream on the wire,
// RTSP/TCP), ffprobe packet sizes per stream (payload: video and audio apart), and the viewer's
// getStats() bytesReceived (downstream).
// The bridge is measured as it runs (scripts/stack.ts: the build/bridge.mjs bundle under plain node,
// with the flags and environment of the Pi's systemd unit); its command line is in the result. For
// the bridge, each phase also splits RSS from /proc/<pid>/smaps_rollup into anonymous (private:
// V8 heap, malloc, buffers) and file-backed (mostly node's own executable, shared and clean), and
// an idle phase (no viewer, not publishing, the capture stopped) gives the bridge without video.
// node --import tsx bench/footprint.ts [--seconds 10]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, cmdline, descendants, emitResult, machine, onInterrupt, procName, sampleProcs, sleep, waitFor } from './lib/util.ts';

const SECONDS = Math.min(3600, Math.max(5, Number(arg('seconds', '10'))));
type Bench = { bench: Record<string, (...a: unknown[]) => Promise<unknown>> };

function groups(bs: BenchStack): () => Record<string, number[]> {
  return () => {
    const bridge = bs.pid('bridge');
    const kids = descendants(bridge);
    return {
      bridge: [bridge],
      ffmpeg: kids.filter((p) => procName(p) === 'ffmpeg'),
      simulator: [bs.pid('sim')],
      mediamtx: [bs.pid('mediamtx')],
      relay: [bs.pid('relay')],
    };
  };
}

/** RSS split of one process (MB): anonymous (private memory) and file-backed (mapped code). */
function memSplit(pid: number): { rssMb: number; anonMb: number; fileMb: number } | null {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0);
    const mb = (v: number) => Math.round(v / 102.4) / 10;
    return { rssMb: mb(kb('Rss')), anonMb: mb(kb('Anonymous')), fileMb: mb(kb('Rss') - kb('Anonymous')) };
  } catch { return null; }
}

/** The process's MALLOC_* environment (glibc tunables the bridge is started with). */
function mallocEnv(pid: number): string[] {
  try { return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.startsWith('MALLOC_')); } catch { return []; }
}

async function mjpegViewer(url: string, signal: AbortSignal): Promise<{ bytes: () => number }> {
  let bytes = 0;
  const res = await fetch(url, { signal });
  const reader = res.body!.getReader();
  void (async () => { try { for (;;) { const { value, done } = await reader.read(); if (done) break; bytes += value.length; } } catch { /* aborted */ } })();
  return { bytes: () => bytes };
}

function ffprobeBitrates(url: string, seconds: number): Promise<{ videoKbps: number | null; audioKbps: number | null }> {
  return new Promise((resolve) => {
    execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-show_entries', 'packet=codec_type,size,pts_time', '-of', 'csv=p=0', '-read_intervals', `%+${seconds}`],
      { timeout: (seconds + 15) * 1000, maxBuffer: 64 * 2 ** 20 }, (_err, stdout) => {
        const acc: Record<string, { bytes: number; min: number; max: number }> = {};
        for (const line of String(stdout).split('\n')) {
          const [type, pts, size] = line.split(',');
          if (!type || !size) continue;
          const a = (acc[type] ??= { bytes: 0, min: Infinity, max: -Infinity });
          a.bytes += Number(size);
          const t = Number(pts);
          if (Number.isFinite(t)) { a.min = Math.min(a.min, t); a.max = Math.max(a.max, t); }
        }
        const kbps = (k: string) => { const a = acc[k]; return a && a.max > a.min ? Math.round((a.bytes * 8) / (a.max - a.min) / 1000) : null; };
        resolve({ videoKbps: kbps('video'), audioKbps: kbps('audio') });
      });
  });
}

let bs: BenchStack | null = null;
let browser: Browser | null = null;
const ac = new AbortController();
async function cleanup() { ac.abort(); await browser?.close().catch(() => {}); await bs?.stop().catch(() => {}); }
onInterrupt(cleanup);
try {
  const m = machine();
  bs = await startBenchStack({ fresh: true }); // its own processes: their RSS and CPU are the figures
  await bs.waitLive();
  const auth = { authorization: `Bearer ${bs.stack.token}` };

  // Local phase.
  await fetch(`${bs.bridgeUrl}/server/stop`, { method: 'POST', headers: auth });
  await sleep(1000);
  const videoUrl = `${bs.bridgeUrl}/video?token=${encodeURIComponent(bs.stack.token)}`;
  const v1 = await mjpegViewer(videoUrl, ac.signal);
  await mjpegViewer(videoUrl, ac.signal); // a second viewer: its load is what is measured
  await sleep(2000);
  const b0 = v1.bytes();
  const local = await sampleProcs(groups(bs), SECONDS * 1000);
  const localMem = memSplit(bs.pid('bridge'));
  const mjpegKbpsPerViewer = Math.round(((v1.bytes() - b0) * 8) / SECONDS / 1000);
  ac.abort();
  console.error(`local: ${JSON.stringify(local)}; bridge ${JSON.stringify(localMem)}; MJPEG ${mjpegKbpsPerViewer} kbps per viewer`);

  // Idle phase: no viewer, not publishing; the MJPEG capture stops 5 s after the last viewer.
  await waitFor('capture stopped', () => descendants(bs!.pid('bridge')).every((p) => procName(p) !== 'ffmpeg'), 15000, 200);
  await sleep(1000);
  const idle = await sampleProcs(() => ({ bridge: [bs!.pid('bridge')] }), Math.max(3, Math.min(SECONDS / 2, 5)) * 1000);
  const idleMem = memSplit(bs.pid('bridge'));
  console.error(`idle: ${JSON.stringify(idle)}; bridge ${JSON.stringify(idleMem)}`);

  // Server phase.
  await fetch(`${bs.bridgeUrl}/server/start`, { method: 'POST', headers: auth });
  await bs.waitLive();
  browser = await benchBrowser();
  const sess = await bs.session('viewer');
  const page = await openBenchPage(browser, bs.bridgeUrl);
  await page.evaluate(([u, t]) => (globalThis as unknown as Bench).bench.start!('ours-webrtc', u, t), [sess.whepUrl, sess.token]);
  await waitFor('WHEP playing', () => page.evaluate(() => (globalThis as unknown as Bench).bench.state!()).then((s) => s === 'playing'), 15000, 200);
  await sleep(2000);
  const api = `${bs.stack.server!.mediamtxApiUrl}/v3/paths/get/robots/sim`;
  const headers = bs.stack.server!.mediamtxApiHeaders;
  const bytesIn = async () => ((await (await fetch(api, { headers })).json()) as { bytesReceived: number }).bytesReceived;
  const in0 = await bytesIn();
  const t0 = Date.now();
  const rx0 = (await page.evaluate(() => (globalThis as unknown as Bench).bench.inboundStats!())) as { t: number; video?: { bytesReceived: number }; audio?: { bytesReceived: number } };
  // The robot's upstream, per track, read back over RTSP during the same window (one more reader
  // at MediaMTX beside the WHEP viewer; the bridge does not see it).
  const viewerRtsp = `${bs.rtspBase.replace('rtsp://', `rtsp://viewer:${encodeURIComponent(sess.token)}@`)}/robots/sim`;
  const probing = ffprobeBitrates(viewerRtsp, SECONDS);
  const server = await sampleProcs(groups(bs), SECONDS * 1000);
  const serverMem = memSplit(bs.pid('bridge'));
  const rx1 = (await page.evaluate(() => (globalThis as unknown as Bench).bench.inboundStats!())) as typeof rx0;
  const upstreamKbps = Math.round((((await bytesIn()) - in0) * 8) / ((Date.now() - t0) / 1000) / 1000);
  const payload = await probing;
  const dt = (rx1.t - rx0.t) / 1000;
  const viewer = {
    videoKbps: Math.round((((rx1.video?.bytesReceived ?? 0) - (rx0.video?.bytesReceived ?? 0)) * 8) / dt / 1000),
    audioKbps: Math.round((((rx1.audio?.bytesReceived ?? 0) - (rx0.audio?.bytesReceived ?? 0)) * 8) / dt / 1000),
  };
  const status = await bs.serverStatus();
  console.error(`server: ${JSON.stringify(server)}; bridge ${JSON.stringify(serverMem)}; upstream ${upstreamKbps} kbps; payload ${JSON.stringify(payload)}; viewer ${JSON.stringify(viewer)}`);
  emitResult({
    bench: 'footprint', seconds: SECONDS, machine: m, loadAfter: machine().load,
    bridge: { command: cmdline(bs.pid('bridge')), env: mallocEnv(bs.pid('bridge')) },
    local: { procs: local, mjpegKbpsPerViewer, viewers: 2, bridgeMem: localMem },
    idle: { procs: idle, bridgeMem: idleMem },
    server: { procs: server, viewers: 1, bridgeMem: serverMem },
    bandwidth: { upstreamWireKbps: upstreamKbps, upstreamPayload: payload, viewerDownstream: viewer, bridgeReportedKbps: (status.status as Record<string, unknown> | undefined)?.bitrate_kbps ?? null },
  });
} finally {
  await cleanup();
}
