// The capture-time strip: a machine-readable band at the top of every simulated frame, so the app
// and the benchmarks can measure glass-to-glass latency from pixels alone. Design measured robust
// here (../shared/notes/latency.md): 2 rows x 32 blocks, luma 16 (bit 0) / 235 (bit 1), blocks as
// big as the frame width allows (width / 32: 640 px → 20 px blocks), so JPEG at q 5 and H.264 at
// 1.5 Mbps leave every block centre on the right side of the threshold.
//
// Payload, 64 bits, most significant bit first, row 0 then row 1:
//   row 0: low 32 bits of Date.now() at capture
//   row 1: 16-bit frame number, then CRC-16/CCITT-FALSE over the 6 bytes above
// The CRC rejects torn or damaged reads instead of reporting a wrong latency.
//
// Pure TypeScript: no DOM, no Node APIs (the simulator, the app and the benchmarks share it).

export const STRIP_BLOCKS_PER_ROW = 32;
export const STRIP_ROWS = 2;
export const STRIP_BITS = STRIP_BLOCKS_PER_ROW * STRIP_ROWS;
export const STRIP_LUMA_ZERO = 16;
export const STRIP_LUMA_ONE = 235;
/** Below this a block is too small to survive compression. */
export const STRIP_MIN_BLOCK_PX = 4;

export interface StripReading { captureMs: number; frameNo: number }

/** Block edge in pixels for a frame this wide (0 when the frame is too narrow to carry a strip). */
export function stripBlockSize(width: number): number {
  const b = Math.floor(width / STRIP_BLOCKS_PER_ROW);
  return b >= STRIP_MIN_BLOCK_PX ? b : 0;
}

/** Height in pixels the strip covers at the top of a frame this wide. */
export function stripHeight(width: number): number {
  return stripBlockSize(width) * STRIP_ROWS;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF). */
export function crc16(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= (bytes[i]! & 0xff) << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function payloadBytes(low32: number, frameNo: number): number[] {
  return [(low32 >>> 24) & 0xff, (low32 >>> 16) & 0xff, (low32 >>> 8) & 0xff, low32 & 0xff, (frameNo >>> 8) & 0xff, frameNo & 0xff];
}

/** The 64 bits the strip shows, row-major, most significant bit first. */
export function encodeStrip(captureMs: number, frameNo: number): boolean[] {
  const low32 = Math.floor(captureMs) >>> 0; // ToUint32: the low 32 bits, for any safe integer
  const frame16 = frameNo & 0xffff;
  const bytes = payloadBytes(low32, frame16);
  const crc = crc16(bytes);
  bytes.push((crc >>> 8) & 0xff, crc & 0xff);
  const bits: boolean[] = [];
  for (const byte of bytes) for (let k = 7; k >= 0; k--) bits.push(((byte >>> k) & 1) === 1);
  return bits;
}

/**
 * Draws the strip on an 8-bit luma plane (yuv420p's Y, row stride = width). Frames too small to
 * carry it are left untouched. Columns right of the 32 blocks are painted as zeros so the strip
 * has a clean edge.
 */
export function drawStripY(yPlane: Uint8Array, width: number, height: number, captureMs: number, frameNo: number): void {
  const block = stripBlockSize(width);
  if (block === 0 || height < block * STRIP_ROWS) return;
  const bits = encodeStrip(captureMs, frameNo);
  // One template row per strip row, then copied down: cheap enough for every frame.
  for (let row = 0; row < STRIP_ROWS; row++) {
    const top = row * block * width;
    const line = yPlane.subarray(top, top + width);
    line.fill(STRIP_LUMA_ZERO);
    for (let col = 0; col < STRIP_BLOCKS_PER_ROW; col++) {
      if (bits[row * STRIP_BLOCKS_PER_ROW + col]) line.fill(STRIP_LUMA_ONE, col * block, (col + 1) * block);
    }
    for (let y = 1; y < block; y++) yPlane.copyWithin(top + y * width, top, top + width);
  }
}

/**
 * Reads the strip by sampling a small square at each block centre of `getLuma(x, y)` (0-255).
 * Returns null when the frame is too small or the CRC does not match. `nowMs` rebuilds the full
 * capture time from its low 32 bits (the value nearest to it is chosen; captures are recent).
 */
export function decodeStripFromLuma(
  getLuma: (x: number, y: number) => number,
  width: number,
  height: number,
  nowMs: number = Date.now(),
): StripReading | null {
  const block = stripBlockSize(width);
  if (block === 0 || height < block * STRIP_ROWS) return null;
  const threshold = (STRIP_LUMA_ZERO + STRIP_LUMA_ONE) / 2;
  const r = Math.max(1, Math.floor(block / 6)); // sample radius: well inside the block, away from ringing
  const bytes = new Array<number>(8).fill(0);
  for (let i = 0; i < STRIP_BITS; i++) {
    const row = Math.floor(i / STRIP_BLOCKS_PER_ROW);
    const col = i % STRIP_BLOCKS_PER_ROW;
    const cx = col * block + (block >> 1);
    const cy = row * block + (block >> 1);
    let sum = 0;
    let n = 0;
    for (let dy = -r; dy <= r; dy += r) {
      for (let dx = -r; dx <= r; dx += r) {
        sum += getLuma(cx + dx, cy + dy);
        n++;
      }
    }
    if (sum / n > threshold) bytes[i >> 3]! |= 0x80 >>> (i & 7);
  }
  const crc = (bytes[6]! << 8) | bytes[7]!;
  if (crc16(bytes.slice(0, 6)) !== crc) return null;
  const low32 = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const frameNo = (bytes[4]! << 8) | bytes[5]!;
  return { captureMs: unwrapLow32(low32, nowMs), frameNo };
}

/** The full millisecond time whose low 32 bits are `low32`, nearest to `nowMs`. */
export function unwrapLow32(low32: number, nowMs: number): number {
  const span = 2 ** 32;
  const base = Math.floor(nowMs / span) * span;
  let best = base + low32;
  for (const cand of [best - span, best + span]) if (Math.abs(cand - nowMs) < Math.abs(best - nowMs)) best = cand;
  return best;
}

/** Something shaped like ImageData: RGBA bytes, row-major. */
export interface RgbaImage { data: ArrayLike<number>; width: number; height: number }

/** Decodes the strip from RGBA pixels (a canvas's ImageData), using BT.601 luma. */
export function decodeStripFromRgba(image: RgbaImage, nowMs: number = Date.now()): StripReading | null {
  const { data, width, height } = image;
  const luma = (x: number, y: number): number => {
    const cx = Math.min(width - 1, Math.max(0, x));
    const cy = Math.min(height - 1, Math.max(0, y));
    const o = (cy * width + cx) * 4;
    return 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
  };
  return decodeStripFromLuma(luma, width, height, nowMs);
}
