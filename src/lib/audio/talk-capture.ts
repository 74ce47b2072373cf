// Push-to-talk capture: the microphone is open only while the button is held. States:
// idle → starting (asking for the mic) → talking → idle. A release during `starting` is honoured
// as soon as getUserMedia returns (the state is re-checked after every await).

import { AudioKind, encodeAudioFrame } from '../../../protocol/audio.ts';
import { Downsampler, FrameChunker, floatToS16, s16ToLeBytes } from './pcm.ts';

export type TalkState = 'idle' | 'starting' | 'talking';

const WORKLET_URL = new URL('./tap-worklet.js', import.meta.url);

export interface TalkSink {
  begin(): boolean;
  frame(bytes: Uint8Array): boolean;
  end(): void;
}

export class TalkCapture {
  state: TalkState = 'idle';
  error: string | null = null;
  framesSent = 0;
  private stream: MediaStream | null = null;
  private ctx: AudioContext | null = null;
  private seq = 0;
  private generation = 0;

  constructor(private readonly sink: TalkSink, private readonly onChange: () => void = () => {}) {}

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    const gen = ++this.generation;
    this.set('starting', null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
      if (gen !== this.generation) return void stopTracks(stream);
      this.stream = stream;
      const ctx = makeContext();
      this.ctx = ctx;
      const down = new Downsampler(ctx.sampleRate);
      const chunker = new FrameChunker();
      const onBlock = (block: Float32Array): void => {
        if (gen !== this.generation || this.state !== 'talking') return;
        for (const f of chunker.push(floatToS16(down.push(block)))) {
          if (this.sink.frame(encodeAudioFrame(AudioKind.talk, this.seq++, s16ToLeBytes(f)))) this.framesSent++;
        }
      };
      const src = ctx.createMediaStreamSource(stream);
      if (ctx.audioWorklet) {
        await ctx.audioWorklet.addModule(WORKLET_URL.href);
        if (gen !== this.generation) return;
        const node = new AudioWorkletNode(ctx, 'havatar-tap');
        node.port.onmessage = (e: MessageEvent<Float32Array>) => onBlock(e.data);
        src.connect(node);
      } else {
        // Older browsers: the deprecated ScriptProcessor still works everywhere.
        const node = (ctx as AudioContext).createScriptProcessor(1024, 1, 1);
        node.onaudioprocess = (e) => onBlock(e.inputBuffer.getChannelData(0));
        src.connect(node);
        node.connect(ctx.destination);
      }
      await ctx.resume();
      if (gen !== this.generation) return;
      if (!this.sink.begin()) throw new Error('Not connected to the robot.');
      this.set('talking', null);
    } catch (e) {
      if (gen !== this.generation) return;
      this.release();
      this.set('idle', micError(e));
    }
  }

  stop(): void {
    if (this.state === 'idle') return;
    const wasTalking = this.state === 'talking';
    this.generation++;
    this.release();
    if (wasTalking) this.sink.end();
    this.set('idle', null);
  }

  private release(): void {
    if (this.stream) stopTracks(this.stream);
    this.stream = null;
    const ctx = this.ctx;
    this.ctx = null;
    if (ctx) void ctx.close().catch(() => {});
  }

  private set(state: TalkState, error: string | null): void {
    this.state = state;
    this.error = error;
    this.onChange();
  }
}

function makeContext(): AudioContext {
  // Asking for 16 kHz lets the browser resample with a proper filter; the Downsampler is then a copy.
  try {
    return new AudioContext({ sampleRate: 16000 });
  } catch {
    return new AudioContext();
  }
}

const stopTracks = (s: MediaStream): void => s.getTracks().forEach((t) => t.stop());

function micError(e: unknown): string {
  const name = (e as { name?: string }).name;
  if (name === 'NotAllowedError') return 'Microphone permission denied.';
  if (name === 'NotFoundError') return 'No microphone found.';
  if (typeof isSecureContext !== 'undefined' && !isSecureContext) return 'The microphone needs https:// (open the robot on its HTTPS port).';
  return (e as Error).message || 'Microphone failed.';
}
