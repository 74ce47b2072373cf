// Frees the video path's spent buffers promptly. Every JPEG the MJPEG capture splits out, and each
// 64 KB pipe read behind it, is a fresh Buffer: ~9 MB/s at 1280x720@30. V8 frees a Buffer's memory
// only when a scavenge finds the small JS object dead, and those objects fill the young generation
// slowly, so megabytes of spent frames waited for a collection; glibc then kept the freed memory
// (docs/PERFORMANCE.md, "Robot footprint": 80 → 64 MB RSS with this and MALLOC_MMAP_THRESHOLD_).
// A minor GC after every FRAME_GARBAGE_BYTES of frames costs a scavenge of a 1 MB young
// generation (well under a millisecond). Needs node's --expose-gc (scripts/build-bridge.ts
// BRIDGE_NODE_FLAGS); without it this does nothing.

/** Frame bytes between two minor collections: ~3-4 JPEGs of 1280x720, 10 a second at 30 fps. */
export const FRAME_GARBAGE_BYTES = 512 * 1024;

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
const gc = (globalThis as { gc?: Gc }).gc;
let pending = 0;

/** Counts `bytes` of frame buffers just spent; runs a minor GC once enough have piled up. */
export function frameGarbage(bytes: number): void {
  if (!gc) return;
  pending += bytes;
  if (pending < FRAME_GARBAGE_BYTES) return;
  pending = 0;
  gc({ type: 'minor' });
}
