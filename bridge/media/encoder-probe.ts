// Which H.264 encoder the publisher uses when the camera does not deliver H.264 itself: the
// hardware one where FFmpeg has one that works (h264_v4l2m2m on a Pi 4), libx264 otherwise.
//
// "FFmpeg lists the encoder" is not "it works": Debian's FFmpeg lists h264_v4l2m2m on every
// machine, and on a Pi it still fails without the codec device or with a broken driver. So the
// probe is a one-second trial encode. It costs a second of CPU, so its result is kept in the data
// dir and reused while nothing it depends on changed: the FFmpeg binary (path, size, mtime), the
// camera, and the V4L2 memory-to-memory device nodes (/dev/video1x) the hardware encoder needs.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { createLogger, type Logger } from '../../common/log.ts';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { encoderTrialArgs, FFMPEG_BIN, type H264Encoder } from './ffmpeg-args.ts';
import { killGroup } from './process-group.ts';
import { StderrTail } from './stderr-tail.ts';

/** Hardware encoders tried, best first; libx264 is the fallback that needs no probe. */
export const HARDWARE_H264_ENCODERS: readonly H264Encoder[] = ['h264_v4l2m2m'];
/** A trial that has not finished by now counts as failed (a hung driver must not hold the bridge). */
export const TRIAL_TIMEOUT_MS = 8000;
export const PROBE_CACHE_FILE = 'encoder-probe.json';

export interface EncoderChoice {
  encoder: H264Encoder;
  /** Why: which trial passed, or what each failed trial said. */
  reason: string;
  /** ISO time of the trial this choice comes from. */
  probedAt: string;
  /** Taken from the cache (no trial run this start). */
  cached: boolean;
}

export interface ProbeOptions {
  /** The data dir: the result is cached in <dataDir>/encoder-probe.json. */
  dataDir: string;
  /** The camera device in use: another camera is another probe. */
  camera: string;
  ffmpeg?: string;
  candidates?: readonly H264Encoder[];
  timeoutMs?: number;
  log?: Logger;
}

interface CacheRecord { fingerprint: string; choice: Omit<EncoderChoice, 'cached'> }

/** Chooses the encoder: from the cache when the fingerprint matches, else by trial encodes. */
export async function chooseH264Encoder(opts: ProbeOptions): Promise<EncoderChoice> {
  const ffmpeg = opts.ffmpeg ?? FFMPEG_BIN;
  const candidates = opts.candidates ?? HARDWARE_H264_ENCODERS;
  const fingerprint = JSON.stringify({ ffmpeg: binaryIdentity(ffmpeg), camera: opts.camera, m2m: m2mDevices(), candidates });
  const cacheFile = join(opts.dataDir, PROBE_CACHE_FILE);
  const cached = readCache(cacheFile);
  if (cached?.fingerprint === fingerprint) {
    opts.log?.info('H.264 encoder from the probe cache', { encoder: cached.choice.encoder, probedAt: cached.choice.probedAt });
    return { ...cached.choice, cached: true };
  }
  const failures: string[] = [];
  let choice: Omit<EncoderChoice, 'cached'> | null = null;
  for (const encoder of candidates) {
    const trial = await trialEncode(ffmpeg, encoder, opts.timeoutMs ?? TRIAL_TIMEOUT_MS, opts.log);
    if (trial.ok) {
      choice = { encoder, reason: `${encoder} passed a one-second trial encode`, probedAt: new Date().toISOString() };
      break;
    }
    failures.push(`${encoder} failed its trial encode (${trial.detail})`);
  }
  choice ??= {
    encoder: 'libx264',
    reason: failures.length ? `${failures.join('; ')}: software libx264` : 'no hardware encoder to try: software libx264',
    probedAt: new Date().toISOString(),
  };
  opts.log?.info('H.264 encoder chosen', { encoder: choice.encoder, reason: choice.reason });
  // A cache that cannot be written only costs a trial at the next start.
  await writeFileAtomic(cacheFile, JSON.stringify({ fingerprint, choice } satisfies CacheRecord, null, 2) + '\n', 0o644)
    .catch((err: unknown) => opts.log?.warn('encoder probe result not cached', { err }));
  return { ...choice, cached: false };
}

function readCache(file: string): CacheRecord | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as CacheRecord;
    return typeof v.fingerprint === 'string' && typeof v.choice?.encoder === 'string' && typeof v.choice.reason === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The binary FFmpeg will run (PATH resolved, links followed), with its size and mtime. */
function binaryIdentity(bin: string): string {
  const dirs = isAbsolute(bin) || bin.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter);
  for (const dir of dirs) {
    try {
      const path = realpathSync(dir ? join(dir, bin) : bin);
      const st = statSync(path);
      if (st.isFile()) return `${path}:${st.size}:${Math.round(st.mtimeMs)}`;
    } catch { /* not here */ }
  }
  return `${bin}:missing`;
}

/** The V4L2 memory-to-memory codec nodes (the Pi's encoder is /dev/video11). */
function m2mDevices(): string[] {
  try { return readdirSync('/dev').filter((n) => /^video1\d$/.test(n)).sort(); } catch { return []; }
}

/** One trial encode: ok when FFmpeg exits 0 in time; otherwise its last error line. */
export function trialEncode(ffmpeg: string, encoder: H264Encoder, timeoutMs: number, log?: Logger): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(ffmpeg, encoderTrialArgs(encoder), { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const tail = new StderrTail((log ?? createLogger('media')).child('encoder-trial'));
    child.stderr.on('data', (c: Buffer) => tail.push(c));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); resolve({ ok: false, detail: err.message }); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, detail: 'exit 0' });
      else resolve({ ok: false, detail: signal === 'SIGKILL' ? `no result within ${timeoutMs} ms` : (tail.error() ?? `exit ${code}`) });
    });
  });
}
