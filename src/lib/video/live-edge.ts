// When an HLS player has fallen too far behind the live edge to catch up by playing faster, and
// where it should jump to. A robot camera is only useful live: hls.js by itself keeps whatever
// distance a stall or a paused tab left it at (its faster playback only works within one segment
// of its target and with more than 1 s buffered, which a 0.5 s low-latency target never has).

/** How far beyond its own target latency the player may fall before it jumps (seconds). */
export const MAX_BEHIND_TARGET_S = 1;
/** The jump is a seek hls.js must load for: give it time to land before judging again. */
export const JUMP_COOLDOWN_MS = 2000;

export interface LiveEdgeState {
  /** Seconds behind the playlist's live edge (hls.js `latency`). */
  latency: number;
  /** The distance hls.js aims for (the playlist's PART-HOLD-BACK in low-latency mode). */
  targetLatency: number | null;
  /** Where hls.js would start a live player now (edge − target), or null before a playlist. */
  syncPosition: number | null;
  currentTime: number;
  paused: boolean;
}

/** The position to seek to, or null to leave the player where it is. */
export function liveEdgeJump(s: LiveEdgeState): number | null {
  if (s.paused || s.targetLatency === null || s.syncPosition === null) return null;
  if (!(s.latency > s.targetLatency + MAX_BEHIND_TARGET_S)) return null;
  return s.syncPosition > s.currentTime ? s.syncPosition : null;
}
