// Server mode's push-to-talk: the driver's app publishes its microphone over WHIP to
// `robots/<stream_key>/talk`; on `talk start` (which the app sends through the relay BEFORE it
// publishes) the robot reads that path over RTSP with its own credentials and plays it on the
// speaker sink (media/ffmpeg-args.ts rtspTalkArgs). The path usually does not exist yet at that
// moment, so the reader retries every TALK_RETRY_MS and gives up after TALK_GIVE_UP_MS without
// audio. `flowing` turns true once FFmpeg's -progress shows audio time advancing — that, not talk
// start, is when talk_state says 'playing'. When the publisher stops, MediaMTX ends the read and
// FFmpeg exits: that is the stream's end.
//
// Events: 'flowing' (), 'ended' (reason: 'stream_end' | 'gave_up' | 'failed').

import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log.ts';
import { Timers } from '../../common/state-machine.ts';
import type { SpeakerSink } from '../hardware/types.ts';
import { rtspTalkArgs } from '../media/ffmpeg-args.ts';
import { FfmpegSupervisor } from '../media/supervisor.ts';

export const TALK_RETRY_MS = 250;
export const TALK_GIVE_UP_MS = 5000;
/** Audio time stalled this long while flowing: the stream is gone even if FFmpeg hangs on. */
const TALK_STALL_MS = 2000;

export type TalkEnd = 'stream_end' | 'gave_up' | 'failed';

export interface TalkPlayerOptions {
  sink: SpeakerSink;
  /** The talk URL with credentials (FFmpeg only). */
  url: () => string;
  log: Logger;
  giveUpMs?: number;
}

export class TalkPlayer extends EventEmitter {
  private readonly supervisor: FfmpegSupervisor;
  private wanted = false;
  private flowingNow = false;
  private outTimeUs = 0;
  /** The give-up deadline ('give-up'); the retry pauses are the supervisor's. */
  private readonly timers = new Timers();

  constructor(private readonly opts: TalkPlayerOptions) {
    super();
    this.supervisor = new FfmpegSupervisor({
      name: 'talk',
      logger: opts.log,
      progress: true,
      stallMs: TALK_STALL_MS,
      // Retry quickly (and at a steady pace) while the app's WHIP publish is coming up.
      minBackoffMs: TALK_RETRY_MS,
      maxBackoffMs: TALK_RETRY_MS * 2,
      args: () => rtspTalkArgs(opts.url(), opts.sink),
    });
    this.supervisor.on('spawn', () => { this.outTimeUs = 0; });
    this.supervisor.on('progress', (p: Record<string, string>) => {
      const t = Number(p.out_time_us ?? p.out_time_ms ?? 0);
      if (Number.isFinite(t) && t > this.outTimeUs) {
        this.outTimeUs = t;
        if (!this.flowingNow && this.wanted) {
          this.flowingNow = true;
          this.timers.clear('give-up');
          this.opts.log.info('talk audio flowing');
          this.emit('flowing');
        }
      }
    });
    this.supervisor.on('exit', () => {
      if (!this.wanted || !this.flowingNow) return; // not yet published: the supervisor retries
      this.finish('stream_end');
    });
    this.supervisor.on('status', (st: { state: string }) => {
      if (this.wanted && st.state === 'failed') this.finish('failed');
    });
  }

  get flowing(): boolean { return this.flowingNow; }
  get active(): boolean { return this.wanted; }
  get lastError(): string | null { return this.supervisor.status.lastError; }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.flowingNow = false;
    this.supervisor.start();
    this.timers.after(this.opts.giveUpMs ?? TALK_GIVE_UP_MS, () => {
      if (this.wanted && !this.flowingNow) {
        this.opts.log.warn('talk stream never arrived; giving up', { afterMs: this.opts.giveUpMs ?? TALK_GIVE_UP_MS, lastError: this.supervisor.status.lastError });
        this.finish('gave_up');
      }
    }, 'give-up');
  }

  /** Talk stop: ends playback now. */
  stop(): void {
    if (!this.wanted) return;
    this.wanted = false;
    this.flowingNow = false;
    this.timers.clearAll();
    void this.supervisor.stop();
  }

  async close(): Promise<void> {
    this.stop();
    await this.supervisor.stop();
  }

  private finish(reason: TalkEnd): void {
    this.stop();
    this.emit('ended', reason);
  }
}
