// Glass-to-glass latency from pixels: the simulator paints its capture time (robot clock) in a
// strip at the top of each frame; we copy that band of the frame on screen to a small canvas on
// every animation frame, decode it, and compare with now on the robot's clock. A real camera has
// no strip: then nothing decodes and the reading is null (hidden), never guessed.

import { decodeStripFromRgba, stripHeight } from '../../../protocol/timestamp-strip.ts';
import { frameSize } from './video-source.ts';

/** A reading older than this is stale: the strip stopped decoding. */
const STALE_MS = 2000;
const WINDOW = 15;
/** Enough pixels per block for the decoder (it needs ≥ 4 px blocks), small enough to be cheap. */
const MAX_CANVAS_WIDTH = 640;

export class GlassToGlassMeter {
  private raf = 0;
  private canvas: HTMLCanvasElement | OffscreenCanvas | null = null;
  private ctx2d: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null = null;
  private lastFrameNo = -1;
  private recent: number[] = [];
  private lastAt = 0;
  private disabled = false;

  constructor(
    private readonly source: () => HTMLImageElement | HTMLVideoElement | null,
    /** Robot time → app time (clock offset from the link). */
    private readonly toLocal: (robotMs: number) => number,
    private readonly onReading: () => void = () => {},
  ) {}

  start(): void {
    if (this.raf) return;
    const loop = (): void => {
      this.raf = requestAnimationFrame(loop);
      this.read();
    };
    this.raf = requestAnimationFrame(loop);
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  /** Forgets readings (the video source changed: another pipeline, another latency). */
  reset(): void {
    this.recent = [];
    this.lastFrameNo = -1;
    this.lastAt = 0;
    this.disabled = false;
  }

  /** Median of recent readings, ms; null when no strip has decoded lately. */
  get latencyMs(): number | null {
    if (!this.recent.length || performance.now() - this.lastAt > STALE_MS) return null;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return Math.round(sorted[sorted.length >> 1]!);
  }

  private read(): void {
    const el = this.source();
    if (!el || this.disabled) return;
    const { width, height } = frameSize(el);
    const band = stripHeight(width);
    if (!band || height < band) return;
    const scale = Math.min(1, MAX_CANVAS_WIDTH / width);
    const w = Math.round(width * scale);
    const h = Math.max(1, Math.round(band * scale));
    const ctx = this.context(w, h);
    if (!ctx) return;
    let image: ImageData;
    try {
      ctx.drawImage(el, 0, 0, width, band, 0, 0, w, h);
      image = ctx.getImageData(0, 0, w, h);
    } catch {
      // A cross-origin frame without CORS taints the canvas: no measurement is possible.
      this.disabled = true;
      return;
    }
    const now = Date.now();
    const reading = decodeStripFromRgba(image, now);
    if (!reading || reading.frameNo === this.lastFrameNo) return;
    // Only the first time a frame is seen counts: later reads of the same frame are not latency.
    this.lastFrameNo = reading.frameNo;
    const latency = now - this.toLocal(reading.captureMs);
    if (latency < -1000 || latency > 60_000) return; // clocks not agreed yet
    this.recent.push(latency);
    if (this.recent.length > WINDOW) this.recent.shift();
    this.lastAt = performance.now();
    this.onReading();
  }

  private context(w: number, h: number): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null {
    if (!this.canvas || this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : Object.assign(document.createElement('canvas'), { width: w, height: h });
      this.ctx2d = this.canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    }
    return this.ctx2d;
  }
}
