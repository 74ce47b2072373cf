// Splits a byte stream of concatenated JPEGs (FFmpeg `-f image2pipe`, or a camera's own MJPEG)
// into whole frames. It walks the marker segments up to the scan, then looks for EOI in the
// entropy-coded data (where 0xFF is always stuffed), so an EXIF thumbnail's own SOI/EOI inside an
// APP1 segment cannot cut a frame short. The buffer is bounded: garbage or a frame larger than
// maxFrameBytes is dropped and the splitter resynchronises on the next SOI.
//
// Allocation: the parser is an incremental state machine that looks at every byte once (0xFF is
// found with indexOf, segment payloads are skipped by length), so a marker or a segment length
// may fall on any chunk boundary. A frame's bytes are kept as a list of views of the incoming
// chunks and joined once when its EOI arrives; a frame that lies inside one chunk is handed on as
// a view of that chunk, without a copy. (Pipe reads are ~64 KB; a 1280x720 frame spans several.)

export const DEFAULT_MAX_JPEG_BYTES = 2 * 1024 * 1024;

export interface JpegSplitterStats { frames: number; discardedBytes: number; oversized: number }

// Parser states.
const SEEK = 0; // looking for SOI (FF D8)
const EXPECT_FF = 1; // between segments: the next byte must be 0xFF
const MARKER = 2; // after 0xFF: the marker byte (more 0xFF are fill)
const LEN_HI = 3; // segment length, high byte
const LEN_LO = 4; // segment length, low byte
const SKIP = 5; // inside a segment's payload
const SCAN = 6; // entropy-coded data after SOS, looking for a marker other than stuffing/RST
const BAD = 7; // a non-0xFF byte where a marker should start, seen as a chunk's last byte

const FF = Buffer.from([0xff]);

interface Cursor { i: number; start: number }

export class JpegSplitter {
  private state = SEEK;
  /** SEEK / SCAN: the byte before the current one (possibly in the previous chunk) was 0xFF. */
  private prevFF = false;
  private marker = 0;
  private lenHi = 0;
  private skip = 0;
  /** The current frame's bytes from earlier chunks (views, not copies). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  readonly stats: JpegSplitterStats = { frames: 0, discardedBytes: 0, oversized: 0 };

  constructor(private readonly onFrame: (jpeg: Buffer) => void, private readonly maxFrameBytes = DEFAULT_MAX_JPEG_BYTES) {}

  /** Bytes held while waiting for the rest of a frame (never above maxFrameBytes + one chunk). */
  get bufferedBytes(): number { return this.partsBytes + (this.state === SEEK && this.prevFF ? 1 : 0); }

  reset(): void {
    this.state = SEEK;
    this.prevFF = false;
    this.parts = [];
    this.partsBytes = 0;
  }

  push(chunk: Buffer): void {
    this.feed(chunk);
    if (this.state !== SEEK && this.partsBytes > this.maxFrameBytes) {
      this.stats.oversized++;
      this.stats.discardedBytes += this.partsBytes;
      this.reset();
    }
  }

  private feed(chunk: Buffer): void {
    const n = chunk.length;
    // i: the next byte to look at; start: where the current frame's bytes begin in this chunk
    // (-1: not in a frame). One cursor per call: a corrupt length feeds its bytes again, nested.
    const c: Cursor = { i: 0, start: this.state === SEEK ? -1 : 0 };
    while (c.i < n) {
      switch (this.state) {
        case SEEK: this.seek(chunk, c); break;
        case EXPECT_FF: this.expectFF(chunk, c); break;
        case BAD: this.dropBad(c); break;
        case MARKER: this.markerByte(chunk, c); break;
        case LEN_HI: this.lenHi = chunk[c.i++]!; this.state = LEN_LO; break;
        case LEN_LO: this.lenLo(chunk, c); break;
        case SKIP: this.skipPayload(n, c); break;
        case SCAN: this.scan(chunk, c); break;
      }
    }
    if (this.state !== SEEK && c.start < n) {
      this.parts.push(c.start === 0 ? chunk : chunk.subarray(c.start));
      this.partsBytes += n - c.start;
    }
  }

