// The robot's voice in server mode, played with a small fixed buffer instead of Chromium's NetEq
// (whose target follows the machine's load: 65-160 ms measured, docs/PERFORMANCE.md "Audio
// latency"). Decoded Opus frames come in with their RTP timestamps; the audio thread pulls render
// quanta. The play position advances with the output clock whatever arrives, so a late frame is
// dropped instead of delaying everything after it, and a buffer that grew (a burst, the sender's
// clock running fast, a suspended context) is cut back to the target by dropping its oldest audio.
// Plain JS on purpose: this one file is both the policy the tests import and the AudioWorklet
// module the app loads from its own origin (the bridge's CSP forbids blob: modules, and a worklet
// file is served as is, not bundled). Types: playout-buffer.d.ts.

/** Sustained lateness (the sender restarted, or its clock runs slow): start again from this frame. */
const LATE_IN_A_ROW_TO_REANCHOR = 5;
/** Frames per check that the buffer has not drained below its target (the output clock running fast). */
const DRIFT_WINDOW_FRAMES = 100;

export class PlayoutBuffer {
  /** @param {{ targetSamples?: number, maxExtraSamples?: number, driftSlackSamples?: number }} [o] */
  constructor(o = {}) {
    this.target = o.targetSamples ?? 1440;
    this.maxExtra = o.maxExtraSamples ?? 1440;
    /** @type {{ ts: number, pcm: Float32Array }[]} sorted by ts (unwrapped RTP time) */
    this.queue = [];
    /** RTP time of the next sample to play (null until the first frame). */
    this.playPos = null;
    this.lastRaw = 0;
    this.lastExt = null;
    this.lateInARow = 0;
    this.windowFrames = 0;
    this.windowMaxDepth = 0;
    this.driftSlack = o.driftSlackSamples ?? 240;
    /** Silence still to play before the queue resumes (the drift's pause). */
    this.pendingSilence = 0;
    this.concealing = false;
    this.started = false;
    this.counts = { frames: 0, late: 0, trimmedSamples: 0, concealedSamples: 0, underruns: 0, reanchors: 0 };
  }

  /** 32-bit RTP timestamps wrap: extend them by the signed step from the previous one. */
  unwrap(ts) {
    if (this.lastExt === null) this.lastExt = ts;
    else this.lastExt += (ts - this.lastRaw) | 0;
    this.lastRaw = ts;
    return this.lastExt;
  }

  /** Samples queued ahead of the play position. */
  depth() {
    const last = this.queue[this.queue.length - 1];
    return last && this.playPos !== null ? Math.max(0, last.ts + last.pcm.length - this.playPos) : 0;
  }

  /**
   * A decoded frame. @param {number} rtpTs its RTP timestamp (uint32, output-rate units)
   * @param {Float32Array} pcm
   */
  push(rtpTs, pcm) {
    const ts = this.unwrap(rtpTs >>> 0);
    this.counts.frames++;
    if (this.playPos === null) this.playPos = ts - this.target;
    let start = ts;
    let data = pcm;
    if (ts + pcm.length <= this.playPos) {
      this.counts.late++;
      if (++this.lateInARow < LATE_IN_A_ROW_TO_REANCHOR) return;
      this.counts.reanchors++;
      this.queue = [];
      this.playPos = ts - this.target;
    } else if (ts < this.playPos) {
      // Partly late: its tail is still in time.
      this.counts.late++;
      data = pcm.subarray(this.playPos - ts);
      start = this.playPos;
    }
    this.lateInARow = 0;
    this.insert(start, data);
    this.catchUp();
    this.followDrift(this.depth() - data.length);
  }

  /**
   * The output's clock is not the sender's: when it runs faster, the buffer drains slowly. If
   * even the best-timed frame of a window found less than the target (minus a slack) queued ahead
   * of it, the playout pauses (silence, the play position held) until the target is queued again:
   * a short gap now instead of late frames later. @param {number} ahead samples queued before the frame just pushed
   */
  followDrift(ahead) {
    this.windowMaxDepth = Math.max(this.windowMaxDepth, ahead);
    if (++this.windowFrames < DRIFT_WINDOW_FRAMES) return;
    if (this.windowMaxDepth < this.target - this.driftSlack) this.pendingSilence += this.target - this.windowMaxDepth;
    this.windowFrames = 0;
    this.windowMaxDepth = 0;
  }

  insert(ts, pcm) {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].ts > ts) i--;
    if (i > 0 && this.queue[i - 1].ts === ts) return; // a duplicate
    this.queue.splice(i, 0, { ts, pcm });
  }

  /** More than target + maxExtra queued: drop the oldest audio down to the target. */
  catchUp() {
    const depth = this.depth();
    if (depth <= this.target + this.maxExtra) return;
    const cut = depth - this.target;
    this.counts.trimmedSamples += cut;
    this.playPos += cut;
    this.dropPlayed();
  }

  dropPlayed() {
    while (this.queue.length && this.queue[0].ts + this.queue[0].pcm.length <= this.playPos) this.queue.shift();
  }

  /** Fills `out` with the next samples; silence where nothing arrived in time. @param {Float32Array} out */
  pull(out) {
    if (this.playPos === null) {
      out.fill(0);
      return;
    }
    let i = 0;
    if (this.pendingSilence > 0) {
      i = Math.min(out.length, this.pendingSilence);
      out.fill(0, 0, i);
      this.pendingSilence -= i;
      this.counts.concealedSamples += i;
    }
    while (i < out.length) {
      this.dropPlayed();
      const head = this.queue[0];
      if (head && head.ts <= this.playPos) {
        const from = this.playPos - head.ts;
        const n = Math.min(out.length - i, head.pcm.length - from);
        out.set(head.pcm.subarray(from, from + n), i);
        i += n;
        this.playPos += n;
        this.started = true;
        this.concealing = false;
        continue;
      }
      const n = Math.min(out.length - i, head ? head.ts - this.playPos : out.length - i);
      out.fill(0, i, i + n);
      i += n;
      this.playPos += n;
      if (this.started) {
        this.counts.concealedSamples += n;
        if (!this.concealing) this.counts.underruns++;
        this.concealing = true;
      }
    }
  }

  /** Counts so far, with the current depth in samples. */
  stats() {
    return { ...this.counts, depthSamples: this.depth(), targetSamples: this.target };
  }
}

// As an AudioWorklet module: frames arrive on a MessagePort handed over by the main thread (its
// other end is in the decoding worker, so they never touch the main thread); counts go back to
// the main thread about twice a second.
if (typeof registerProcessor === 'function') {
  registerProcessor(
    'havatar-playout',
    class extends AudioWorkletProcessor {
      constructor(options) {
        super();
        this.buffer = new PlayoutBuffer(options.processorOptions ?? {});
        this.quanta = 0;
        this.peak = 0;
        this.port.onmessage = (e) => {
          const input = e.data && e.data.frames;
          if (input) input.onmessage = (m) => m.data.pcm && this.buffer.push(m.data.ts, m.data.pcm);
        };
      }

      process(_inputs, outputs) {
        const out = outputs[0];
        if (!out || !out[0]) return true;
        this.buffer.pull(out[0]);
        for (let c = 1; c < out.length; c++) out[c].set(out[0]);
        // The sound's peak for the stats panel's level (NetEq, which used to give it, gets nothing).
        for (let i = 0; i < out[0].length; i++) this.peak = Math.max(this.peak, Math.abs(out[0][i]));
        if (++this.quanta % 188 === 0) {
          this.port.postMessage({ ...this.buffer.stats(), level: this.peak });
          this.peak = 0;
        }
        return true;
      }
    },
  );
}
