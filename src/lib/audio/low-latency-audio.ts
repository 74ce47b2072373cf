// Server mode's robot voice without Chromium's audio jitter buffer: the receiver's encoded Opus
// frames go to a worker (RTCRtpScriptTransform) that decodes them with WebCodecs and hands the PCM
// to an AudioWorklet playing it with a small fixed buffer (playout-buffer.js: late audio is
// dropped, a grown buffer cut back). NetEq's target follows the machine's load (65-160 ms
// measured); this one stays at its target. The trade: a few percent of 10 ms frames lost under
// load, where NetEq would have stretched. Browsers without the pieces keep NetEq (`playoutSupport`).

import type { PlayoutStats } from './playout-buffer.js';

export type AudioPlayout = 'low-latency' | 'neteq';

/** Where the worker and the worklet come from (the app's own files unless a page bundles its own). */
export interface LowLatencyAssets {
  worker(): Worker;
  workletUrl: string | URL;
}

/** The app's own files: written out literally so the bundler builds the worker and copies the worklet. */
export function appPlayoutAssets(): LowLatencyAssets {
  return {
    worker: () => new Worker(new URL('./opus-receiver-worker.ts', import.meta.url), { type: 'module' }),
    workletUrl: new URL('./playout-buffer.js', import.meta.url),
  };
}

/** 30 ms: a fixed buffer that size lost 0.7-3.4 % of frames at load 8-18 (bench/audio-arrival.ts). */
export const TARGET_MS = 30;
/** Above target + this, the oldest audio is dropped. */
export const MAX_EXTRA_MS = 30;
const RATE = 48000;

let support: Promise<boolean> | null = null;
let supported: boolean | null = null;
/** The answer of `playoutSupport()` once known (null before). */
export function playoutSupported(): boolean | null {
  return supported;
}
/** Encoded transform, WebCodecs' Opus decoder and AudioWorklet, all present (checked once). */
export function playoutSupport(): Promise<boolean> {
  return (support ??= (async () => {
    if (typeof RTCRtpScriptTransform !== 'function' || typeof AudioDecoder !== 'function' || typeof AudioWorkletNode !== 'function') return false;
    try {
      return (await AudioDecoder.isConfigSupported({ codec: 'opus', sampleRate: RATE, numberOfChannels: 1 })).supported === true;
    } catch {
      return false;
    }
  })().then((ok) => (supported = ok)));
}

/** The stats panel's words for the playout in use, with the share of audio it dropped or filled. */
export function describePlayout(kind: AudioPlayout | null, stats: PlayoutStats | null): string | null {
  if (kind === 'neteq') return 'browser (NetEq)';
  if (kind !== 'low-latency') return null;
  const frameSamples = RATE / 100;
  const lost = stats && stats.frames > 0 ? ((stats.late * frameSamples + stats.trimmedSamples + stats.concealedSamples) / (stats.frames * frameSamples)) * 100 : null;
  return `fixed ${TARGET_MS} ms${lost === null ? '' : ` · ${lost.toFixed(1)} % dropped or filled`}`;
}

export class LowLatencyAudio {
  /** The worklet's latest counts (about twice a second). */
  stats: PlayoutStats | null = null;
  error: string | null = null;
  /** The playout's output, before the mute (a measurement can listen here); null until `ready`. */
  node: AudioWorkletNode | null = null;
  /** Resolves once the worklet plays (rejects if it cannot load). */
  readonly ready: Promise<void>;
  readonly ctx: AudioContext;
  private readonly gain: GainNode;
  private readonly worker: Worker;
  private closed = false;

  /**
   * Takes the receiver's audio over at once (set it before the remote description: see WhepPlayer);
   * the worklet joins when loaded, the frames waiting on its port meanwhile. Without a gesture the context starts suspended:
   * `setMuted(false)` resumes it.
   */
  constructor(receiver: RTCRtpReceiver, assets: LowLatencyAssets, muted: boolean) {
    this.ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: RATE });
    this.gain = this.ctx.createGain();
    this.gain.connect(this.ctx.destination);
    const frames = new MessageChannel();
    this.worker = assets.worker();
    this.worker.onerror = (e) => (this.error = e.message || 'audio worker failed');
    this.worker.onmessage = (e: MessageEvent<{ error?: string }>) => (this.error = e.data.error ?? this.error);
    receiver.transform = new RTCRtpScriptTransform(this.worker, { frames: frames.port2 }, [frames.port2]);
    this.setMuted(muted);
    this.ready = this.ctx.audioWorklet.addModule(assets.workletUrl).then(() => {
      const node = new AudioWorkletNode(this.ctx, 'havatar-playout', {
        numberOfInputs: 0,
        outputChannelCount: [1],
        processorOptions: { targetSamples: (TARGET_MS * RATE) / 1000, maxExtraSamples: (MAX_EXTRA_MS * RATE) / 1000 },
      });
      node.port.onmessage = (e: MessageEvent<PlayoutStats>) => (this.stats = e.data);
      node.port.postMessage({ frames: frames.port1 }, [frames.port1]);
      node.connect(this.gain);
      this.node = node;
    });
    this.ready.catch((err: unknown) => (this.error = `playout worklet: ${String(err)}`));
  }

  setMuted(muted: boolean): void {
    if (this.closed) return;
    this.gain.gain.value = muted ? 0 : 1;
    if (!muted) void this.ctx.resume().catch(() => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
    void this.ctx.close().catch(() => {});
  }
}
