// Runs IN headless Chromium (bundled by bench/lib/page.ts with esbuild; plain JS so the Node-side
// type check never sees DOM code). Exposes window.bench:
//   - ours: the app's own players (src/lib/video: MjpegSource, WhepPlayer, HlsPlayer)
//   - floor: the bare minimum (an <img>, a plain WHEP RTCPeerConnection, plain hls.js)
//   - glass-to-glass: the capture-time strip decoded on every presented frame
//   - audio markers: detect 1 kHz bursts on a received track; generate them for WHIP talk
//   - fieldDriver: the app's link and drive code with a simulated hand (field-driver.js, bench/field.ts)
import Hls from 'hls.js';
import { decodeStripFromRgba, stripHeight } from '../../protocol/timestamp-strip.ts';
import { MjpegSource } from '../../src/lib/video/mjpeg-source.ts';
import { WhepPlayer } from '../../src/lib/video/whep-player.ts';
import { HlsPlayer } from '../../src/lib/video/hls-player.ts';
import { fieldDriver } from './field-driver.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let current = null; // { el, stop(), pc() }

function mount(el) {
  el.style.width = '640px';
  document.body.replaceChildren(el);
  return el;
}

async function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return;
  await Promise.race([
    new Promise((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())),
    sleep(ms),
  ]);
}

