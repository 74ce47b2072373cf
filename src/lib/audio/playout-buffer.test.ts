import { expect } from '@open-wc/testing';
import { PlayoutBuffer } from './playout-buffer.js';

// A fake clock in samples (48 kHz): the output pulls 128-sample quanta at multiples of 128, and
// frame k of 480 samples (10 ms, RTP time base + 480 k) arrives at 480 k + delay(k). Each frame's
// samples carry its number + 1, so the output says which frame played when.
const FRAME = 480;
const QUANTUM = 128;
const TARGET = 1440; // 30 ms
const EXTRA = 1440;

interface Run { buffer: PlayoutBuffer; out: Float32Array }

function simulate(frames: number, delay: (k: number) => number, opts: { base?: number; pullWhile?: (t: number) => boolean; end?: number } = {}): Run {
  const buffer = new PlayoutBuffer({ targetSamples: TARGET, maxExtraSamples: EXTRA });
  const base = opts.base ?? 90_000;
  const arrivals = Array.from({ length: frames }, (_, k) => ({ k, at: k * FRAME + delay(k) })).sort((a, b) => a.at - b.at);
  // Pull until the last frame's end has played, not into the silence after the stream.
  const end = opts.end ?? frames * FRAME + TARGET - QUANTUM + 1;
  const out = new Float32Array(end + QUANTUM);
  let next = 0;
  for (let t = 0; t < end; t += QUANTUM) {
    while (next < arrivals.length && arrivals[next]!.at <= t) {
      const { k } = arrivals[next++]!;
      buffer.push((base + k * FRAME) >>> 0, new Float32Array(FRAME).fill(k + 1));
    }
    if (opts.pullWhile && !opts.pullWhile(t)) continue;
    const q = new Float32Array(QUANTUM);
    buffer.pull(q);
    out.set(q, t);
  }
  return { buffer, out };
}

/** Output time of frame k's first sample minus its RTP time (relative to frame 0's), or null if never played. */
function delayOf(out: Float32Array, k: number): number | null {
  const i = firstIndex(out).get(k + 1);
  return i === undefined ? null : i - k * FRAME;
}

const firsts = new WeakMap<Float32Array, Map<number, number>>();
/** Where each value first shows in `out` (one pass, kept per output). */
function firstIndex(out: Float32Array): Map<number, number> {
  let m = firsts.get(out);
  if (!m) {
    m = new Map();
    for (let i = 0; i < out.length; i++) if (!m.has(out[i]!)) m.set(out[i]!, i);
    firsts.set(out, m);
  }
  return m;
}

