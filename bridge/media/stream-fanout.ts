// One camera's compressed stream (its own H.264 or JPEGs) written to every FFmpeg that reads it:
// the local MJPEG capture and the server-mode publisher share one device, which opens only once.
//
// Each reader must start where its decoder can: H.264 at a sequence parameter set (the camera
// repeats SPS/PPS before every keyframe: UVC cameras, `rpicam-vid --inline`, the simulator), JPEGs
// at a frame boundary (chunks pushed here are whole JPEGs). A reader that falls behind is never
// queued for: an H.264 reader is dropped back to waiting for the next keyframe (a hole inside a GOP
// would corrupt every frame up to the next one anyway), a JPEG reader skips the frame.

import type { Writable } from 'node:stream';

/** Bytes a reader may have waiting in its pipe before it is made to skip (about half a second of 1.5 Mbps H.264). */
export const DEFAULT_MAX_QUEUED_BYTES = 128 * 1024;

interface Reader { stdin: Writable; synced: boolean }

export class StreamFanout {
  private readonly readers = new Set<Reader>();
  /** The previous chunk's last bytes: a start code split across two pipe reads is still found. */
  private tail: Buffer = Buffer.alloc(0);
  /** Chunks a reader skipped (fell behind, or waited for a keyframe). */
  skipped = 0;

  constructor(private readonly format: 'h264' | 'mjpeg', private readonly maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES) {}

  get size(): number { return this.readers.size; }

  /** Starts writing to `stdin` at the next point a decoder can start from; returns the detach. */
  attach(stdin: Writable): () => void {
    const reader: Reader = { stdin, synced: false };
    this.readers.add(reader);
    return () => { this.readers.delete(reader); };
  }

  /** The producer restarted: every reader waits for a fresh start point. */
  reset(): void {
    this.tail = Buffer.alloc(0);
    for (const r of this.readers) r.synced = false;
  }

  /** One chunk of the stream (H.264: any slice of the byte stream; MJPEG: one whole JPEG). */
  push(chunk: Buffer): void {
    let spsAt = -2;
    for (const r of this.readers) {
      if (r.stdin.destroyed || r.stdin.writableEnded) { this.readers.delete(r); continue; }
      if (r.synced && r.stdin.writableLength > this.maxQueuedBytes) {
        r.synced = false;
        this.skipped++;
        if (this.format === 'mjpeg') continue;
      }
      if (!r.synced) {
        if (this.format === 'mjpeg') {
          if (r.stdin.writableLength > this.maxQueuedBytes) { this.skipped++; continue; }
          r.synced = true;
        } else {
          if (spsAt === -2) spsAt = this.findSps(chunk);
          if (spsAt < 0 || r.stdin.writableLength > this.maxQueuedBytes) { this.skipped++; continue; }
          r.synced = true;
          r.stdin.write(spsAt === 0 ? chunk : chunk.subarray(spsAt));
          continue;
        }
      }
      r.stdin.write(chunk);
    }
    if (this.format === 'h264') this.tail = chunk.subarray(Math.max(0, chunk.length - 4));
  }

  /**
   * Where an SPS NAL unit's start code begins in `chunk` (-1: none). A start code straddling the
   * previous chunk counts from 0: the reader then gets the whole chunk and the decoder skips the
   * few bytes before the NAL it cannot use.
   */
  private findSps(chunk: Buffer): number {
    const joined = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const offset = joined.length - chunk.length;
    for (let i = joined.indexOf(START, 0); i !== -1 && i + 3 < joined.length; i = joined.indexOf(START, i + 1)) {
      if ((joined[i + 3]! & 0x1f) === NAL_SPS) {
        const start = i > 0 && joined[i - 1] === 0 ? i - 1 : i; // a 4-byte start code keeps its leading zero
        return Math.max(0, start - offset);
      }
    }
    return -1;
  }
}

const START = Buffer.from([0, 0, 1]);
const NAL_SPS = 7;
