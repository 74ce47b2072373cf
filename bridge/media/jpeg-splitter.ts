// Splits a byte stream of concatenated JPEGs (FFmpeg `-f image2pipe`, or a camera's own MJPEG)
// into whole frames. It walks the marker segments up to the scan, then looks for EOI in the
// entropy-coded data (where 0xFF is always stuffed), so an EXIF thumbnail's own SOI/EOI inside an
// APP1 segment cannot cut a frame short. The buffer is bounded: garbage or a frame larger than
// maxFrameBytes is dropped and the splitter resynchronises on the next SOI.

export const DEFAULT_MAX_JPEG_BYTES = 2 * 1024 * 1024;

export interface JpegSplitterStats { frames: number; discardedBytes: number; oversized: number }

export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private inFrame = false;
  private inScan = false;
  private pos = 0;
  readonly stats: JpegSplitterStats = { frames: 0, discardedBytes: 0, oversized: 0 };

  constructor(private readonly onFrame: (jpeg: Buffer) => void, private readonly maxFrameBytes = DEFAULT_MAX_JPEG_BYTES) {}

  /** Bytes held while waiting for the rest of a frame (never above maxFrameBytes + one chunk). */
  get bufferedBytes(): number { return this.pending.length; }

  reset(): void {
    this.pending = Buffer.alloc(0);
    this.inFrame = false;
    this.inScan = false;
    this.pos = 0;
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (!this.inFrame && !this.findStart()) return;
      const end = this.findEnd();
      if (end === -1) {
        if (this.pending.length > this.maxFrameBytes) {
          this.stats.oversized++;
          this.discard(this.pending.length);
        }
        return;
      }
      if (end === -2) { this.discard(this.pos); continue; } // corrupt header: resync after it
      this.stats.frames++;
      const frame = Buffer.from(this.pending.subarray(0, end));
      this.pending = this.pending.subarray(end);
      this.inFrame = false;
      this.onFrame(frame);
    }
  }

  /** Moves pending to the next SOI; false when there is none yet. */
  private findStart(): boolean {
    const soi = indexOfMarker(this.pending, 0xd8, 0);
    if (soi === -1) {
      // Keep a trailing 0xFF: it may be the first half of the next SOI.
      const keep = this.pending.length && this.pending[this.pending.length - 1] === 0xff ? 1 : 0;
      this.stats.discardedBytes += this.pending.length - keep;
      this.pending = this.pending.subarray(this.pending.length - keep);
      return false;
    }
    this.stats.discardedBytes += soi;
    this.pending = this.pending.subarray(soi);
    this.inFrame = true;
    this.inScan = false;
    this.pos = 2;
    return true;
  }

  /** Index just past EOI; -1 when more bytes are needed; -2 when the header is corrupt. */
  private findEnd(): number {
    const b = this.pending;
    for (;;) {
      if (this.inScan) {
        let i = b.indexOf(0xff, this.pos);
        for (; i !== -1 && i + 1 < b.length; i = b.indexOf(0xff, i + 1)) {
          const m = b[i + 1]!;
          if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) continue; // stuffing, fill, restart markers
          if (m === 0xd9) return i + 2;
          // Another segment (progressive JPEG: DHT, next SOS): back to walking segments.
          this.inScan = false;
          this.pos = i;
          break;
        }
        if (this.inScan) {
          this.pos = i === -1 ? b.length : i; // resume at a trailing 0xFF next time
          return -1;
        }
      }
      // Walking marker segments.
      while (this.pos < b.length && b[this.pos] === 0xff && b[this.pos + 1] === 0xff) this.pos++; // fill bytes
      if (this.pos + 2 > b.length) return -1;
      if (b[this.pos] !== 0xff) { this.pos = Math.max(1, this.pos); return -2; }
      const marker = b[this.pos + 1]!;
      if (marker === 0xd9) return this.pos + 2;
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { this.pos += 2; continue; }
      if (this.pos + 4 > b.length) return -1;
      const len = b.readUInt16BE(this.pos + 2);
      if (len < 2) { this.pos = Math.max(1, this.pos); return -2; }
      if (this.pos + 2 + len > b.length) return -1;
      this.pos += 2 + len;
      if (marker === 0xda) this.inScan = true;
    }
  }

  private discard(n: number): void {
    this.stats.discardedBytes += n;
    this.pending = this.pending.subarray(n);
    this.inFrame = false;
    this.inScan = false;
    this.pos = 0;
  }
}

function indexOfMarker(b: Buffer, marker: number, from: number): number {
  for (let i = b.indexOf(0xff, from); i !== -1 && i + 1 < b.length; i = b.indexOf(0xff, i + 1)) {
    if (b[i + 1] === marker) return i;
  }
  return -1;
}
