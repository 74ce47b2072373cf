// The simulator's microphone and speaker. The microphone is an FFmpeg tone, paced in real time,
// in 10 ms periods like a real capture (MIC_PERIOD_MS: the server-mode Opus encoder sends each
// 10 ms as it comes, so a longer period would leave its packets in bursts). The speaker records: each playback session (one FFmpeg
// run: a push-to-talk, a TTS utterance) becomes `<dir>/speaker-<n>.wav`, and recordings() reports
// each file's duration and level so tests (and the curious) can check that sound arrived.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIO_SAMPLE_RATE } from '../../protocol/limits.ts';
import type { AudioInputInfo, AudioSource, SpeakerInfo, SpeakerSink } from '../hardware/types.ts';

/** The simulated capture period. */
export const MIC_PERIOD_MS = 10;
const PERIOD_SAMPLES = (AUDIO_SAMPLE_RATE * MIC_PERIOD_MS) / 1000;

export interface SimulatedMicrophoneOptions {
  /** Tone frequency in Hz. */
  frequency?: number;
  /**
   * Latency marker instead of the tone (benchmarks): silence, and a 100 ms 1 kHz burst starting
   * exactly at every wall-clock second. Like a real microphone handing over a period when its last
   * sample is captured, a period generated at wall time g holds the samples of [g - MIC_PERIOD_MS, g),
   * so a listener knows when any onset was captured: at the whole second before it. HAVATAR_SIM_MIC_MARKER=1 turns it on in the bridge.
   */
  marker?: boolean;
}

export class SimulatedMicrophone implements AudioSource {
  readonly info: AudioInputInfo;
  private readonly frequency: number;
  private readonly marker: boolean;
  constructor(options: SimulatedMicrophoneOptions = {}) {
    this.frequency = options.frequency ?? 440;
    this.marker = options.marker ?? false;
    if (!(this.frequency >= 20 && this.frequency <= 8000)) throw new RangeError(`tone frequency must be 20..8000 Hz, got ${this.frequency}`);
    this.info = { kind: 'sim', device: this.marker ? 'latency marker (1 kHz burst each second)' : `sine ${this.frequency} Hz` };
  }
  ffmpegInput(): string[] {
    if (this.marker) {
      // W = wall-clock seconds of this sample: time(0) when its period is generated, minus the
      // period, plus its offset in the period.
      const w = `(time(0)-${MIC_PERIOD_MS / 1000}+mod(n\\,${PERIOD_SAMPLES})/${AUDIO_SAMPLE_RATE})`;
      const expr = `if(lt(mod(${w}\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*${w})\\,0)`;
      return ['-re', '-f', 'lavfi', '-i', `aevalsrc=exprs=${expr}:sample_rate=${AUDIO_SAMPLE_RATE}:nb_samples=${PERIOD_SAMPLES}`];
    }
    // -re paces the periods like a real microphone.
    return ['-re', '-f', 'lavfi', '-i', `sine=frequency=${this.frequency}:sample_rate=${AUDIO_SAMPLE_RATE}:samples_per_frame=${PERIOD_SAMPLES}`];
  }
}

export interface Recording {
  file: string;
  durationMs: number;
  /** Root mean square of the samples, 0 (silence) … 1 (full scale). */
  rms: number;
  /** Largest absolute sample, 0 … 1. */
  peak: number;
}

export class RecordingSpeaker implements SpeakerSink {
  readonly info: SpeakerInfo;
  private sessions = 0;
  constructor(private readonly dir: string) {
    this.info = { kind: 'sim', device: `record to ${dir}` };
  }

  /** A new file for every playback session. */
  ffmpegOutput(): string[] {
    const file = join(this.dir, `speaker-${++this.sessions}.wav`);
    return ['-c:a', 'pcm_s16le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '1', '-f', 'wav', '-y', file];
  }

  /** Every recording so far, oldest first (a session still playing reports what is on disk). */
  recordings(): Recording[] {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return []; }
    return names
      .map((name) => /^speaker-(\d+)\.wav$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => analyseWav(join(this.dir, m[0])));
  }
}

/** Duration and level of a 16-bit PCM WAV, tolerating a header not yet finalised. */
export function analyseWav(file: string): Recording {
  const empty = { file, durationMs: 0, rms: 0, peak: 0 };
  if (statSync(file).size < 44) return empty;
  const buf = readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return empty;
  let channels = 1;
  let rate = AUDIO_SAMPLE_RATE;
  let bits = 16;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
      bits = buf.readUInt16LE(off + 22);
    } else if (id === 'data') {
      if (bits !== 16) return empty;
      const start = off + 8;
      // While FFmpeg is still writing, the declared size is a placeholder: trust the file.
      const end = size > 0 && size < 0xffffffff ? Math.min(buf.length, start + size) : buf.length;
      const samples = Math.floor((end - start) / 2);
      let sum = 0;
      let peak = 0;
      for (let i = 0; i < samples; i++) {
        const s = buf.readInt16LE(start + i * 2) / 32768;
        sum += s * s;
        const a = Math.abs(s);
        if (a > peak) peak = a;
      }
      return { file, durationMs: (samples / channels / rate) * 1000, rms: samples ? Math.sqrt(sum / samples) : 0, peak };
    }
    off += 8 + size + (size & 1);
  }
  return empty;
}
