// Types of playout-buffer.js (plain JS: it is also the AudioWorklet module, served as is).

export interface PlayoutCounts {
  /** Frames pushed. */
  frames: number;
  /** Frames that arrived after their time had been played (dropped), or partly (their head cut). */
  late: number;
  /** Samples dropped to bring a grown buffer back to the target. */
  trimmedSamples: number;
  /** Samples of silence played where nothing had arrived in time (after the first sound). */
  concealedSamples: number;
  /** Times the playout ran dry. */
  underruns: number;
  /** Times a run of late frames made it start again from the newest. */
  reanchors: number;
}

export interface PlayoutStats extends PlayoutCounts {
  depthSamples: number;
  targetSamples: number;
  /** In the worklet's reports only: the sound's peak over the last half second (0..1). */
  level?: number;
}

export class PlayoutBuffer {
  constructor(o?: { targetSamples?: number; maxExtraSamples?: number; driftSlackSamples?: number });
  readonly counts: PlayoutCounts;
  depth(): number;
  push(rtpTs: number, pcm: Float32Array): void;
  pull(out: Float32Array): void;
  stats(): PlayoutStats;
}
