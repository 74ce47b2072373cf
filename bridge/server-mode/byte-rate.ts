// Bytes per second over a sliding window, counted as they pass: the published video's bitrate where
// no encoder reports one (the camera's own H.264 is copied, so FFmpeg's -vstats has no frames to
// write; vstats.ts). Bytes go into 250 ms buckets, so a packet costs one addition and the memory
// is a fixed handful of numbers whatever the packet rate.

/** The window the rate is taken over, as vstats.ts's. */
export const RATE_WINDOW_MS = 2000;
const BUCKET_MS = 250;
const BUCKETS = RATE_WINDOW_MS / BUCKET_MS;

export class ByteRate {
  private readonly bytes = new Float64Array(BUCKETS);
  /** The bucket (time / BUCKET_MS) each slot holds now. */
  private readonly slot = new Float64Array(BUCKETS).fill(-Infinity);
  private firstAt: number | null = null;

  /** `bytes` passed at `now` (milliseconds, any monotonic clock; the same one kbps is asked with). */
  add(bytes: number, now: number): void {
    const b = Math.floor(now / BUCKET_MS);
    const i = ((b % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.slot[i] !== b) { this.slot[i] = b; this.bytes[i] = 0; }
    this.bytes[i]! += bytes;
    this.firstAt ??= now;
  }

  /**
   * kbit/s over the last RATE_WINDOW_MS (the current bucket included); over the time since the
   * first byte while that is shorter (at least 500 ms: one early packet is not a rate); 0 before any.
   */
  kbps(now: number): number {
    if (this.firstAt === null) return 0;
    const newest = Math.floor(now / BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (this.slot[i]! > newest - BUCKETS && this.slot[i]! <= newest) sum += this.bytes[i]!;
    const span = Math.min(RATE_WINDOW_MS, Math.max(500, now - this.firstAt));
    return (sum * 8) / span;
  }
}
