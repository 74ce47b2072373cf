// JpegSplitter on synthetic streams: marker halves on chunk boundaries, frames over many chunks,
// garbage and corrupt headers between frames, zero-copy hand-off, and a differential check against
// the previous (re-concatenating) implementation on random streams and random chunkings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JpegSplitter } from './jpeg-splitter.ts';

/** A deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function segment(marker: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = 0xff;
  h[1] = marker;
  h.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([h, payload]);
}

/** Entropy-coded bytes: every 0xFF stuffed with 0x00, a restart marker now and then. */
function scanData(rand: () => number, n: number): Buffer {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = Math.floor(rand() * 256);
    out.push(b);
    if (b === 0xff) out.push(0x00);
    if (rand() < 0.002) out.push(0xff, 0xd0 + Math.floor(rand() * 8));
  }
  return Buffer.from(out);
}

interface JpegOpts { scanBytes?: number; thumbnail?: boolean; progressive?: boolean; fill?: boolean }

/** A structurally valid JPEG (the splitter does not decode, it only walks markers). */
function fakeJpeg(rand: () => number, o: JpegOpts = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  parts.push(segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')));
  // An EXIF thumbnail: its own SOI ... EOI inside APP1 must not end the frame.
  if (o.thumbnail) parts.push(segment(0xe1, Buffer.from([0xff, 0xd8, 0x01, 0x02, 0xff, 0xd9])));
  parts.push(segment(0xdb, Buffer.alloc(65, 7)));
  if (o.fill) parts.push(Buffer.from([0xff, 0xff])); // fill bytes before the next marker
  parts.push(segment(0xc0, Buffer.from([8, 0, 16, 0, 16, 1, 1, 0x11, 0])));
  parts.push(segment(0xc4, Buffer.alloc(20, 3)));
  parts.push(segment(0xda, Buffer.from([1, 1, 0, 0, 63, 0])));
  parts.push(scanData(rand, o.scanBytes ?? 200));
  if (o.progressive) {
    parts.push(segment(0xc4, Buffer.alloc(12, 5)));
    parts.push(segment(0xda, Buffer.from([1, 1, 0, 1, 63, 0])));
    parts.push(scanData(rand, o.scanBytes ?? 200));
  }
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

function split(stream: Buffer, cuts: number[], max?: number): { frames: Buffer[]; s: JpegSplitter } {
  const frames: Buffer[] = [];
  const s = new JpegSplitter((f) => frames.push(f), max);
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    s.push(stream.subarray(at, c));
    at = c;
  }
  return { frames, s };
}

describe('JpegSplitter chunk boundaries', () => {
  const rand = rng(1);
  const a = fakeJpeg(rand, { thumbnail: true });
  const b = fakeJpeg(rand, { progressive: true, fill: true });

  it('finds an SOI whose 0xFF and 0xD8 arrive in different chunks', () => {
    const stream = Buffer.concat([Buffer.from('junk'), a]);
    const { frames, s } = split(stream, [5]); // 'junk' + 0xFF | 0xD8 ...
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.equals(a));
    assert.equal(s.stats.discardedBytes, 4);
  });

  it('finds an EOI whose 0xFF and 0xD9 arrive in different chunks', () => {
    const stream = Buffer.concat([a, b]);
    const { frames } = split(stream, [a.length - 1, a.length + b.length - 1]);
    assert.deepEqual(frames.map((f) => f.length), [a.length, b.length]);
    assert.ok(frames[0]!.equals(a) && frames[1]!.equals(b));
  });

  it('splits correctly with a cut at every single position', () => {
    const stream = Buffer.concat([Buffer.from([0xff, 0x00, 0xff]), a, Buffer.from([0x12, 0xff]), b]);
    for (let c = 1; c < stream.length; c++) {
      const { frames } = split(stream, [c]);
      assert.equal(frames.length, 2, `cut at ${c}`);
      assert.ok(frames[0]!.equals(a) && frames[1]!.equals(b), `cut at ${c}`);
    }
  });

  it('joins a frame that spans many chunks once, and hands a frame inside one chunk on without a copy', () => {
    const big = fakeJpeg(rng(2), { scanBytes: 300_000 });
    const cuts: number[] = [];
    for (let c = 4096; c < big.length; c += 4096) cuts.push(c);
    assert.ok(cuts.length > 50);
    const { frames, s } = split(big, cuts);
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.equals(big));
    assert.equal(s.bufferedBytes, 0);

    const whole = Buffer.concat([a, b]);
    const out = split(whole, []).frames;
    assert.equal(out.length, 2);
    assert.equal(out[0]!.buffer, whole.buffer, 'a view of the chunk');
    assert.equal(out[1]!.byteOffset, whole.byteOffset + a.length);
  });

  it('skips garbage between frames (including stray 0xFF and a lone EOI) and counts it', () => {
    const garbage = Buffer.from([0x00, 0xff, 0xff, 0x10, 0xff, 0xd9, 0xff, 0x00, 0x42]);
    const stream = Buffer.concat([a, garbage, b, garbage, a]);
    for (const chunk of [1, 2, 3, 5, 64, stream.length]) {
      const cuts: number[] = [];
      for (let c = chunk; c < stream.length; c += chunk) cuts.push(c);
      const { frames, s } = split(stream, cuts);
      assert.equal(frames.length, 3, `chunk ${chunk}`);
      assert.ok(frames[0]!.equals(a) && frames[1]!.equals(b) && frames[2]!.equals(a), `chunk ${chunk}`);
      assert.equal(s.stats.discardedBytes, 2 * garbage.length, `chunk ${chunk}`);
    }
  });

  it('resynchronises after a corrupt header (a non-0xFF byte between segments, a length below 2)', () => {
    const noFF = Buffer.concat([a.subarray(0, 20), Buffer.from([0x33]), a.subarray(20, 30)]);
    const badLen = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01])]);
    // A length of 1 right after a marker whose bytes then start the next SOI.
    const badLenSoi = Buffer.from([0xff, 0xd8, 0xff, 0xd8, 0x00, 0x01]);
    for (const bad of [noFF, badLen, badLenSoi]) {
      const stream = Buffer.concat([bad, b]);
      for (let c = 1; c < stream.length; c++) {
        const { frames } = split(stream, [c]);
        assert.ok(frames.length >= 1, `cut at ${c}`);
        assert.ok(frames[frames.length - 1]!.equals(b), `cut at ${c}`);
      }
    }
  });

  it('bounds a frame that never ends, also when it arrives in small chunks', () => {
    const frames: Buffer[] = [];
    const s = new JpegSplitter((f) => frames.push(f), 64 * 1024);
    const open = a.subarray(0, a.length - 2);
    s.push(open);
    for (let i = 0; i < 100; i++) s.push(Buffer.alloc(1000, 0x22));
    assert.ok(s.bufferedBytes <= 64 * 1024 + 1000, `buffered ${s.bufferedBytes}`);
    assert.equal(s.stats.oversized, 1);
    s.push(b);
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.equals(b));
  });
});

