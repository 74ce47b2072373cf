// Pure audio steps for push-to-talk and robot audio: float ↔ s16le, downsampling from the
// microphone's rate to the wire's 16 kHz, and cutting the stream into 20 ms frames.

import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE } from '../../../protocol/limits.ts';

export const FRAME_SAMPLES = (AUDIO_SAMPLE_RATE * AUDIO_FRAME_MS) / 1000; // 320

export function floatToS16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const s = Math.max(-1, Math.min(1, f[i]!));
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

/** Little-endian s16 bytes (as on the wire) → floats in [-1, 1]. */
export function s16leToFloat(bytes: Uint8Array): Float32Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

export function s16ToLeBytes(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return out;
}

/**
 * Streaming downsampler: averages the input samples that fall into each output sample (a box
 * filter, enough against aliasing for speech), carrying the fractional position across chunks.
 */
export class Downsampler {
  private readonly ratio: number;
  private pos = 0; // position of the next output sample, in input samples, relative to the chunk start
  private acc = 0;
  private count = 0;

  constructor(readonly inRate: number, readonly outRate: number = AUDIO_SAMPLE_RATE) {
    if (inRate < outRate) throw new Error(`cannot downsample ${inRate} Hz to ${outRate} Hz`);
    this.ratio = inRate / outRate;
  }

  push(input: Float32Array): Float32Array {
    if (this.ratio === 1) return input.slice();
    const out: number[] = [];
    let next = this.pos + this.ratio;
    for (let i = 0; i < input.length; i++) {
      this.acc += input[i]!;
      this.count++;
      if (i + 1 >= next) {
        out.push(this.acc / this.count);
        this.acc = 0;
        this.count = 0;
        next += this.ratio;
      }
    }
    this.pos = next - this.ratio - input.length;
    return Float32Array.from(out);
  }
}

/** Collects samples and hands out whole 20 ms frames. */
export class FrameChunker {
  private buf = new Int16Array(0);

  constructor(readonly frameSamples: number = FRAME_SAMPLES) {}

  push(samples: Int16Array): Int16Array[] {
    const all = new Int16Array(this.buf.length + samples.length);
    all.set(this.buf);
    all.set(samples, this.buf.length);
    const frames: Int16Array[] = [];
    let off = 0;
    for (; off + this.frameSamples <= all.length; off += this.frameSamples) frames.push(all.slice(off, off + this.frameSamples));
    this.buf = all.slice(off);
    return frames;
  }

  reset(): void {
    this.buf = new Int16Array(0);
  }
}
