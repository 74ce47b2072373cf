// Stage probes at MediaMTX's egress: an FFmpeg RTSP reader with no buffering of its own, timed on
// arrival in Node. They split "robot → MediaMTX" from "MediaMTX → browser" in the latency benches.
//   video: the capture-time strip decoded from each frame (only the strip's rows are converted);
//   audio: the simulated microphone's marker onsets (bursts at every wall-clock second).
import { spawn, type ChildProcess } from 'node:child_process';
import { FFMPEG_BIN, rtspTalkArgs } from '../../bridge/media/ffmpeg-args.ts';
import { decodeStripFromLuma, stripHeight } from '../../protocol/timestamp-strip.ts';
import { killGroup } from '../../scripts/stack.ts';

/** Reader flags: no probing, no reorder buffer, single-threaded decode (frame threads hold frames). */
const READER_IN = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-fflags', 'nobuffer', '-flags', 'low_delay', '-threads', '1', '-probesize', '32', '-analyzeduration', '0'];

export interface Probe { stop(): number[]; child: ChildProcess }

/** Latency (ms) of each decoded video frame at the reader: arrival − capture time in the strip. */
export function probeVideo(url: string, width: number, opts: { skipMs?: number } = {}): Probe {
  const h = stripHeight(width);
  const frameBytes = width * h;
  const child = spawn(FFMPEG_BIN, [...READER_IN, '-allowed_media_types', 'video', '-i', url, '-map', '0:v:0', '-vf', `crop=${width}:${h}:0:0,format=gray`, '-f', 'rawvideo', '-flush_packets', '1', 'pipe:1'],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const out: number[] = [];
  let pending: Buffer = Buffer.alloc(0);
  const start = Date.now();
  child.stdout!.on('data', (d: Buffer) => {
    const now = Date.now();
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    while (pending.length >= frameBytes) {
      const f = pending.subarray(0, frameBytes);
      pending = pending.subarray(frameBytes);
      if (now - start < (opts.skipMs ?? 1000)) continue;
      const r = decodeStripFromLuma((x, y) => f[Math.min(h - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))]!, width, h, now);
      if (r) out.push(now - r.captureMs);
    }
  });
  return { child, stop: () => { killGroup(child, 'SIGKILL'); return out; } };
}

/** Onset detector over s16le mono 16 kHz chunks timed on arrival (a burst after ≥ 300 ms of quiet). */
export function pcmOnsets(onOnset: (wallMs: number) => void): (pcm: Buffer, arrival: number) => void {
  let quiet = 1e9;
  return (pcm, arrival) => {
    for (let i = 0; i + 1 < pcm.length; i += 2) {
      if (Math.abs(pcm.readInt16LE(i)) / 32768 > 0.15) {
        if (quiet > 16000 * 0.3) onOnset(arrival + (i / 2) / 16);
        quiet = 0;
      } else quiet++;
    }
  };
}

/** Wall-clock times (ms) of the marker's onsets in the stream's audio at the reader. */
export function probeAudio(url: string, opts: { skipMs?: number } = {}): Probe {
  const child = spawn(FFMPEG_BIN, [...READER_IN, '-allowed_media_types', 'audio', '-i', url, '-map', '0:a:0', '-c:a', 'pcm_s16le', '-ar', '16000', '-ac', '1', '-f', 's16le', '-flush_packets', '1', 'pipe:1'],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const onsets: number[] = [];
  const detect = pcmOnsets((t) => onsets.push(t));
  const start = Date.now();
  child.stdout!.on('data', (d: Buffer) => { const now = Date.now(); if (now - start > (opts.skipMs ?? 1200)) detect(d, now); });
  return { child, stop: () => { killGroup(child, 'SIGKILL'); return onsets; } };
}

/**
 * The robot's own talk reader (bridge/media/ffmpeg-args.ts rtspTalkArgs) with a speaker sink that
 * writes PCM to a pipe, timed on arrival (a speaker with no buffer of its own): onsets of the app's
 * talk marker at the robot. `wrap` runs it elsewhere (e.g. inside the robot's network namespace).
 * PCM comes on fd 3: the talk arguments write -progress to stdout (the robot's supervisor reads it).
 */
export function talkReader(url: string, opts: { skipMs?: number; wrap?: (cmd: string, args: string[]) => [string, string[]]; onPcm?: (d: Buffer) => void } = {}): Probe & { stderrTail(): string } {
  const args = rtspTalkArgs(url, { info: { kind: 'sim', device: 'pipe' }, ffmpegOutput: () => ['-c:a', 'pcm_s16le', '-ar', '16000', '-ac', '1', '-f', 's16le', '-flush_packets', '1', 'pipe:3'] });
  const [cmd, argv] = opts.wrap ? opts.wrap(FFMPEG_BIN, args) : [FFMPEG_BIN, args];
  const child = spawn(cmd, argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const onsets: number[] = [];
  const detect = pcmOnsets((t) => onsets.push(t));
  let first = 0;
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    const now = Date.now();
    if (!first) first = now;
    if (now - first > (opts.skipMs ?? 1200)) detect(d, now);
    opts.onPcm?.(d);
  });
  return { child, stop: () => { killGroup(child, 'SIGKILL'); return onsets; }, stderrTail: () => err.trim().slice(-300) };
}

/** Latency of each onset relative to the whole second before it; onsets ≥ 900 ms late are dropped as unassignable. */
export function markerLatencies(onsets: number[]): { ms: number[]; dropped: number } {
  const ms: number[] = [];
  let dropped = 0;
  for (const t of onsets) {
    const l = t - Math.floor(t / 1000) * 1000;
    if (l < 900) ms.push(l); else dropped++;
  }
  return { ms, dropped };
}