  private seek(chunk: Buffer, c: Cursor): void {
    const n = chunk.length;
    if (this.prevFF) {
      this.prevFF = false;
      if (chunk[c.i] === 0xd8) { // SOI whose 0xFF ended the previous chunk
        this.parts.push(FF);
        this.partsBytes = 1;
        c.start = c.i;
        c.i++;
        this.state = EXPECT_FF;
        return;
      }
      this.stats.discardedBytes++;
    }
    const j = chunk.indexOf(0xff, c.i);
    if (j === -1) { this.stats.discardedBytes += n - c.i; c.i = n; return; }
    if (j + 1 === n) { this.stats.discardedBytes += j - c.i; this.prevFF = true; c.i = n; return; } // maybe half an SOI
    if (chunk[j + 1] === 0xd8) {
      this.stats.discardedBytes += j - c.i;
      c.start = j;
      c.i = j + 2;
      this.state = EXPECT_FF;
      return;
    }
    this.stats.discardedBytes += j + 1 - c.i;
    c.i = j + 1;
  }

  private expectFF(chunk: Buffer, c: Cursor): void {
    if (chunk[c.i] !== 0xff) { // corrupt header: resync from this byte on
      if (c.i + 1 === chunk.length) { c.i++; this.state = BAD; return; } // decided on the next byte, as before
      this.stats.discardedBytes += this.partsBytes + c.i - c.start;
      this.reset();
      c.start = -1;
      return;
    }
    c.i++;
    this.state = MARKER;
  }

  /** The frame's last byte was the corrupt one: drop it all, resync from here. */
  private dropBad(c: Cursor): void {
    this.stats.discardedBytes += this.partsBytes + c.i - c.start;
    this.reset();
    c.start = -1;
  }

  private markerByte(chunk: Buffer, c: Cursor): void {
    const m = chunk[c.i]!;
    c.i++;
    if (m === 0xff) return; // fill byte
    if (m === 0xd9) { this.emit(chunk, c.start, c.i); c.start = -1; return; }
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) { this.state = EXPECT_FF; return; } // no length
    this.marker = m;
    this.state = LEN_HI;
  }

  private lenLo(chunk: Buffer, c: Cursor): void {
    const lenLo = chunk[c.i]!;
    c.i++;
    const len = (this.lenHi << 8) | lenLo;
    if (len < 2) {
      // Corrupt length: drop the frame up to this marker's 0xFF and look for an SOI from
      // there on (the 4 bytes 0xFF, marker, length may lie in earlier chunks: re-feed them).
      this.stats.discardedBytes += this.partsBytes + c.i - c.start - 4;
      this.reset();
      this.feed(Buffer.from([0xff, this.marker, this.lenHi, lenLo]));
      c.start = (this.state as number) === SEEK ? -1 : c.i; // (feed changed the state)
      return;
    }
    this.skip = len - 2;
    this.state = this.skip ? SKIP : this.afterSegment();
  }

  private skipPayload(n: number, c: Cursor): void {
    const take = Math.min(this.skip, n - c.i);
    c.i += take;
    this.skip -= take;
    if (!this.skip) this.state = this.afterSegment();
  }

  private scan(chunk: Buffer, c: Cursor): void {
    if (this.prevFF) {
      const m = chunk[c.i]!;
      if (m === 0xff) { c.i++; return; } // fill: still after a 0xFF
      this.prevFF = false;
      if (m === 0x00 || (m >= 0xd0 && m <= 0xd7)) { c.i++; return; } // stuffing, restart markers
      if (m === 0xd9) { c.i++; this.emit(chunk, c.start, c.i); c.start = -1; return; }
      // Another segment (progressive JPEG: DHT, next SOS): back to walking segments.
      this.state = MARKER;
      return;
    }
    const j = chunk.indexOf(0xff, c.i);
    if (j === -1) { c.i = chunk.length; return; }
    this.prevFF = true;
    c.i = j + 1;
  }

  private afterSegment(): number {
    if (this.marker !== 0xda) return EXPECT_FF;
    this.prevFF = false;
    return SCAN;
  }

  /** Hands on the frame that ends at `end` in `chunk` (exclusive) and began at `start` or earlier. */
  private emit(chunk: Buffer, start: number, end: number): void {
    let frame: Buffer;
    if (!this.parts.length) frame = chunk.subarray(start, end);
    else {
      this.parts.push(chunk.subarray(start, end));
      frame = Buffer.concat(this.parts, this.partsBytes + end - start);
    }
    this.parts = [];
    this.partsBytes = 0;
    this.state = SEEK;
    this.prevFF = false;
    this.stats.frames++;
    this.onFrame(frame);
  }
}
