// A camera that encodes by itself — its own H.264 (a UVC H.264 webcam, the Pi camera through
// rpicam-vid) or the simulator's MJPEG and H.264 kinds — as a VideoSource that FFmpegs read from
// stdin. One producer process owns the device while any reader is attached (the local MJPEG
// capture, the server-mode publisher) and stops with the last; its stream is shared through
// StreamFanout, so the device opens once and nothing is encoded again on its way to a reader that
// takes the camera's format.

import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { Logger } from '../../common/log.ts';
import { frameGarbage } from '../media/frame-garbage.ts';
import { JpegSplitter } from '../media/jpeg-splitter.ts';
import { StreamFanout } from '../media/stream-fanout.ts';
import { FfmpegSupervisor, type SupervisorStatus } from '../media/supervisor.ts';
import type { VideoInfo, VideoSource } from './types.ts';

export interface Producer {
  /** The program (FFmpeg unless said otherwise, e.g. rpicam-vid) and its arguments. */
  command?: string;
  args: () => string[];
  /** A raw source the producer reads on stdin (the simulator's frames into its "camera encoder"). */
  rawInput?: VideoSource;
}

export interface EncodedCameraOptions {
  info: VideoInfo & { format: 'mjpeg' | 'h264' };
  producer: Producer;
  log: Logger;
}

export class EncodedCamera implements VideoSource {
  readonly info: VideoInfo & { format: 'mjpeg' | 'h264' };
  private readonly fanout: StreamFanout;
  private readonly supervisor: FfmpegSupervisor;
  private readonly splitter: JpegSplitter | null;
  private stopRaw: (() => void) | null = null;

  constructor(opts: EncodedCameraOptions) {
    this.info = opts.info;
    const format = opts.info.format;
    this.fanout = new StreamFanout(format);
    this.splitter = format === 'mjpeg' ? new JpegSplitter((jpeg) => this.fanout.push(jpeg)) : null;
    const raw = opts.producer.rawInput;
    this.supervisor = new FfmpegSupervisor({
      name: `camera-${format}`, logger: opts.log, args: opts.producer.args, stdin: Boolean(raw?.feed),
      ...(opts.producer.command ? { command: opts.producer.command } : {}),
    });
    this.supervisor.on('spawn', (child: ChildProcess) => {
      this.fanout.reset();
      this.splitter?.reset();
      if (raw?.feed && child.stdin) this.stopRaw = raw.feed(child.stdin);
    });
    this.supervisor.on('exit', () => { this.stopRaw?.(); this.stopRaw = null; });
    this.supervisor.on('data', (chunk: Buffer) => {
      frameGarbage(chunk.length);
      if (this.splitter) this.splitter.push(chunk);
      else this.fanout.push(chunk);
    });
  }

  /** How a reader's FFmpeg takes this stream: the camera's format on stdin, stamped on arrival. */
  ffmpegInput(): string[] {
    const demuxer = this.info.format === 'h264' ? ['-f', 'h264', '-framerate', String(this.info.fps)] : ['-f', 'mjpeg'];
    return [...demuxer, '-use_wallclock_as_timestamps', '1', '-probesize', '65536', '-analyzeduration', '0', '-i', 'pipe:0'];
  }

  feed(stdin: Writable): () => void {
    const detach = this.fanout.attach(stdin);
    this.supervisor.start(); // no-op while it runs
    return () => {
      detach();
      if (!this.fanout.size) void this.supervisor.stop();
    };
  }

  /** Readers being fed now, and whether the producer runs. */
  get readers(): number { return this.fanout.size; }
  get producerPid(): number | null { return this.supervisor.pid; }
  get status(): SupervisorStatus { return this.supervisor.status; }

  async close(): Promise<void> {
    await this.supervisor.stop();
  }
}
