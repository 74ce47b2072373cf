// The local video stream (`GET /video`): one FFmpeg capture shared by every viewer, served as
// multipart/x-mixed-replace JPEG parts.
//
// Lifecycle choice: the capture starts with the first viewer and stops IDLE_STOP_MS after the last
// one leaves. An idle robot then costs no encode CPU (FFmpeg ~8 % of a core, plus the simulator's
// generator), and the grace period spans a page reload or a viewer switching networks, so those
// do not pay FFmpeg's start-up again.
//
// Slow viewers: a frame is written to a viewer only while less than maxQueuedBytes of earlier
// frames are still waiting in its socket; otherwise that viewer skips the frame. Each viewer's
// queue is therefore bounded (maxQueuedBytes + one frame) and a slow phone sees a lower frame rate,
// never a growing delay.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, type Logger } from '../../common/log.ts';
import type { VideoSource } from '../hardware/types.ts';
import { mjpegArgs, type MjpegOptions } from './ffmpeg-args.ts';
import { frameGarbage } from './frame-garbage.ts';
import { JpegSplitter } from './jpeg-splitter.ts';
import { FfmpegSupervisor, type SupervisorOptions, type SupervisorStatus } from './supervisor.ts';

export const MJPEG_BOUNDARY = 'frame';
export const DEFAULT_IDLE_STOP_MS = 5000;
/** Bytes of earlier frames a viewer may still have queued when the next frame is offered. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
/** Viewers of /video at once; more get 503 (each costs the Pi bandwidth and a socket). */
export const MAX_VIDEO_VIEWERS = 10;
const FPS_WINDOW_MS = 2000;
const CRLF = Buffer.from('\r\n');

export interface MjpegHubOptions {
  source: VideoSource;
  mjpeg?: MjpegOptions;
  idleStopMs?: number;
  maxQueuedBytes?: number;
  maxViewers?: number;
  /** Passed to the capture's supervisor (backoff, stall detection). */
  supervisor?: Partial<Omit<SupervisorOptions, 'args' | 'name' | 'stdin' | 'progress'>>;
  logger?: Logger;
}

export interface ViewerStats {
  id: number;
  /** Bytes waiting in this viewer's socket now. */
  queuedBytes: number;
  /** The most ever queued for this viewer. */
  peakQueuedBytes: number;
  framesSent: number;
  framesDropped: number;
}

export interface MjpegStats {
  /** Frames per second out of FFmpeg over the last 2 s. */
  fps: number;
  viewers: number;
  frames: number;
  bytes: number;
  /** Date.now() of the newest frame, or null before the first. */
  lastFrameAt: number | null;
  width: number;
  height: number;
  capture: SupervisorStatus;
}

type FrameListener = (jpeg: Buffer) => void;

export class MjpegHub {
  private readonly source: VideoSource;
  private readonly supervisor: FfmpegSupervisor;
  private readonly splitter: JpegSplitter;
  private readonly listeners = new Set<FrameListener>();
  private readonly viewers = new Map<number, { res: ServerResponse; stats: ViewerStats }>();
  private readonly idleStopMs: number;
  private readonly maxQueuedBytes: number;
  private readonly maxViewers: number;
  private readonly log: Logger;
  private idleTimer: NodeJS.Timeout | null = null;
  private stopFeed: (() => void) | null = null;
  private nextViewerId = 1;
  private frames = 0;
  private bytes = 0;
  private lastFrameAt: number | null = null;
  private recent: number[] = [];
  private latest: Buffer | null = null;
  private closed = false;
  private capturing = false;

  constructor(options: MjpegHubOptions) {
    this.source = options.source;
    this.idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.maxViewers = options.maxViewers ?? MAX_VIDEO_VIEWERS;
    this.log = (options.logger ?? createLogger('media')).child('mjpeg');
    this.splitter = new JpegSplitter((jpeg) => this.onFrame(jpeg));
    const mjpeg = options.mjpeg ?? {};
    this.supervisor = new FfmpegSupervisor({
      ...options.supervisor,
      logger: this.log,
      name: 'capture',
      args: () => mjpegArgs(this.source, mjpeg),
      stdin: typeof this.source.feed === 'function',
    });
    this.supervisor.on('spawn', (child: import('node:child_process').ChildProcess) => {
      this.splitter.reset();
      if (this.source.feed && child.stdin) this.stopFeed = this.source.feed(child.stdin);
    });
    this.supervisor.on('exit', () => this.endFeed());
    this.supervisor.on('data', (chunk: Buffer) => this.splitter.push(chunk));
  }

