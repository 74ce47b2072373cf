// The bare floor: nothing of the product in the media path. A minimal Node generator (scrolling
// texture + the capture-time strip, 1280x720@30 yuv420p, paced from its start time, frames dropped
// when FFmpeg's stdin is busy) → FFmpeg with plain flags → either MediaMTX on its own temporary
// config and ports (defaults + loopback ICE + open auth), or a 40-line multipart MJPEG server.
// The method of ../shared/notes/latency.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawStripY } from '../../protocol/timestamp-strip.ts';
import { freePort, killGroup, launchCommand, lineMatching, mediamtxBinary, stopProc, type Proc } from '../../scripts/stack.ts';

export const FLOOR_W = 1280;
export const FLOOR_H = 720;
export const FLOOR_FPS = 30;

/** Feeds raw frames to `stdin` until the returned stop function is called. */
export function startGenerator(stdin: NodeJS.WritableStream & { writableLength: number; destroyed: boolean }): () => void {
  const w = FLOOR_W, h = FLOOR_H;
  const frameBytes = (w * h * 3) / 2;
  const texture = new Uint8Array(w * h * 2);
  let seed = 7;
  for (let i = 0; i < texture.length; i += 8) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; texture.fill(40 + (seed % 180), i, i + 8); }
  const start = Date.now();
  let n = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || stdin.destroyed) return;
    if (stdin.writableLength < frameBytes) {
      const buf = Buffer.allocUnsafe(frameBytes);
      const scroll = (n * 4) % h;
      buf.set(texture.subarray(scroll * w, scroll * w + w * h), 0);
      const bar = (n * 8) % w; // a moving bar
      for (let y = 200; y < 500; y++) buf.fill(235, y * w + bar, y * w + Math.min(w, bar + 24));
      buf.fill(128, w * h);
      drawStripY(buf, w, h, Date.now(), n);
      stdin.write(buf);
    }
    n++;
    const now = Date.now();
    const behind = Math.floor((now - (start + n * (1000 / FLOOR_FPS))) / (1000 / FLOOR_FPS));
    if (behind > 0) n += behind;
    timer = setTimeout(tick, Math.max(0, start + n * (1000 / FLOOR_FPS) - now));
  };
  tick();
  return () => { stopped = true; if (timer) clearTimeout(timer); };
}