describe('PlayoutBuffer: a fixed small buffer for the robot voice', () => {
  it('plays every frame of a jittery stream at one constant delay, the target after the first', () => {
    // Up to 20 ms of jitter: inside the 30 ms target.
    const { buffer, out } = simulate(200, (k) => (k * 7919) % 960);
    const delays = Array.from({ length: 200 }, (_, k) => delayOf(out, k));
    expect(new Set(delays).size).to.equal(1);
    // The first frame arrived at 0 and the next quantum boundary after its target plays it.
    expect(delays[0]).to.be.within(TARGET, TARGET + QUANTUM);
    expect(buffer.counts).to.include({ frames: 200, late: 0, concealedSamples: 0, underruns: 0, trimmedSamples: 0 });
  });

  it('drops a frame later than the target and keeps the delay of the ones after it', () => {
    const { buffer, out } = simulate(100, (k) => (k === 50 ? 2400 : 0)); // frame 50: 50 ms late
    expect(delayOf(out, 50)).to.equal(null);
    expect(delayOf(out, 49)).to.equal(delayOf(out, 51));
    expect(buffer.counts.late).to.equal(1);
    expect(buffer.counts.concealedSamples).to.equal(FRAME);
    expect(buffer.counts.underruns).to.equal(1);
  });

  it('plays the in-time tail of a partly late frame', () => {
    // Frame 30 is late by exactly 30 ms + 160 samples: its first 160 samples' time has gone.
    const { buffer, out } = simulate(60, (k) => (k === 30 ? TARGET + 160 + 64 : 0));
    const played = out.filter((v) => v === 31).length;
    expect(played).to.be.within(FRAME - 160 - QUANTUM, FRAME - 160);
    expect(buffer.counts.late).to.equal(1);
  });

  it('catches up by dropping the oldest audio when the output stalls (a busy audio thread, a suspended context)', () => {
    // No pulls for 200 ms while frames keep coming.
    const stall = (t: number) => t < 24_000 || t >= 24_000 + 9600;
    const { buffer, out } = simulate(200, () => 0, { pullWhile: stall });
    expect(buffer.counts.trimmedSamples).to.be.greaterThan(9600 - EXTRA - QUANTUM);
    // After the stall the delay is bounded by target + the allowed extra, not by the stall.
    const after = Array.from({ length: 50 }, (_, i) => delayOf(out, 150 + i)!);
    for (const d of after) expect(d).to.be.at.most(TARGET + EXTRA + FRAME);
    expect(buffer.depth()).to.be.at.most(TARGET + EXTRA);
  });

  it('never lets the queue grow past target + extra when frames arrive in a burst', () => {
    const buffer = new PlayoutBuffer({ targetSamples: TARGET, maxExtraSamples: EXTRA });
    for (let k = 0; k < 50; k++) {
      buffer.push(k * FRAME, new Float32Array(FRAME));
      expect(buffer.depth()).to.be.at.most(TARGET + EXTRA);
    }
    expect(buffer.counts.trimmedSamples).to.be.greaterThan(0);
  });

  it('pauses back to its target when the output clock runs faster than the sender (0.1 %) instead of playing late', () => {
    // 60 s of frames arriving 0.1 % slower than the output consumes them.
    const lag = (k: number) => Math.floor(k * FRAME * 0.001);
    const { buffer, out } = simulate(6000, lag, { end: 6000 * FRAME + lag(6000) + TARGET - QUANTUM + 1 });
    expect(buffer.counts.late).to.equal(0);
    const delays = Array.from({ length: 6000 }, (_, k) => delayOf(out, k));
    expect(delays.includes(null)).to.equal(false);
    // Every frame waited most of the target after arriving (the drift made up by pauses), not 0.
    for (let k = 0; k < 6000; k++) expect(delays[k]! - lag(k)).to.be.at.least(TARGET - 240 - QUANTUM);
    expect(buffer.counts.concealedSamples).to.be.within(0.0008 * 6000 * FRAME, 0.0012 * 6000 * FRAME);
  });

  it('follows RTP timestamps across the 32-bit wrap', () => {
    const { buffer, out } = simulate(40, () => 0, { base: 2 ** 32 - 20 * FRAME });
    const delays = new Set(Array.from({ length: 40 }, (_, k) => delayOf(out, k)));
    expect(delays.size).to.equal(1);
    expect(buffer.counts.late).to.equal(0);
  });

  it('starts again from the newest frame when every frame arrives late (the sender restarted its clock)', () => {
    const buffer = new PlayoutBuffer({ targetSamples: TARGET, maxExtraSamples: EXTRA });
    buffer.push(100_000, new Float32Array(FRAME).fill(1));
    buffer.pull(new Float32Array(TARGET + FRAME));
    // The stream comes back with timestamps 1 s behind.
    for (let k = 0; k < 5; k++) buffer.push(52_000 + k * FRAME, new Float32Array(FRAME).fill(2));
    expect(buffer.counts.late).to.equal(5);
    expect(buffer.counts.reanchors).to.equal(1);
    const q = new Float32Array(TARGET + FRAME);
    buffer.pull(q);
    expect(q.includes(2)).to.equal(true);
  });
});
