// Audio latency with a marker both ways, real Chromium, real MediaMTX, on loopback:
//   node --import tsx bench/audio-latency.ts [--seconds 12]
// robot mic → app: the simulated microphone's marker (HAVATAR_SIM_MIC_MARKER=1: a 1 kHz burst
//   starting at every wall-clock second, bridge/sim/audio.ts) → bridge mic capture → publisher
//   (Opus) → MediaMTX → the app's WhepPlayer → an AudioWorklet after the app's low-latency playout
//   (what the operator hears; on the received track when NetEq plays it: BENCH_AUDIO_KIND=ours-webrtc-neteq); the onset
//   time is the worklet's Date.now() + the sample's offset in its render quantum. Local mode too,
//   in the same window:
//   the bridge's /ws?audio=1 PCM frames in a Node WebSocket client, timed on arrival.
// talk → robot speaker: an AudioWorklet in the page generates the same marker (bursts at wall-clock
//   seconds) into a MediaStreamDestination published with WHIP to robots/<id>/talk; the robot's own
//   talk reader arguments (rtspTalkArgs) with a speaker sink that writes PCM to a pipe, timed on
//   arrival in Node (a speaker with no buffer of its own).
// Each latency = onset time − the whole second before it. Excluded: the sound card's buffers at
// both ends (a real mic's period is modelled by the simulator; a real speaker adds its buffer).
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { markerLatencies as latencies, pcmOnsets as pcmDetector, probeAudio, talkReader, type Probe } from './lib/rtsp-probe.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import type { PlayoutStats } from '../src/lib/audio/playout-buffer.js';
import { arg, dist, emitResult, machine, onInterrupt, sleep, waitFor } from './lib/util.ts';

const SECONDS = Math.min(600, Math.max(5, Number(arg('seconds', '12'))));
const START_SECONDS = 8;
type Bench = { bench: Record<string, (...a: unknown[]) => Promise<unknown>> };

const dbg: Buffer[] = [];
let bs: BenchStack | null = null;
let browser: Browser | null = null;
let stopReader: (() => void) | null = null;
let ws: WebSocket | null = null;
let leaseHolder: { close(): void } | null = null;
async function cleanup() {
  stopReader?.();
  ws?.terminate();
  leaseHolder?.close();
  await browser?.close().catch(() => {});
  await bs?.stop().catch(() => {});
}
onInterrupt(cleanup);

/** A marker at most this much above the steady state's p50 counts as settled. */
const SETTLED_WITHIN_MS = 20;

/**
 * The first seconds after joining, marker by marker (when it was captured, in s after the WHEP
 * start, and its latency), and when the latency settled: the capture time of the first marker from
 * which every later one is at most SETTLED_WITHIN_MS above the steady p50 (null: not within the window).
 */
function settling(onsets: number[], joinedAt: number, steadyP50: number | null): { series: { atS: number; ms: number }[]; settledAfterS: number | null } {
  const series = onsets
    .map((t) => ({ second: Math.floor(t / 1000) * 1000, ms: Math.round((t % 1000) * 10) / 10 }))
    .filter((m) => m.ms < 900)
    .map((m) => ({ atS: Math.round((m.second - joinedAt) / 100) / 10, ms: m.ms }));
  if (steadyP50 === null || series.length === 0) return { series, settledAfterS: null };
  let first = series.length;
  while (first > 0 && series[first - 1]!.ms <= steadyP50 + SETTLED_WITHIN_MS) first--;
  return { series, settledAfterS: first < series.length ? series[first]!.atS : null };
}

/**
 * What the app's low-latency playout did over the measured window (its counters are cumulative):
 * frames in, and the share of the audio it dropped (late frames, cut back) or filled with silence.
 */
function playoutWindow(b: PlayoutStats | null, a: (PlayoutStats & { error?: string | null }) | null) {
  if (!a) return null;
  if (a.error) throw new Error(`low-latency playout: ${a.error}`);
  const d = (k: 'frames' | 'late' | 'trimmedSamples' | 'concealedSamples' | 'underruns') => a[k] - (b?.[k] ?? 0);
  const frameSamples = 480;
  const pct = (n: number) => (d('frames') > 0 ? Math.round((n / (d('frames') * frameSamples)) * 1000) / 10 : null);
  return {
    frames: d('frames'), lateFrames: d('late'), underruns: d('underruns'),
    latePercent: pct(d('late') * frameSamples), trimmedPercent: pct(d('trimmedSamples')), concealedPercent: pct(d('concealedSamples')),
    depthMs: a.depthSamples / 48, targetMs: a.targetSamples / 48,
  };
}

