// The robot's CPU per video path: milliseconds of CPU per second of video spent by the FFmpeg the
// bridge runs for that path (utime+stime from /proc/<pid>/stat), at 1280x720@30 and 640x480@30.
//   camera H.264 → publish     the camera's own H.264 copied into RTP (no decode, no encode)
//   raw → libx264 publish      the encode every robot ran before (raw frames in)
//   camera MJPEG → libx264     a USB MJPEG camera in server mode: JPEG decode + x264
//   camera MJPEG → local       the camera's JPEGs passed through to local viewers
//   raw → local MJPEG          JPEG encode of raw frames
//   camera H.264 → local MJPEG H.264 decode + JPEG encode (local viewers of an H.264-only camera)
// Each path's FFmpeg gets its arguments from bridge/media/ffmpeg-args.ts, as the bridge builds
// them, and reads the simulator's camera kinds (bridge/hardware/camera-source.ts); the camera's
// own encoder (the simulator's "camera" FFmpeg) and the frame generator are not counted: on a
// robot they are the camera's hardware. Publishing goes to a UDP port here that drops the packets.
// The Pi 4 / Pi 5 estimate scales each figure by how much slower a Pi core is, from published
// single-core figures of a benchmark run here too (sysbench, see PUBLISHED_SYSBENCH).
// node --import tsx bench/video-paths.ts [--seconds 6]
import { execFile, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { setLogLevel, createLogger } from '../common/log.ts';
import { DEFAULT_CONFIG, type Config } from '../bridge/config/schema.ts';
import { createCameraSource } from '../bridge/hardware/camera-source.ts';
import { EncodedCamera } from '../bridge/hardware/encoded-camera.ts';
import type { VideoSource } from '../bridge/hardware/types.ts';
import { FFMPEG_BIN, lowDelayInput, mjpegArgs, publishVideoArgs, type H264Encoder } from '../bridge/media/ffmpeg-args.ts';
import { JpegSplitter } from '../bridge/media/jpeg-splitter.ts';
import { killGroup, spawnInGroup } from '../bridge/media/process-group.ts';
import { ProgressBlocks } from '../bridge/media/progress-blocks.ts';
import { arg, CLK_TCK, emitResult, machine, onInterrupt, procStat, round1, sleep } from './lib/util.ts';

const SECONDS = Math.min(600, Math.max(3, Number(arg('seconds', '6'))));
const WARMUP_MS = 2000;
setLogLevel('error');

type Camera = 'sim' | 'sim-mjpeg' | 'sim-h264';
interface PathSpec { id: string; label: string; camera: Camera; out: 'publish' | 'local'; encoder?: H264Encoder | 'copy' }
const PATHS: PathSpec[] = [
  { id: 'h264-copy', label: 'camera H.264 → publish (copy)', camera: 'sim-h264', out: 'publish', encoder: 'copy' },
  { id: 'raw-x264', label: 'raw → libx264 publish', camera: 'sim', out: 'publish', encoder: 'libx264' },
  { id: 'mjpeg-x264', label: 'camera MJPEG → libx264 publish (JPEG decode + x264)', camera: 'sim-mjpeg', out: 'publish', encoder: 'libx264' },
  { id: 'mjpeg-copy', label: 'camera MJPEG → local (passthrough)', camera: 'sim-mjpeg', out: 'local' },
  { id: 'raw-mjpeg', label: 'raw → local MJPEG encode', camera: 'sim', out: 'local' },
  { id: 'h264-mjpeg', label: 'camera H.264 → local MJPEG (H.264 decode + JPEG encode)', camera: 'sim-h264', out: 'local' },
];
const SIZES = [{ width: 1280, height: 720 }, { width: 640, height: 480 }];
const FPS = 30;

/** cpuMsPerS: ms of CPU per second of 30 fps video; corePct the same as a share of one core; fps: what came out. */
export interface PathResult { id: string; label: string; size: string; cpuMsPerS: number; corePct: number; fps: number; ffmpegArgs: string }

let current: { child: ChildProcess; stop: () => void } | null = null;
onInterrupt(async () => { current?.stop(); });

async function measure(spec: PathSpec, size: { width: number; height: number }): Promise<PathResult> {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.camera = { device: spec.camera, ...size, fps: FPS };
  const { source } = await createCameraSource(config, null, createLogger('bench'));
  const rtp = dgram.createSocket('udp4');
  const rtcp = dgram.createSocket('udp4');
  await Promise.all([rtp, rtcp].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', r))));
  let frames = 0;
  let args: string[];
  // As the bridge reads it: the publisher with its low-delay input and the tap's wall-clock stamps.
  const tapped: VideoSource = { info: source.info, ffmpegInput: () => [...lowDelayInput(), '-use_wallclock_as_timestamps', '1', ...source.ffmpegInput()] };
  if (spec.out === 'publish') {
    args = publishVideoArgs({ video: tapped, to: { rtp: rtp.address().port, rtcp: rtcp.address().port }, encoder: spec.encoder!, fps: FPS, fit: size });
  } else {
    args = mjpegArgs(source, { copy: source.info.format === 'mjpeg' });
  }
  const child = spawnInGroup(FFMPEG_BIN, args, { stdin: true, extraPipes: 0 });
  child.stderr!.resume();
  if (spec.out === 'publish') {
    const progress = new ProgressBlocks((b) => { frames = Number(b.frame ?? frames); });
    child.stdout!.on('data', (c: Buffer) => progress.push(c));
  } else {
    const splitter = new JpegSplitter(() => { frames++; });
    child.stdout!.on('data', (c: Buffer) => splitter.push(c));
  }
  const stopFeed = source.feed!(child.stdin!);
  const stop = () => { stopFeed(); killGroup(child, 'SIGKILL'); rtp.close(); rtcp.close(); };
  current = { child, stop };
  try {
    await sleep(WARMUP_MS);
    const a = procStat(child.pid!);
    const f0 = frames;
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const b = procStat(child.pid!);
    const dt = (performance.now() - t0) / 1000;
    if (!a || !b) throw new Error(`${spec.id} ${size.width}x${size.height}: FFmpeg exited (${args.join(' ')})`);
    const cpuMs = ((b.cpuTicks - a.cpuTicks) * 1000) / CLK_TCK;
    // Per second of VIDEO (frames out / 30), not of wall time: on a busy machine the simulated
    // camera may deliver fewer than 30 frames a second, and each path's cost is per frame.
    const videoSeconds = (frames - f0) / FPS;
    if (videoSeconds <= 0) throw new Error(`${spec.id} ${size.width}x${size.height}: no frames out`);
    return {
      id: spec.id, label: spec.label, size: `${size.width}x${size.height}@${FPS}`,
      cpuMsPerS: Math.round(cpuMs / videoSeconds), corePct: round1((cpuMs / videoSeconds / 1000) * 100), fps: round1((frames - f0) / dt),
      ffmpegArgs: args.slice(args.indexOf('-i') + 2).join(' '),
    };
  } finally {
    stop();
    current = null;
    if (source instanceof EncodedCamera) await source.close();
  }
}

/**
 * Published single-core figures for the same command, `sysbench cpu --threads=1 run` (sysbench
 * 1.0.20, primes up to 10000): Raspberry Pi 4 1477.83 and Pi 5 2737.49 events/s,
 * https://leoncode.co.uk/articles/raspberry-pi-benchmarks. A Pi core does the work of this
 * machine's core in (ours / theirs) times the CPU time: the on-paper factor for each path.
 */
export const PUBLISHED_SYSBENCH = { pi4: 1477.83, pi5: 2737.49, source: 'https://leoncode.co.uk/articles/raspberry-pi-benchmarks' };

/**
 * This machine's sysbench events per second of ITS OWN CPU time (not wall time: the machine may be
 * shared); the shell's cutime/cstime (fields 16-17 of /proc/<sh>/stat) hold the waited-for child's.
 * Null without sysbench.
 */
function sysbenchPerCpuSecond(): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', 'sysbench cpu --threads=1 --time=5 run && cat /proc/$$/stat'], { timeout: 30_000 }, (err, stdout) => {
      const events = Number(/total number of events:\s+(\d+)/.exec(stdout)?.[1]);
      const stat = stdout.trim().split('\n').at(-1) ?? '';
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuS = (Number(f[13]) + Number(f[14])) / CLK_TCK;
      resolve(err || !(events > 0 && cpuS > 0) ? null : Math.round(events / cpuS));
    });
  });
}

const m = machine();
const sysbench = await sysbenchPerCpuSecond();
const results: PathResult[] = [];
for (const size of SIZES) {
  for (const spec of PATHS) {
    const r = await measure(spec, size);
    console.error(`${r.size} ${r.label}: ${r.cpuMsPerS} ms CPU per s of video (${r.corePct} % of a core), ${r.fps} fps out`);
    results.push(r);
  }
}
const factors = sysbench ? { pi4: round1(sysbench / PUBLISHED_SYSBENCH.pi4), pi5: round1(sysbench / PUBLISHED_SYSBENCH.pi5) } : null;
emitResult({ bench: 'video-paths', seconds: SECONDS, machine: m, loadAfter: machine().load, results, sysbench: { thisMachinePerCpuSecond: sysbench, ...PUBLISHED_SYSBENCH, factors } });
