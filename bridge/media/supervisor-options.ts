// FfmpegSupervisor's options and what each defaults to, resolved once at construction.

import type { Logger } from '../../common/log.ts';
import { FFMPEG_BIN } from './ffmpeg-args.ts';

export interface SupervisorOptions {
  /** Shown in logs and status. */
  name: string;
  /** Defaults to FFmpeg. */
  command?: string;
  /** Called before every (re)start: sources may hand out fresh arguments (a new file, a new port). */
  args: () => string[];
  /** Pipe stdin (sources that feed frames, speakers that take PCM); otherwise it is closed. */
  stdin?: boolean;
  /**
   * Extra input pipes after stderr (fd 3, 4, …: FFmpeg's `pipe:3`), for a second fed input such as
   * the microphone's PCM beside video on stdin. Reach them as `child.stdio[3]` in 'spawn'.
   */
  extraPipes?: number;
  /** Parse stdout as `-progress` key=value blocks and emit 'progress' instead of 'data'. */
  progress?: boolean;
  /** Kill and restart when stdout is silent this long; 0 disables (children that may be idle). */
  stallMs?: number;
  /**
   * Before the first output, allow this long instead of stallMs (a network publisher connects and
   * authenticates before it reports anything). Defaults to stallMs.
   */
  firstOutputMs?: number;
  /** Restart after exit; false: run once (state ends 'stopped' on exit 0, else 'failed'). */
  restart?: boolean;
  /** First restart pause, doubled after each quick failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run this long resets the pause to minBackoffMs. */
  healthyAfterMs?: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs?: number;
  logger?: Logger;
}

export const DEFAULT_STALL_MS = 2000;
export const DEFAULT_MIN_BACKOFF_MS = 250;
export const DEFAULT_MAX_BACKOFF_MS = 10_000;
export const DEFAULT_HEALTHY_AFTER_MS = 10_000;
export const DEFAULT_STOP_GRACE_MS = 2000;

export type ResolvedOptions = Required<Omit<SupervisorOptions, 'logger' | 'command'>> & { command: string };

export function withDefaults(options: SupervisorOptions): ResolvedOptions {
  return {
    name: options.name,
    command: options.command ?? FFMPEG_BIN,
    args: options.args,
    stdin: options.stdin ?? false,
    extraPipes: options.extraPipes ?? 0,
    progress: options.progress ?? false,
    stallMs: options.stallMs ?? DEFAULT_STALL_MS,
    firstOutputMs: options.firstOutputMs ?? options.stallMs ?? DEFAULT_STALL_MS,
    restart: options.restart ?? true,
    minBackoffMs: options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    healthyAfterMs: options.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS,
    stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
  };
}