// Frames stamped on arrival, not counted: an input -r makes FFmpeg number the frames, so each one
// the generator skips when late puts the stream 33 ms further behind the wall clock, and the
// viewer's jitter buffer grows to match (measured: the floor at 107-174 ms p50 instead of ~30).
const RAW_IN = ['-hide_banner', '-loglevel', 'warning', '-use_wallclock_as_timestamps', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${FLOOR_W}x${FLOOR_H}`, '-framerate', String(FLOOR_FPS), '-i', 'pipe:0'];

function spawnFfmpeg(args: string[]): ChildProcess {
  const c = spawn('ffmpeg', args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  c.stdin!.on('error', () => {});
  c.stderr!.on('data', () => {});
  return c;
}

export interface FloorMediamtx {
  whepUrl: string;
  hlsUrl: string;
  rtspUrl: string;
  apiUrl: string;
  stop(): Promise<void>;
}

/** MediaMTX (own temp config/ports) fed by generator → FFmpeg x264 (the notes' flags) at path `floor`. */
export async function startFloorMediamtx(): Promise<FloorMediamtx> {
  const dir = mkdtempSync(join(tmpdir(), 'havatar-floor-'));
  const [rtsp, webrtc, udp, hls, api] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'mediamtx.yml'), [
    'logLevel: info',
    'rtmp: no', 'srt: no', 'moq: no', 'metrics: no', 'pprof: no', 'playback: no',
    'rtsp: yes', 'rtspTransports: [tcp]', `rtspAddress: 127.0.0.1:${rtsp}`,
    'hls: yes', `hlsAddress: 127.0.0.1:${hls}`, "hlsAllowOrigins: ['*']",
    'webrtc: yes', `webrtcAddress: 127.0.0.1:${webrtc}`, `webrtcLocalUDPAddress: 127.0.0.1:${udp}`, "webrtcAllowOrigins: ['*']",
    'webrtcIPsFromInterfaces: no', 'webrtcAdditionalHosts: [127.0.0.1]',
    'api: yes', `apiAddress: 127.0.0.1:${api}`,
    'authMethod: internal',
    'authInternalUsers:',
    '  - user: any',
    '    pass:',
    '    ips: []',
    '    permissions:',
    '      - action: publish',
    '      - action: read',
    '      - action: api',
    'paths:',
    '  all_others:',
    '',
  ].join('\n'));
  let mtx: Proc | null = null;
  let ff: ChildProcess | null = null;
  let stopGen: (() => void) | null = null;
  const stop = async () => {
    stopGen?.();
    if (ff) { killGroup(ff, 'SIGKILL'); }
    if (mtx) await stopProc(mtx, 1000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    mtx = await launchCommand('floor-mediamtx', mediamtxBinary(), [join(dir, 'mediamtx.yml')], lineMatching(/\[API\] started/), { cwd: dir });
    const rtspUrl = `rtsp://127.0.0.1:${rtsp}/floor`;
    ff = spawnFfmpeg([
      ...RAW_IN, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
      '-bf', '0', '-g', String(FLOOR_FPS), '-b:v', '1500k', '-f', 'rtsp', '-rtsp_transport', 'tcp', '-pkt_size', '1400', rtspUrl,
    ]);
    stopGen = startGenerator(ff.stdin! as never);
    const apiUrl = `http://127.0.0.1:${api}`;
    const end = Date.now() + 10000;
    for (;;) {
      const r = await fetch(`${apiUrl}/v3/paths/get/floor`).catch(() => null);
      if (r?.ok && ((await r.json()) as { ready?: boolean }).ready) break;
      if (Date.now() > end) throw new Error('floor stream never became ready');
      await new Promise((res) => setTimeout(res, 100));
    }
    return { whepUrl: `http://127.0.0.1:${webrtc}/floor/whep`, hlsUrl: `http://127.0.0.1:${hls}/floor/index.m3u8`, rtspUrl, apiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface FloorMjpeg { url: string; origin: string; stop(): Promise<void> }

/** generator → FFmpeg `-c:v mjpeg -q:v 5 -threads 1` → a minimal multipart server (drops, never queues). */
export async function startFloorMjpeg(): Promise<FloorMjpeg> {
  const ff = spawnFfmpeg([...RAW_IN, '-an', '-c:v', 'mjpeg', '-q:v', '5', '-threads', '1', '-f', 'image2pipe', '-flush_packets', '1', 'pipe:1']);
  const stopGen = startGenerator(ff.stdin! as never);
  const viewers = new Set<ServerResponse>();
  let pending: Buffer = Buffer.alloc(0);
  ff.stdout!.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const soi = pending.indexOf(Buffer.from([0xff, 0xd8]));
      if (soi < 0) { pending = Buffer.alloc(0); return; }
      const eoi = pending.indexOf(Buffer.from([0xff, 0xd9]), soi + 2);
      if (eoi < 0) { pending = pending.subarray(soi); return; }
      const jpeg = pending.subarray(soi, eoi + 2);
      pending = pending.subarray(eoi + 2);
      for (const res of viewers) {
        if (res.writableLength > jpeg.length) continue;
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
        res.write(jpeg);
        res.write('\r\n');
      }
    }
  });
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/floor.mjpeg')) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame', 'cache-control': 'no-store' });
    res.socket?.setNoDelay(true);
    viewers.add(res);
    res.on('close', () => viewers.delete(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/floor.mjpeg`,
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      stopGen();
      for (const r of viewers) r.destroy();
      server.close();
      killGroup(ff, 'SIGKILL');
    },
  };
}
