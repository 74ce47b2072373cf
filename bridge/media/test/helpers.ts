// Shared by the media tests: a real HTTP server on an ephemeral loopback port, FFmpeg one-shots,
// a check that a process is gone, and a plain MediaMTX to publish to. Waiting is common/wait.ts's.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../common/wait.ts';
import { freePort } from '../../../scripts/stack.ts';

export async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Runs FFmpeg once in its own process group with `input` on stdin; resolves with stdout. */
export function ffmpegOnce(args: string[], input?: Buffer, timeoutMs = 15_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ffmpeg exited ${code}: ${err}`));
    });
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

export function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Parses multipart/x-mixed-replace parts by their Content-Length. */
export class MultipartReader {
  private buf = Buffer.alloc(0);
  readonly parts: Buffer[] = [];
  constructor(private readonly boundary: string) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const head = this.buf.subarray(0, headEnd).toString('latin1');
      if (!head.startsWith(`--${this.boundary}\r\n`)) throw new Error(`bad part head: ${JSON.stringify(head.slice(0, 80))}`);
      const m = /Content-Length: (\d+)/i.exec(head);
      if (!m) throw new Error('part without Content-Length');
      const len = Number(m[1]);
      const end = headEnd + 4 + len + 2;
      if (this.buf.length < end) return;
      this.parts.push(Buffer.from(this.buf.subarray(headEnd + 4, headEnd + 4 + len)));
      if (this.buf.subarray(end - 2, end).toString('latin1') !== '\r\n') throw new Error('part not followed by CRLF');
      this.buf = this.buf.subarray(end);
    }
  }
}

/**
 * MediaMTX with RTSP only on a free loopback port, anyone may publish and read (the media tests
 * publish to it and read back). stop() kills its group and removes its config.
 */
export async function startPlainMediamtx(): Promise<{ port: number; url: (path: string) => string; stop: () => void }> {
  const bin = execFileSync('bash', ['scripts/build-mediamtx.sh'], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const dir = mkdtempSync(join(tmpdir(), 'havatar-mtx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'mediamtx.yml'), [
    'logLevel: warn', 'rtsp: yes', `rtspAddress: 127.0.0.1:${port}`, 'rtspTransports: [tcp]',
    'rtmp: no', 'hls: no', 'webrtc: no', 'srt: no', 'moq: no', 'api: no', 'metrics: no', 'pprof: no', 'playback: no',
    'authInternalUsers:', '  - user: any', '    pass:', '    ips: []', '    permissions:', '      - action: publish', '      - action: read',
    'paths:', '  all_others:', '',
  ].join('\n'));
  const server = spawn(bin, [join(dir, 'mediamtx.yml')], { detached: true, stdio: 'ignore' });
  const stop = () => { try { process.kill(-server.pid!, 'SIGKILL'); } catch { /* gone */ } rmSync(dir, { recursive: true, force: true }); };
  try {
    await waitFor(`MediaMTX listening on ${port}`, () => new Promise<true>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', reject);
    }), undefined, { timeoutMs: 5000 });
  } catch (err) { stop(); throw err; }
  return { port, url: (path) => `rtsp://127.0.0.1:${port}/${path}`, stop };
}
