// Plays the robot's microphone (PCM s16le frames from the link) with a small jitter buffer.
// Starts muted: browsers only let audio start from a tap, so unmuting is the operator's tap.

import { AUDIO_SAMPLE_RATE } from '../../../protocol/limits.ts';
import { s16leToFloat } from './pcm.ts';

/** Scheduled ahead of the clock to absorb network jitter. */
const LEAD_S = 0.06;
/** More than this queued means we fell behind: drop to stay live rather than grow the delay. */
const MAX_QUEUED_S = 0.3;

export class RobotAudioPlayer {
  private ctx: AudioContext | null = null;
  private gain: GainNode | null = null;
  private next = 0;
  muted = true;
  framesPlayed = 0;

  /** Call from a user gesture. */
  async unmute(): Promise<void> {
    this.muted = false;
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.gain = this.ctx.createGain();
      this.gain.connect(this.ctx.destination);
    }
    await this.ctx.resume();
    if (this.gain) this.gain.gain.value = 1;
  }

  mute(): void {
    this.muted = true;
    if (this.gain) this.gain.gain.value = 0;
  }

  play(pcm: Uint8Array): void {
    const ctx = this.ctx;
    if (this.muted || !ctx || !this.gain || ctx.state !== 'running' || pcm.byteLength < 2) return;
    const samples = s16leToFloat(pcm);
    const now = ctx.currentTime;
    if (this.next < now || this.next - now > MAX_QUEUED_S) this.next = now + LEAD_S;
    const buffer = ctx.createBuffer(1, samples.length, AUDIO_SAMPLE_RATE);
    buffer.copyToChannel(samples, 0);
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.gain);
    src.start(this.next);
    this.next += buffer.duration;
    this.framesPlayed++;
  }

  async close(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = null;
    this.gain = null;
    if (ctx) await ctx.close();
  }
}