  /** The newest JPEG (for a snapshot endpoint), or null. */
  get latestFrame(): Buffer | null { return this.latest; }

  stats(): MjpegStats {
    const now = Date.now();
    this.recent = this.recent.filter((t) => now - t <= FPS_WINDOW_MS);
    return {
      fps: Math.round((this.recent.length / (FPS_WINDOW_MS / 1000)) * 10) / 10,
      viewers: this.viewers.size,
      frames: this.frames,
      bytes: this.bytes,
      lastFrameAt: this.lastFrameAt,
      width: this.source.info.width,
      height: this.source.info.height,
      capture: this.supervisor.status,
    };
  }

  viewerStats(): ViewerStats[] {
    return [...this.viewers.values()].map(({ res, stats }) => ({ ...stats, queuedBytes: res.writableLength }));
  }

  /**
   * Every JPEG, for in-process consumers (a snapshot, a bench). Counts as a viewer: the capture
   * runs while at least one subscriber or HTTP viewer is attached. Returns the unsubscribe.
   */
  subscribe(listener: FrameListener): () => void {
    if (this.closed) throw new Error('MJPEG hub is closed');
    this.listeners.add(listener);
    this.demandChanged();
    return () => {
      if (this.listeners.delete(listener)) this.demandChanged();
    };
  }

  /** Serves one viewer until it disconnects. Auth and routing are the caller's job. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.viewers.size >= this.maxViewers) {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
      res.end(JSON.stringify({ ok: false, msg: this.closed ? 'video is shutting down' : `too many video viewers (max ${this.maxViewers})` }));
      return;
    }
    const id = this.nextViewerId++;
    const stats: ViewerStats = { id, queuedBytes: 0, peakQueuedBytes: 0, framesSent: 0, framesDropped: 0 };
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-cache, no-store, must-revalidate, private',
      Pragma: 'no-cache',
      Connection: 'close',
      'X-Content-Type-Options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    this.viewers.set(id, { res, stats });
    this.log.info('viewer joined', { viewer: id, viewers: this.viewers.size });
    const leave = () => {
      if (!this.viewers.delete(id)) return;
      this.log.info('viewer left', { viewer: id, viewers: this.viewers.size, sent: stats.framesSent, dropped: stats.framesDropped });
      this.demandChanged();
    };
    req.once('close', leave);
    res.once('close', leave);
    res.once('error', leave);
    this.demandChanged();
  }

  /** Ends every viewer and stops the capture; resolves when FFmpeg is gone. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const { res } of this.viewers.values()) res.destroy();
    this.viewers.clear();
    this.listeners.clear();
    await this.supervisor.stop();
    this.endFeed();
  }

  private demandChanged(): void {
    if (this.closed) return;
    const wanted = this.viewers.size + this.listeners.size > 0;
    if (wanted) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = null;
      if (!this.capturing || this.supervisor.status.state === 'failed') {
        this.capturing = true;
        this.log.info('capture start', { source: this.source.info.kind, device: this.source.info.device });
        this.supervisor.start(); // also right while an idle stop is still finishing: it waits for it
      }
    } else if (!this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        this.capturing = false;
        this.log.info('capture stop (no viewers)');
        void this.supervisor.stop(); // its 'exit' ends the feed
      }, this.idleStopMs);
    }
  }

  private onFrame(jpeg: Buffer): void {
    frameGarbage(jpeg.length);
    const now = Date.now();
    this.frames++;
    this.bytes += jpeg.length;
    this.lastFrameAt = now;
    this.latest = jpeg;
    this.recent.push(now);
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    if (this.viewers.size) {
      // One part header per frame, shared by every viewer; header, JPEG and CRLF go out as three
      // writes under one cork (a single writev), so the frame is never copied per viewer.
      const head = Buffer.from(`--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`, 'latin1');
      for (const { res, stats } of this.viewers.values()) {
        const queued = res.writableLength;
        if (queued > stats.peakQueuedBytes) stats.peakQueuedBytes = queued;
        if (queued > this.maxQueuedBytes || res.destroyed) { stats.framesDropped++; continue; }
        res.cork();
        res.write(head);
        res.write(jpeg);
        res.write(CRLF);
        res.uncork();
        stats.framesSent++;
        const after = res.writableLength;
        if (after > stats.peakQueuedBytes) stats.peakQueuedBytes = after;
      }
    }
    for (const listener of this.listeners) listener(jpeg);
  }

  private endFeed(): void {
    this.stopFeed?.();
    this.stopFeed = null;
  }
}
