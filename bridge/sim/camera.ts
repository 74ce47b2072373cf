// The simulated camera: yuv420p frames generated in Node and written to FFmpeg's stdin. The scene
// is a corridor seen from the robot: a textured wall panorama that slides with heading, a striped
// floor in perspective that scrolls with the distance driven, and a marker circling by itself so
// the picture moves (and the encoder works) even when the robot stands still. Every frame carries
// the capture-time strip (protocol/timestamp-strip.ts) stamped with Date.now() as it is written.
//
// Cost matters (2 cores, a Pi later): each frame is built from whole-row typed-array fills and
// copies, no per-pixel callbacks. Frames are paced by a drift-free timer (deadlines computed from
// the start time) and dropped, never queued, when FFmpeg's stdin is backed up.

import type { Writable } from 'node:stream';
import { drawStripY, stripHeight } from '../../protocol/timestamp-strip.ts';
import type { VideoInfo, VideoSource } from '../hardware/types.ts';

export interface Pose { x: number; y: number; heading: number }

export interface SimulatedCameraOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Where the robot is (metres, radians); the scene follows it. Defaults to standing still. */
  poseSource?: () => Pose;
}

interface Consumer { stdin: Writable; recent: Buffer[] }

export interface SimulatedCameraStats { framesWritten: number; framesDropped: number; lastCaptureMs: number | null }

/** Floor stripe period in metres: 25 cm reads as motion at a slow crawl. */
const FLOOR_PERIOD_M = 0.25;
/** Horizontal field of view: how far the wall slides per radian of turn. */
const FOV_RAD = Math.PI / 3;
/** Marker: one lap in this many milliseconds. */
const MARKER_PERIOD_MS = 4000;

export class SimulatedCamera implements VideoSource {
  readonly info: VideoInfo;
  private readonly poseSource: () => Pose;
  private readonly frameBytes: number;
  private readonly panorama: Uint8Array;
  private readonly buffers: Buffer[];
  private next = 0;
  private frameNo = 0;
  private odometer = 0;
  private lastPose: Pose | null = null;
  private readonly consumers = new Set<Consumer>();
  private stopTicker: (() => void) | null = null;
  private readonly counters: SimulatedCameraStats = { framesWritten: 0, framesDropped: 0, lastCaptureMs: null };