/** The floor's WHEP reader: one offer with all candidates, no jitter-buffer settings, nothing else. */
async function plainWhep(url, token, withAudio, withVideo = true) {
  const pc = new RTCPeerConnection();
  if (withVideo) pc.addTransceiver('video', { direction: 'recvonly' });
  if (withAudio) pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (e) => stream.addTrack(e.track);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 2000);
  const headers = { 'content-type': 'application/sdp' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error(`WHEP ${res.status} ${await res.text()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return { pc, stream };
}

/** The app's low-latency audio files, handed to this page by bench/lib/page.ts. */
function benchPlayoutAssets() {
  const src = window.benchPlayoutSources;
  return {
    worker: () => new Worker(blobUrl(src.worker)),
    workletUrl: blobUrl(src.worklet),
  };
}

/** Starts a player. kind: ours-mjpeg | ours-webrtc | ours-webrtc-neteq | ours-hls | floor-mjpeg | floor-webrtc | floor-hls */
async function start(kind, url, token) {
  stop();
  if (kind === 'ours-mjpeg') {
    const s = new MjpegSource();
    s.element.crossOrigin = 'anonymous'; // same origin here (the page is served on the bridge's origin)
    mount(s.element);
    s.start(new URL(url, location.href).href);
    current = { el: s.element, stop: () => s.stop(), pc: () => null };
  } else if (kind === 'ours-webrtc' || kind === 'ours-webrtc-neteq') {
    // The app's robot voice playout (low-latency where the browser can), or NetEq for comparison.
    const p = new WhepPlayer({ token: () => token, lowLatencyAudio: kind === 'ours-webrtc-neteq' ? false : benchPlayoutAssets(), log: (l) => console.warn(`[whep] ${l}`) });
    mount(p.element);
    p.start(url);
    current = { el: p.element, stop: () => p.stop(), pc: () => p.pc, player: p };
  } else if (kind === 'ours-hls') {
    const p = new HlsPlayer({ token: () => token, engine: 'hlsjs' });
    mount(p.element);
    p.start(url);
    current = { el: p.element, stop: () => p.stop(), pc: () => null };
  } else if (kind === 'floor-mjpeg') {
    const img = document.createElement('img');
    img.crossOrigin = 'anonymous';
    mount(img);
    img.src = url;
    current = { el: img, stop: () => img.removeAttribute('src'), pc: () => null };
  } else if (kind === 'floor-webrtc') {
    const v = document.createElement('video');
    v.autoplay = true; v.muted = true; v.playsInline = true;
    mount(v);
    const { pc, stream } = await plainWhep(url, token, false);
    v.srcObject = stream;
    current = { el: v, stop: () => { pc.close(); v.srcObject = null; }, pc: () => pc };
  } else if (kind === 'audio-only-webrtc') {
    // A reader with no video track: nothing for the browser to lip-sync the audio to.
    const { pc, stream } = await plainWhep(url, token, true, false);
    const a = new Audio();
    a.muted = true;
    a.srcObject = stream;
    void a.play().catch(() => {});
    current = { el: a, stop: () => { pc.close(); a.srcObject = null; }, pc: () => pc, player: { state: 'playing' } };
  } else if (kind === 'floor-hls') {
    const v = document.createElement('video');
    v.autoplay = true; v.muted = true; v.playsInline = true;
    mount(v);
    const hls = new Hls({ lowLatencyMode: true });
    hls.loadSource(url);
    hls.attachMedia(v);
    current = { el: v, stop: () => { hls.destroy(); v.removeAttribute('src'); }, pc: () => null };
  } else throw new Error(`unknown kind ${kind}`);
  return true;
}

function stop() {
  try { current?.stop(); } catch { /* gone */ }
  current = null;
}

function stripReader(el) {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return () => {
    const w = el.videoWidth || el.naturalWidth || 0;
    if (!w) return null;
    const sh = stripHeight(w);
    if (!sh) return null;
    if (canvas.width !== w || canvas.height !== sh) { canvas.width = w; canvas.height = sh; }
    ctx.drawImage(el, 0, 0, w, sh, 0, 0, w, sh);
    return decodeStripFromRgba(ctx.getImageData(0, 0, w, sh), Date.now());
  };
}

async function inboundStats(pc) {
  if (!pc) return null;
  const out = { t: performance.now() };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') out[s.kind] = {
      bytesReceived: s.bytesReceived, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
      jitterBufferDelay: s.jitterBufferDelay, jitterBufferTargetDelay: s.jitterBufferTargetDelay,
      jitterBufferEmittedCount: s.jitterBufferEmittedCount, framesDecoded: s.framesDecoded, totalDecodeTime: s.totalDecodeTime,
      totalProcessingDelay: s.totalProcessingDelay, totalAssemblyTime: s.totalAssemblyTime, framesAssembledFromMultiplePackets: s.framesAssembledFromMultiplePackets,
      frameWidth: s.frameWidth, frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond,
    };
  });
  return out;
}

/**
 * Glass-to-glass: decodes the strip on every presented frame (requestVideoFrameCallback for
 * <video>, requestAnimationFrame for <img>, counting a frame when its number changes). Skips the
 * first `warmupMs` after the first frame. Returns per-frame latencies and, for WebRTC, the
 * callback's receive/display times and getStats deltas over the window.
 */
async function measure({ frames, timeoutMs, warmupMs }) {
  const el = current?.el;
  if (!el) throw new Error('nothing playing');
  const read = stripReader(el);
  const samples = [];
  let failures = 0;
  let firstAt = 0;
  let lastNo = -1;
  let statsBefore = null;
  const t0 = performance.now();
  const isVideo = el instanceof HTMLVideoElement;
  const done = new Promise((resolve) => {
    const finish = () => resolve();
    const onFrame = (meta) => {
      const wall = Date.now();
      let r = null;
      try { r = read(); } catch { r = null; }
      if (!r) failures++;
      else if (r.frameNo !== lastNo) {
        lastNo = r.frameNo;
        if (!firstAt) { firstAt = performance.now(); }
        if (performance.now() - firstAt >= warmupMs) {
          if (!statsBefore && current?.pc()) { statsBefore = 'pending'; void inboundStats(current.pc()).then((s) => { statsBefore = s; }); }
          const s = { lat: wall - r.captureMs, frameNo: r.frameNo };
          if (meta) {
            if (meta.receiveTime !== undefined) s.recv = performance.timeOrigin + meta.receiveTime - r.captureMs;
            if (meta.expectedDisplayTime !== undefined) s.disp = performance.timeOrigin + meta.expectedDisplayTime - r.captureMs;
            if (meta.processingDuration !== undefined) s.proc = meta.processingDuration * 1000;
          }
          samples.push(s);
        }
      }
      if (samples.length >= frames || performance.now() - t0 > timeoutMs) return finish();
      if (isVideo) el.requestVideoFrameCallback((_n, m) => onFrame(m));
      else requestAnimationFrame(() => onFrame(null));
    };
    if (isVideo) el.requestVideoFrameCallback((_n, m) => onFrame(m));
    else requestAnimationFrame(() => onFrame(null));
  });
  await done;
  const statsAfter = await inboundStats(current?.pc());
  return { samples, failures, firstFrameMs: firstAt ? firstAt - t0 : null, statsBefore: typeof statsBefore === 'object' ? statsBefore : null, statsAfter, width: el.videoWidth || el.naturalWidth };
}

// ---- audio ----------------------------------------------------------------------------------

const DETECT = `
class Detect extends AudioWorkletProcessor {
  constructor() { super(); this.quiet = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    const t = Date.now();
    for (let i = 0; i < ch.length; i++) {
      if (Math.abs(ch[i]) > 0.15) {
        if (this.quiet > sampleRate * 0.3) this.port.postMessage({ wall: t + (i * 1000) / sampleRate });
        this.quiet = 0;
      } else this.quiet++;
    }
    return true;
  }
}
registerProcessor('detect', Detect);`;

const GENERATE = `
class Generate extends AudioWorkletProcessor {
  process(_inputs, outputs) {
    const out = outputs[0][0];
    const t = Date.now();
    for (let i = 0; i < out.length; i++) {
      const w = t + (i * 1000) / sampleRate;
      out[i] = (w % 1000) < 100 ? 0.5 * Math.sin(2 * Math.PI * w) : 0; // 1 kHz: w is in ms
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    return true;
  }
}
registerProcessor('generate', Generate);`;

const blobUrl = (code) => URL.createObjectURL(new Blob([code], { type: 'application/javascript' }));
const onsets = [];
let audioCtx = null;

let listenedPc = null;
/**
 * Listens to the audio track of whatever WebRTC player is current; onsets land in `onsets`. Null
 * when it already listens to that player's connection (called again after a player reconnected).
 */
async function listenAudio() {
  const pc = current?.pc();
  if (!pc) throw new Error('no peer connection');
  if (pc === listenedPc) return null;
  // The app's own playout when it took the audio off NetEq: listen after its buffer, to what the
  // operator hears (NetEq gets no audio then, so the track itself is silent).
  const player = current?.player;
  if (player && 'audioPlayout' in player) {
    const t0 = Date.now();
    while (player.audioPlayout === null && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    if (player.lowLatency) return listenPlayout(player.lowLatency, pc);
  }
  const track = pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === 'audio');
  if (!track) throw new Error('no audio track');
  // Chromium only pulls a remote WebRTC track into Web Audio when a media element plays it too.
  const a = new Audio();
  a.muted = true;
  a.srcObject = new MediaStream([track]);
  void a.play().catch(() => {});
  audioCtx = new AudioContext({ latencyHint: 'interactive' });
  await audioCtx.audioWorklet.addModule(blobUrl(DETECT));
  const src = audioCtx.createMediaStreamSource(new MediaStream([track]));
  const node = new AudioWorkletNode(audioCtx, 'detect');
  node.port.onmessage = (e) => onsets.push(e.data.wall);
  const mute = audioCtx.createGain();
  mute.gain.value = 0;
  src.connect(node).connect(mute).connect(audioCtx.destination);
  await audioCtx.resume();
  listenedPc = pc;
  return { playout: 'neteq', sampleRate: audioCtx.sampleRate, baseLatency: audioCtx.baseLatency, outputLatency: audioCtx.outputLatency };
}

async function listenPlayout(ll, pc) {
  await ll.ready;
  await ll.ctx.audioWorklet.addModule(blobUrl(DETECT));
  const node = new AudioWorkletNode(ll.ctx, 'detect');
  node.port.onmessage = (e) => onsets.push(e.data.wall);
  const mute = ll.ctx.createGain();
  mute.gain.value = 0;
  ll.node.connect(node).connect(mute).connect(ll.ctx.destination);
  await ll.ctx.resume();
  listenedPc = pc;
  return { playout: 'low-latency', sampleRate: ll.ctx.sampleRate, baseLatency: ll.ctx.baseLatency, outputLatency: ll.ctx.outputLatency };
}

/** The low-latency playout's counts (null on NetEq). */
function playoutStats() {
  const ll = current?.player?.lowLatency;
  return ll ? { frames: 0, late: 0, trimmedSamples: 0, concealedSamples: 0, underruns: 0, depthSamples: 0, targetSamples: 0, ...ll.stats, error: ll.error } : null;
}

function takeOnsets() { return onsets.splice(0); }

let talkPc = null;
/** Publishes a generated marker track (1 kHz, 100 ms at each wall-clock second) with WHIP. */
let talkTimer = null;
/**
 * The marker track: 10 ms AudioData chunks pushed into a MediaStreamTrackGenerator on a wall-clock
 * schedule (no audio-device clock in between: an AudioContext → MediaStreamDestination drifted
 * against the wall clock here by ~1 %, which piles up in WebRTC's capture FIFO). A chunk pushed at
 * wall time p holds the samples of [p - 10 ms, p), like a capture device handing over a period.
 */
function markerTrack() {
  const gen = new MediaStreamTrackGenerator({ kind: 'audio' });
  const writer = gen.writable.getWriter();
  const rate = 48000, n = 480;
  const t0 = Date.now();
  let k = 0;
  const tick = () => {
    const p = Date.now();
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const w = p - 10 + (i * 1000) / rate;
      data[i] = (w % 1000) < 100 ? 0.5 * Math.sin(2 * Math.PI * w) : 0;
    }
    void writer.write(new AudioData({ format: 'f32', sampleRate: rate, numberOfFrames: n, numberOfChannels: 1, timestamp: (p - t0) * 1000, data }));
    k++;
    talkTimer = setTimeout(tick, Math.max(0, t0 + k * 10 - Date.now()));
  };
  tick();
  return gen;
}

async function talk(url, token) {
  const track = markerTrack();
  const pc = new RTCPeerConnection();
  pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 2000);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error(`WHIP ${res.status} ${await res.text()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  talkPc = pc;
  return true;
}
function stopTalk() { clearTimeout(talkTimer); talkPc?.close(); talkPc = null; }

window.bench = { start, stop, measure, inboundStats: () => inboundStats(current?.pc()), listenAudio, takeOnsets, playoutStats, talk, stopTalk, state: () => current?.player?.state ?? null, fieldDriver };