/** Takes the driver lease on a relay client socket and keeps it with the app's heartbeat (500 ms). */
async function holdLease(url: string): Promise<{ close(): void }> {
  const sock = new WebSocket(url);
  let mine = false;
  sock.on('message', (data: Buffer, binary: boolean) => {
    if (binary) return;
    const m = JSON.parse(data.toString()) as { type: string; you?: boolean };
    if (m.type === 'lease') mine = m.you === true;
  });
  await new Promise<void>((res, rej) => { sock.once('open', () => res()); sock.once('error', rej); });
  sock.send(JSON.stringify({ v: 1, type: 'hello', name: 'bench-talk', want: 'driver' }));
  const beat = setInterval(() => sock.send(JSON.stringify({ v: 1, type: 'heartbeat', t: Date.now() })), 500);
  const close = () => { clearInterval(beat); sock.terminate(); };
  try {
    await waitFor('the driver lease', () => mine, 5000, 50);
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}

try {
  const m = machine();
  bs = await startBenchStack();
  await bs.waitLive();
  browser = await benchBrowser();
  const sess = await bs.session('driver');
  const page = await openBenchPage(browser, bs.bridgeUrl);

  // 1. robot mic → app over WebRTC (and locally over /ws, below).
  const joinedAt = Date.now();
  await page.evaluate(([u, t, k]) => (globalThis as unknown as Bench).bench.start!(k, u, t), [sess.whepUrl, sess.token, process.env.BENCH_AUDIO_KIND ?? 'ours-webrtc']);
  await waitFor('WHEP playing', () => page.evaluate(() => (globalThis as unknown as Bench).bench.state!() as unknown as Promise<string>).then((s) => s === 'playing'), 15000, 200);
  const ctxInfo = await page.evaluate(() => (globalThis as unknown as Bench).bench.listenAudio!());
  // Stage: the same marker read back from MediaMTX over RTSP (Opus decoded by FFmpeg, timed on
  // arrival): mic → bridge → publisher → MediaMTX, without the browser's jitter buffer.
  const viewer = await bs.session('viewer');
  const robotUrl = `${bs.rtspBase.replace('rtsp://', `rtsp://viewer:${encodeURIComponent(viewer.token)}@`)}/robots/sim`;
  // The probe asks for the audio track only: a reader of both tracks holds one for the other.
  const rtspProbe: Probe = probeAudio(robotUrl);
  // Chromium's audio buffer starts high after joining (measured: ~375 ms at 2.3 s, draining to
  // ~62 ms by 8 s, with packets arriving steadily every 20 ms: its playout starts late), so the
  // first seconds after joining are reported on their own and the run is measured after them.
  const inbound = async () => ((await page.evaluate(() => (globalThis as unknown as Bench).bench.inboundStats!())) as { audio?: Record<string, number> } | null)?.audio;
  // Local mode in the same measured window (a Node client of /ws?audio=1, PCM frames timed on
  // arrival, its first 1.2 s skipped): the same microphone, a second consumer in the bridge. It
  // joins after the page's WebRTC start, whose CPU burst it would otherwise measure.
  await sleep(START_SECONDS * 1000 - 1500);
  const localOnsets: number[] = [];
  const detect = pcmDetector((t) => localOnsets.push(t));
  ws = new WebSocket(`${bs.bridgeUrl.replace('http', 'ws')}/ws?token=${encodeURIComponent(bs.stack.token)}&audio=1`);
  let localStart = 0;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const now = Date.now();
    if (!isBinary || data[0] !== 1) return;
    if (!localStart) localStart = now;
    if (now - localStart > 1200) detect(data.subarray(5), now);
  });
  await sleep(1500);
  const startOnsets = (await page.evaluate(() => (globalThis as unknown as Bench).bench.takeOnsets!())) as number[];
  const before = await inbound();
  const playoutStats = () => page.evaluate(() => (globalThis as unknown as Bench).bench.playoutStats!()) as Promise<PlayoutStats | null>;
  const playoutBefore = await playoutStats();
  await sleep(SECONDS * 1000);
  const rtspOnsets = rtspProbe.stop();
  const viaRtsp = latencies(rtspOnsets);
  console.error(`mic → MediaMTX RTSP reader: ${JSON.stringify(dist(viaRtsp.ms))}`);
  const micOnsets = (await page.evaluate(() => (globalThis as unknown as Bench).bench.takeOnsets!())) as number[];
  const a = await inbound();
  const playout = playoutWindow(playoutBefore, await playoutStats());
  if (playout) console.error(`low-latency playout over the window: ${JSON.stringify(playout)}`);
  // Over the measured window only (getStats counters are cumulative).
  const emitted = a && before ? a.jitterBufferEmittedCount! - before.jitterBufferEmittedCount! : 0;
  const audioJitterBufferMs = a && before && emitted > 0 ? Math.round(((a.jitterBufferDelay! - before.jitterBufferDelay!) / emitted) * 1000) : null;
  const audioJitterTargetMs = a && before && emitted > 0 && a.jitterBufferTargetDelay !== undefined ? Math.round(((a.jitterBufferTargetDelay - before.jitterBufferTargetDelay!) / emitted) * 1000) : null;
  const start = latencies(startOnsets);
  console.error(`mic → app (WebRTC), first ${START_SECONDS} s after joining: ${JSON.stringify(dist(start.ms))}`);
  console.error(`audio jitter buffer: ${audioJitterBufferMs} ms (target ${audioJitterTargetMs} ms)`);
  const mic = latencies(micOnsets);
  const settle = settling(startOnsets, joinedAt, dist(mic.ms)?.p50 ?? null);
  console.error(`first ${START_SECONDS} s, each marker (s after joining: ms): ${settle.series.map((m) => `${m.atS}: ${m.ms}`).join(', ')}; settled after ${settle.settledAfterS ?? '—'} s`);
  if (process.env.BENCH_DEBUG) console.error('mic onsets', micOnsets.map((t) => Math.round(t % 1000)).join(' '));
  await page.evaluate(() => (globalThis as unknown as Bench).bench.stop!());
  console.error(`mic → app (WebRTC): ${JSON.stringify(dist(mic.ms))}`);
  ws.close();
  const local = latencies(localOnsets);
  console.error(`mic → app (local /ws): ${JSON.stringify(dist(local.ms))}`);

  // 2. talk → robot speaker: WHIP from the page, read back with the robot's own talk arguments.
  // Only the driver holding the lease may talk (server/relay/mediamtx-auth.ts), and the lease
  // lapses without the app's heartbeat: hold it as the app does, on the relay's client socket.
  leaseHolder = await holdLease(`${bs.stack.server!.relayUrl.replace('http', 'ws')}/ws/client/${sess.clientId}?token=${encodeURIComponent(sess.token)}`);
  await page.evaluate(([u, t]) => (globalThis as unknown as Bench).bench.talk!(u, t), [sess.whipUrl, sess.token]);
  const api = bs.stack.server!.mediamtxApiUrl;
  const headers = bs.stack.server!.mediamtxApiHeaders;
  await waitFor('talk path ready', async () => ((await (await fetch(`${api}/v3/paths/get/robots/sim/talk`, { headers })).json()) as { ready?: boolean }).ready === true, 10000, 100);
  const url = `${bs.rtspBase.replace('rtsp://', `rtsp://sim:${encodeURIComponent(bs.stack.server!.robotPassword)}@`)}/robots/sim/talk`;
  const reader = talkReader(url, { onPcm: (d) => { if (process.env.BENCH_DEBUG) dbg.push(d); } });
  stopReader = reader.stop;
  await sleep(SECONDS * 1000 + 1500);
  const talkOnsets = reader.stop();
  stopReader = null;
  await page.evaluate(() => (globalThis as unknown as Bench).bench.stopTalk!());
  leaseHolder.close();
  leaseHolder = null;
  const talk = latencies(talkOnsets);

  if (process.env.BENCH_DEBUG) (await import('node:fs')).writeFileSync('/tmp/talk.s16', Buffer.concat(dbg));
  if (process.env.BENCH_DEBUG) console.error('talk onsets', talkOnsets.map((t) => Math.round(t % 100000)).join(' '));
  console.error(`talk → speaker: ${JSON.stringify(dist(talk.ms))}${talkOnsets.length ? '' : ` (reader said: ${reader.stderrTail()})`}`);

  emitResult({
    bench: 'audio-latency', seconds: SECONDS, machine: m, loadAfter: machine().load, audioContext: ctxInfo,
    micToAppWebrtc: { latency: dist(mic.ms), unassigned: mic.dropped, playout, audioJitterBufferMs, audioJitterTargetMs, startSeconds: START_SECONDS, start: dist(start.ms), startSeries: settle.series, settledAfterS: settle.settledAfterS },
    micToRtspReader: { latency: dist(viaRtsp.ms), unassigned: viaRtsp.dropped },
    micToAppLocal: { latency: dist(local.ms), unassigned: local.dropped },
    talkToSpeaker: { latency: dist(talk.ms), unassigned: talk.dropped },
  });
} finally {
  await cleanup();
}