  constructor(options: SimulatedCameraOptions = {}) {
    const width = options.width ?? 640;
    const height = options.height ?? 480;
    const fps = options.fps ?? 25;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width % 2 || height % 2 || width < 128 || height < 96 || width > 3840 || height > 2160) {
      throw new RangeError(`simulated camera size must be even, 128x96..3840x2160; got ${width}x${height}`);
    }
    if (!Number.isInteger(fps) || fps < 1 || fps > 60) throw new RangeError(`simulated camera fps must be an integer in 1..60, got ${fps}`);
    this.info = { kind: 'sim', device: 'synthetic', format: 'raw', width, height, fps, timestampStrip: true };
    this.poseSource = options.poseSource ?? (() => ({ x: 0, y: 0, heading: 0 }));
    this.frameBytes = width * height * 3 / 2;
    // Two full turns of wall texture wide enough that any heading maps to one contiguous window.
    this.panorama = makePanorama(Math.round((2 * Math.PI / FOV_RAD) * width));
    // A pool of frame buffers (see freeBuffer), filled as frames are made and emptied when nobody
    // is fed: an idle camera holds no frames (1.4 MB each at 1280x720).
    this.buffers = [];
  }

  get stats(): SimulatedCameraStats { return { ...this.counters }; }

  ffmpegInput(): string[] {
    const { width, height, fps } = this.info;
    return ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0'];
  }

  /**
   * Feeds one FFmpeg stdin. Any number may be attached at once (the local MJPEG capture and the
   * server-mode publisher): ONE generator renders each frame once and writes the same buffer to
   * every attached stdin that keeps up — the simulator's "one capture feeds both".
   */
  feed(stdin: Writable): () => void {
    const consumer: Consumer = { stdin, recent: [] };
    this.consumers.add(consumer);
    if (!this.stopTicker) this.stopTicker = this.startTicker();
    return () => {
      this.consumers.delete(consumer);
      this.stopWhenIdle();
    };
  }

  /** Number of stdins being fed now. */
  get consumerCount(): number { return this.consumers.size; }

  /** Frame buffers held in the pool (none while nobody is fed). */
  get pooledFrames(): number { return this.buffers.length; }

  /** Whether frames are being generated (a timer runs) — only while some stdin is fed. */
  get generating(): boolean { return this.stopTicker !== null; }

  private stopWhenIdle(): void {
    if (this.consumers.size || !this.stopTicker) return;
    this.stopTicker();
    this.stopTicker = null;
    this.buffers.length = 0;
    this.next = 0;
  }

  private startTicker(): () => void {
    const interval = 1000 / this.info.fps;
    const start = Date.now();
    let n = 0;
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      const ready: Consumer[] = [];
      for (const c of this.consumers) {
        if (c.stdin.destroyed || c.stdin.writableEnded) { this.consumers.delete(c); continue; }
        // A consumer still holding a whole frame skips this one: dropped, never queued.
        if (c.stdin.writableLength >= this.frameBytes) continue;
        ready.push(c);
      }
      // Every stdin ended by itself (its FFmpeg stopped): the ticker stops too, or its timer ran on
      // at the frame rate with nobody to feed and kept the process from ever exiting.
      if (!this.consumers.size) return this.stopWhenIdle();
      if (ready.length) {
        const frame = this.renderFrame(Date.now());
        for (const c of ready) {
          c.stdin.write(frame);
          c.recent.push(frame);
          if (c.recent.length > 2) c.recent.shift();
        }
        this.counters.framesWritten++;
      } else {
        this.counters.framesDropped++;
      }
      // Deadlines come from the start time, so timer lateness never accumulates; when we fall more
      // than a frame behind, skip ahead (those frames are simply never made).
      n++;
      const now = Date.now();
      const behind = Math.floor((now - (start + n * interval)) / interval);
      if (behind > 0) { n += behind; this.counters.framesDropped += behind; }
      timer = setTimeout(tick, Math.max(0, start + n * interval - now));
    };
    tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    };
  }

  /**
   * A buffer no stdin may still be reading. A write does not copy: the frames a consumer's pipe
   * has not taken yet (writableLength of them, at most a tail of one plus the next, since a
   * consumer holding a whole frame is skipped) are busy; the pool grows when all are taken. One
   * consumer that keeps up needs two buffers: the one its pipe drains and the one being drawn.
   */
  private freeBuffer(): Buffer {
    const busy = new Set<Buffer>();
    for (const c of this.consumers) {
      const waiting = c.stdin.writableLength;
      const held = waiting === 0 ? 0 : waiting <= this.frameBytes ? 1 : 2;
      for (const b of c.recent.slice(c.recent.length - held)) busy.add(b);
    }
    for (let i = 0; i < this.buffers.length; i++) {
      const idx = (this.next + i) % this.buffers.length;
      const b = this.buffers[idx]!;
      if (!busy.has(b)) { this.next = (idx + 1) % this.buffers.length; return b; }
    }
    const b = Buffer.alloc(this.frameBytes);
    this.buffers.push(b);
    return b;
  }

  /** Builds one frame stamped with `captureMs` into a pooled buffer: copy it if you keep it past the next two calls. */
  renderFrame(captureMs: number): Buffer {
    const { width, height } = this.info;
    const buf = this.freeBuffer();
    const yPlane = buf.subarray(0, width * height);
    const uPlane = buf.subarray(width * height, width * height * 5 / 4);
    const vPlane = buf.subarray(width * height * 5 / 4);
    const pose = this.poseSource();
    this.advanceOdometer(pose);

    const horizon = Math.floor(height * 0.45);
    const top = stripHeight(width);
    // Wall: a window into the panorama, shifted by heading.
    const panoWidth = this.panorama.length / 2;
    const shift = Math.floor(mod((pose.heading / (2 * Math.PI)) * panoWidth, panoWidth));
    const wall = this.panorama.subarray(shift, shift + width);
    for (let y = top; y < horizon; y++) {
      yPlane.set(wall, y * width);
      // Darker towards the ceiling, so rows differ and the encoder has gradients to code.
      if ((y & 7) === 0) yPlane.fill(60, y * width, y * width + width);
    }
    // Floor: perspective stripes. Row y sees the floor at distance k / (y - horizon).
    const lanes = 6;
    for (let y = horizon; y < height; y++) {
      const depth = (height * 0.5) / (y - horizon + 1);
      const phase = mod(depth + this.odometer, FLOOR_PERIOD_M * 2) < FLOOR_PERIOD_M;
      const row = y * width;
      yPlane.fill(phase ? 170 : 90, row, row + width);
      // Lane lines converge on the horizon and slide sideways when the robot turns.
      const spread = (y - horizon) / (height - horizon);
      const centre = width / 2 - mod(shift, width / lanes) * spread;
      for (let i = -lanes; i <= lanes; i++) {
        const x = Math.round(centre + i * (width / lanes) * spread * 2);
        if (x >= 0 && x + 2 <= width) yPlane.fill(235, row + x, row + x + 2);
      }
    }
    // Chroma: blue-grey wall, green-brown floor, neutral strip.
    const cw = width / 2;
    const ch = height / 2;
    const cHorizon = horizon >> 1;
    uPlane.fill(140, 0, cHorizon * cw); vPlane.fill(118, 0, cHorizon * cw);
    uPlane.fill(100, cHorizon * cw, ch * cw); vPlane.fill(125, cHorizon * cw, ch * cw);
    uPlane.fill(128, 0, (top >> 1) * cw); vPlane.fill(128, 0, (top >> 1) * cw);

    // Marker: an orange square circling the picture on its own clock.
    const angle = ((captureMs % MARKER_PERIOD_MS) / MARKER_PERIOD_MS) * 2 * Math.PI;
    const size = Math.max(8, (Math.floor(width / 16) >> 1) << 1);
    const mx = (Math.round(width / 2 + Math.cos(angle) * width * 0.3 - size / 2) >> 1) << 1;
    const my = (Math.round(top + (height - top) / 2 + Math.sin(angle) * (height - top) * 0.3 - size / 2) >> 1) << 1;
    for (let y = Math.max(top, my); y < Math.min(height, my + size); y++) yPlane.fill(200, y * width + Math.max(0, mx), y * width + Math.min(width, mx + size));
    for (let y = Math.max(top >> 1, my >> 1); y < Math.min(ch, (my + size) >> 1); y++) {
      uPlane.fill(60, y * cw + Math.max(0, mx >> 1), y * cw + Math.min(cw, (mx + size) >> 1));
      vPlane.fill(200, y * cw + Math.max(0, mx >> 1), y * cw + Math.min(cw, (mx + size) >> 1));
    }

    drawStripY(yPlane, width, height, captureMs, this.frameNo);
    this.frameNo = (this.frameNo + 1) & 0xffff;
    this.counters.lastCaptureMs = captureMs;
    return buf;
  }

  /** Distance driven along the heading (reversing scrolls the floor back). */
  private advanceOdometer(pose: Pose): void {
    const last = this.lastPose;
    this.lastPose = { x: pose.x, y: pose.y, heading: pose.heading };
    if (!last) return;
    const dx = pose.x - last.x;
    const dy = pose.y - last.y;
    const along = dx * Math.cos(pose.heading) + dy * Math.sin(pose.heading);
    if (Number.isFinite(along)) this.odometer += along;
  }
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/** A wall texture twice `width` wide (the second half repeats the first): panels of varied grey. */
function makePanorama(width: number): Uint8Array {
  const pano = new Uint8Array(width * 2);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let x = 0;
  while (x < width) {
    const panel = 12 + Math.floor(rand() * 60);
    const shade = 50 + Math.floor(rand() * 150);
    pano.fill(shade, x, Math.min(width, x + panel));
    if (x + 3 <= width) pano.fill(30, x, x + 3); // a dark seam between panels
    x += panel;
  }
  pano.copyWithin(width, 0, width);
  return pano;
}
