// The publisher's measured video bitrate. FFmpeg's -progress reports `bitrate=N/A` and
// `total_size=N/A` for RTSP output (the RTSP muxer has no byte counter), so the encoder's own
// per-frame sizes are read instead: `-vstats_file` pointed at a FIFO. FFmpeg opens that path with
// fopen(), which cannot open the socket pairs Node uses for stdio, hence a named pipe. The reader
// holds it open read-write and non-blocking, so FFmpeg's open never blocks, no EOF arrives when an
// FFmpeg run ends, and one reader serves every restart.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, openSync, readdirSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';

const WINDOW_MS = 2000;
const PREFIX = 'havatar-vstats-';

/**
 * Removes the FIFOs of bridges that are gone (a SIGKILLed bridge cannot remove its own), so they
 * do not pile up in /tmp. A FIFO is named after its bridge's pid; one whose pid runs is kept.
 */
export function sweepStaleFifos(dir = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return removed; }
  for (const name of names) {
    const pid = name.startsWith(PREFIX) ? Number(/^havatar-vstats-(\d+)-[0-9a-f]+$/.exec(name)?.[1]) : 0;
    if (!pid || pidRuns(pid)) continue;
    try { unlinkSync(join(dir, name)); removed.push(name); } catch { /* another bridge swept it */ }
  }
  return removed;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // runs, as someone else
  }
}

export class VideoStats {
  private sock: Socket | null = null;
  private partial = '';
  private samples: { at: number; bytes: number }[] = [];

  private constructor(readonly path: string) {}

  /** A FIFO and its reader, or null where mkfifo is missing (bitrate is then reported as 0). */
  static open(log: Logger): VideoStats | null {
    const swept = sweepStaleFifos();
    if (swept.length) log.info('removed video stats pipes of bridges that are gone', { count: swept.length });
    const path = join(tmpdir(), `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
      const v = new VideoStats(path);
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      v.sock = new Socket({ fd, readable: true, writable: false });
      v.sock.on('data', (chunk: Buffer) => v.onData(chunk));
      v.sock.on('error', (err) => log.warn('video stats pipe', { err }));
      return v;
    } catch (err) {
      log.warn('no video bitrate measurement (mkfifo failed)', { err });
      try { unlinkSync(path); } catch { /* never made */ }
      return null;
    }
  }

  /** Encoded video bitrate over the last 2 s, in kbit/s. */
  kbps(now = Date.now()): number {
    this.samples = this.samples.filter((s) => now - s.at <= WINDOW_MS);
    if (this.samples.length < 2) return 0;
    const bytes = this.samples.reduce((a, s) => a + s.bytes, 0);
    const span = Math.max(500, now - this.samples[0]!.at);
    return (bytes * 8) / span;
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
    try { unlinkSync(this.path); } catch { /* gone */ }
  }

  private onData(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = (lines.pop() ?? '').slice(-500);
    const at = Date.now();
    for (const line of lines) {
      const m = /f_size=\s*(\d+)/.exec(line);
      if (m) this.samples.push({ at, bytes: Number(m[1]) });
    }
    if (this.samples.length > 600) this.samples.splice(0, this.samples.length - 600);
  }
}
