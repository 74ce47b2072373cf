// The robot microphone as the gateway runs it: capture only while someone listens (a session that
// asked for ?audio=1, or a named demand such as the server-mode publisher), since capture costs CPU
// on a Pi; each captured frame is numbered and encoded once for every listener.
import { AudioKind, encodeAudioFrame } from '../../protocol/audio.ts';
import type { MicService } from '../hardware/parts.ts';

export class MicFeed {
  /** Who besides the WebSocket listeners needs the microphone running, by name. */
  private readonly demand = new Set<string>();
  private seq = 0;
  private on = false;

  constructor(private readonly mic: MicService | null, private readonly listeners: () => number) {}

  get running(): boolean {
    return this.on;
  }

  setDemand(who: string, wanted: boolean): void {
    if (wanted) this.demand.add(who); else this.demand.delete(who);
  }

  /** Starts or stops capture to match the demand; `closing` stops it whatever the demand. */
  update(closing = false): void {
    if (closing) this.demand.clear();
    if (!this.mic) return;
    const want = !closing && (this.listeners() > 0 || this.demand.size > 0);
    if (want && !this.on) { this.on = true; this.mic.start(); }
    else if (!want && this.on) { this.on = false; void this.mic.stop(); }
  }

  /** One captured PCM frame as the wire's robot-mic audio frame. */
  frame(pcm: Buffer): Uint8Array {
    return encodeAudioFrame(AudioKind.robotMic, this.seq++, pcm);
  }
}