// The implementation before the incremental parser (Buffer.concat per chunk), kept as the oracle.
class ReferenceSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private inFrame = false;
  private inScan = false;
  private pos = 0;
  readonly stats = { frames: 0, discardedBytes: 0, oversized: 0 };
  constructor(private readonly onFrame: (jpeg: Buffer) => void, private readonly maxFrameBytes = 2 * 1024 * 1024) {}
  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (!this.inFrame && !this.findStart()) return;
      const end = this.findEnd();
      if (end === -1) {
        if (this.pending.length > this.maxFrameBytes) { this.stats.oversized++; this.discard(this.pending.length); }
        return;
      }
      if (end === -2) { this.discard(this.pos); continue; }
      this.stats.frames++;
      const frame = Buffer.from(this.pending.subarray(0, end));
      this.pending = this.pending.subarray(end);
      this.inFrame = false;
      this.onFrame(frame);
    }
  }
  private findStart(): boolean {
    const soi = indexOfMarker(this.pending, 0xd8, 0);
    if (soi === -1) {
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
  private findEnd(): number {
    const b = this.pending;
    for (;;) {
      if (this.inScan) {
        let i = b.indexOf(0xff, this.pos);
        for (; i !== -1 && i + 1 < b.length; i = b.indexOf(0xff, i + 1)) {
          const m = b[i + 1]!;
          if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) continue;
          if (m === 0xd9) return i + 2;
          this.inScan = false;
          this.pos = i;
          break;
        }
        if (this.inScan) { this.pos = i === -1 ? b.length : i; return -1; }
      }
      while (this.pos < b.length && b[this.pos] === 0xff && b[this.pos + 1] === 0xff) this.pos++;
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

describe('JpegSplitter against the previous implementation', () => {
  it('gives the same frames and counters on random streams with garbage, corruption and random chunking', () => {
    const rand = rng(42);
    const pieces = (): Buffer => {
      const r = rand();
      if (r < 0.55) return fakeJpeg(rand, { scanBytes: Math.floor(rand() * 3000), thumbnail: rand() < 0.3, progressive: rand() < 0.3, fill: rand() < 0.3 });
      if (r < 0.7) return Buffer.from(Array.from({ length: Math.floor(rand() * 20) }, () => (rand() < 0.4 ? 0xff : [0xd8, 0xd9, 0x00, 0xda, 0x01][Math.floor(rand() * 5)]!)));
      if (r < 0.85) { // a frame cut short (a new SOI or garbage follows)
        const j = fakeJpeg(rand, { scanBytes: Math.floor(rand() * 500) });
        return j.subarray(0, Math.floor(rand() * j.length));
      }
      const j = Buffer.from(fakeJpeg(rand, { scanBytes: Math.floor(rand() * 500) })); // a corrupted byte
      j[Math.floor(rand() * j.length)] = Math.floor(rand() * 256);
      return j;
    };
    for (let run = 0; run < 300; run++) {
      const stream = Buffer.concat(Array.from({ length: 2 + Math.floor(rand() * 10) }, pieces));
      const max = rand() < 0.3 ? 1000 + Math.floor(rand() * 4000) : undefined;
      const got: Buffer[] = [];
      const want: Buffer[] = [];
      const s = new JpegSplitter((f) => got.push(f), max);
      const ref = new ReferenceSplitter((f) => want.push(f), max);
      const maxChunk = [1, 3, 17, 200, 5000][run % 5]!;
      for (let at = 0; at < stream.length;) {
        const n = 1 + Math.floor(rand() * maxChunk);
        const c = stream.subarray(at, at + n);
        s.push(c);
        ref.push(c);
        at += n;
      }
      assert.equal(got.length, want.length, `run ${run}: frame count`);
      got.forEach((f, i) => assert.ok(f.equals(want[i]!), `run ${run}: frame ${i}`));
      assert.deepEqual(s.stats, ref.stats, `run ${run}: stats`);
    }
  });
});
