// What reaches the page's WebRTC receiver before Chromium's audio jitter buffer (NetEq), and what
// NetEq makes of it, in the same window:
//   node --import tsx bench/audio-arrival.ts [--seconds 12]
// A WHEP reader of the audio track alone with encoded streams (Chromium's encodedInsertableStreams):
// each encoded Opus frame is timed on arrival against its RTP timestamp, decoded at once with
// WebCodecs' AudioDecoder, and the simulated mic's marker onsets are timed at decode (no jitter
// buffer at all); the frames then go on to NetEq as usual, whose buffer and target over the same
// window come from getStats. The arrival spread says what a fixed playout buffer of B ms would lose
// (frames later than B behind the earliest), which is what NetEq's target trades for latency.
// The page code is a string: tsx's keepNames helpers do not exist in the page.
import type { Browser } from 'playwright-core';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { markerLatencies } from './lib/rtsp-probe.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, dist, emitResult, machine, onInterrupt, sleep } from './lib/util.ts';

const SECONDS = Math.min(600, Math.max(5, Number(arg('seconds', '12'))));
/** Skipped after joining: Chromium's start is reported by bench/audio-latency.ts. */
const SETTLE_MS = 4000;
const FIXED_BUFFERS_MS = [20, 30, 40, 60];

let bs: BenchStack | null = null;
let browser: Browser | null = null;
async function cleanup() {
  await browser?.close().catch(() => {});
  await bs?.stop().catch(() => {});
}
onInterrupt(cleanup);

const READER = (url: string, token: string) => `(async () => {
  const arrivals = [], onsets = [];
  let quiet = 1e9;
  const decoder = new AudioDecoder({
    output: (d) => {
      const at = Date.now(), n = d.numberOfFrames, pcm = new Float32Array(n);
      d.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      for (let i = 0; i < n; i++) {
        if (Math.abs(pcm[i]) > 0.15) { if (quiet > d.sampleRate * 0.3) onsets.push(at + (i * 1000) / d.sampleRate); quiet = 0; } else quiet++;
      }
      d.close();
    },
    error: (e) => { window.arrivalBench.error = String(e); },
  });
  decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
  const pc = new RTCPeerConnection({ encodedInsertableStreams: true });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (ev) => {
    const { readable, writable } = ev.receiver.createEncodedStreams();
    const out = writable.getWriter(), input = readable.getReader();
    (async () => {
      for (;;) {
        const { value, done } = await input.read();
        if (done) return;
        const wall = performance.timeOrigin + performance.now();
        arrivals.push([wall, value.getMetadata().rtpTimestamp ?? value.timestamp]);
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round(wall * 1000), data: value.data.slice(0) }));
        await out.write(value);
      }
    })();
  };
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') await new Promise((r) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + ${JSON.stringify(token)} }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  // Chromium pulls a remote track through NetEq only while something plays it.
  const el = new Audio();
  el.muted = true;
  el.srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
  el.play().catch(() => {});
  const neteq = async () => {
    let o = null;
    (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') o = { delay: s.jitterBufferDelay, target: s.jitterBufferTargetDelay, emitted: s.jitterBufferEmittedCount, concealmentEvents: s.concealmentEvents, concealedSamples: s.concealedSamples, silentConcealedSamples: s.silentConcealedSamples, totalSamplesReceived: s.totalSamplesReceived, accelerated: s.removedSamplesForAcceleration, decelerated: s.insertedSamplesForDeceleration }; });
    return o;
  };
  window.arrivalBench = { arrivals, onsets, neteq, error: null };
})()`;

type Stats = { delay: number; target: number; emitted: number; concealmentEvents: number; concealedSamples: number; silentConcealedSamples: number; totalSamplesReceived: number; accelerated: number; decelerated: number };
type Taken = { arrivals: [number, number][]; onsets: number[]; error: string | null };

try {
  const m = machine();
  bs = await startBenchStack();
  await bs.waitLive();
  browser = await benchBrowser();
  const sess = await bs.session('viewer');
  const page = await openBenchPage(browser, bs.bridgeUrl);
  await page.evaluate(READER(sess.whepUrl, sess.token));
  await sleep(SETTLE_MS);
  const take = () => page.evaluate('(() => { const b = window.arrivalBench; return { arrivals: b.arrivals.splice(0), onsets: b.onsets.splice(0), error: b.error }; })()') as Promise<Taken>;
  const neteq = () => page.evaluate('window.arrivalBench.neteq()') as Promise<Stats | null>;
  await take();
  const before = await neteq();
  await sleep(SECONDS * 1000);
  const after = await neteq();
  const got = await take();
  if (got.error) throw new Error(`AudioDecoder: ${got.error}`);
  if (got.arrivals.length < 2) throw new Error('no audio frames arrived');

  // Arrival behind the earliest frame of the window, by RTP time (Opus RTP counts 48 kHz).
  const behind = got.arrivals.map(([wall, ts]) => wall - ts / 48);
  const earliest = Math.min(...behind);
  const delay = behind.map((b) => b - earliest);
  const frameMs = (got.arrivals[1]![1] - got.arrivals[0]![1]) / 48;
  const lateShare = Object.fromEntries(FIXED_BUFFERS_MS.map((b) => [`${b}ms`, Math.round((delay.filter((d) => d > b).length / delay.length) * 1000) / 10]));
  const emitted = after && before ? after.emitted - before.emitted : 0;
  // Concealment = NetEq had nothing to play when the output asked (an underrun, or a lost/late
  // frame); each one raises its target. Samples are at the output rate (48 kHz): /48 = ms.
  const d = (k: keyof Stats) => (after && before ? after[k] - before[k] : 0);
  const neteqWindow = emitted > 0 ? {
    bufferMs: Math.round((d('delay') / emitted) * 1000), targetMs: Math.round((d('target') / emitted) * 1000),
    concealmentEvents: d('concealmentEvents'), concealedMs: Math.round(d('concealedSamples') / 48), silentConcealedMs: Math.round(d('silentConcealedSamples') / 48),
    acceleratedMs: Math.round(d('accelerated') / 48), deceleratedMs: Math.round(d('decelerated') / 48), receivedMs: Math.round(d('totalSamplesReceived') / 48),
  } : null;
  const atDecode = markerLatencies(got.onsets);

  console.error(`frames: ${got.arrivals.length} of ${frameMs} ms`);
  console.error(`arrival behind the earliest: ${JSON.stringify(dist(delay))}`);
  console.error(`% of frames later than a fixed buffer of: ${JSON.stringify(lateShare)}`);
  console.error(`mic → page, decoded on arrival (no jitter buffer): ${JSON.stringify(dist(atDecode.ms))}`);
  console.error(`NetEq over the same window: ${JSON.stringify(neteqWindow)}`);
  emitResult({
    bench: 'audio-arrival', seconds: SECONDS, machine: m, loadAfter: machine().load, frameMs,
    arrivalBehindEarliest: dist(delay), lateSharePercent: lateShare, micToPageDecoded: { latency: dist(atDecode.ms), unassigned: atDecode.dropped }, neteq: neteqWindow,
  });
} finally {
  await cleanup();
}
