// Every FFmpeg command line the bridge runs is built here, so the flags that matter for latency
// and compatibility are decided (and tested) in one place. Pure functions: sources and sinks give
// their own input/output arguments (bridge/hardware/types.ts); this file adds codecs and muxers.

import { AUDIO_SAMPLE_RATE } from '../../protocol/limits.ts';
import type { AudioSource, SpeakerSink, VideoSource } from '../hardware/types.ts';

/** The FFmpeg binary; HAVATAR_FFMPEG overrides it (a static build on the Pi, for example). */
export const FFMPEG_BIN = process.env.HAVATAR_FFMPEG || 'ffmpeg';

/** MJPEG quality for the local stream (2 best … 31 worst); 5 keeps 640x480 frames ~30-50 kB. */
export const DEFAULT_MJPEG_QUALITY = 5;
/** Server-mode defaults: 1.5 Mbps at 1280x720@30, Opus mono 32 kbps. */
export const DEFAULT_PUBLISH_VIDEO_KBPS = 1500;
export const DEFAULT_PUBLISH_AUDIO_KBPS = 32;
/** RTP packet size: below MediaMTX's 1440-byte RTP limit, so it never has to remux our packets. */
export const RTSP_PKT_SIZE = 1400;
/** How often `-progress` reports (seconds): the supervisor's stall detector needs it well under 2 s. */
export const PROGRESS_PERIOD_S = 0.5;

/** Quiet, non-interactive; warnings kept for the supervisor's error status. */
export function globalArgs(): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'warning'];
}

/**
 * Low-delay input flags for live sources we read from a pipe or the network. Not `-fflags nobuffer`
 * here: it discards what was read while probing, which for raw PCM on a pipe is the whole start of
 * the talk (measured: 3 frames in, 1 out).
 */
export function lowDelayInput(): string[] {
  return ['-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0'];
}

/** Periodic key=value progress on stdout: the liveness signal for outputs that are not stdout. */
export function progressArgs(): string[] {
  return ['-progress', 'pipe:1', '-stats_period', String(PROGRESS_PERIOD_S), '-nostats'];
}

export interface MjpegOptions {
  /** -q:v, 2-31 (lower is better). */
  quality?: number;
  /**
   * Pass the camera's own JPEGs through without re-encoding (V4L2 cameras delivering MJPEG):
   * saves most of the Pi's CPU, at the cost of the camera's quality setting.
   */
  copy?: boolean;
}

/**
 * Local stream: concatenated JPEGs on stdout (bridge/media/mjpeg.ts splits them).
 * `-threads 1`: the frame-threaded encoder holds 1-2 frames (~60 ms, ../shared/notes/latency.md).
 */
export function mjpegArgs(source: VideoSource, opts: MjpegOptions = {}): string[] {
  const quality = opts.quality ?? DEFAULT_MJPEG_QUALITY;
  if (!Number.isInteger(quality) || quality < 2 || quality > 31) throw new RangeError(`MJPEG quality must be an integer in 2..31, got ${quality}`);
  const codec = opts.copy ? ['-c:v', 'copy'] : ['-c:v', 'mjpeg', '-q:v', String(quality), '-threads', '1'];
  return [...globalArgs(), ...source.ffmpegInput(), '-an', ...codec, '-f', 'image2pipe', '-flush_packets', '1', 'pipe:1'];
}

/** PCM format shared by the microphone, push-to-talk and the WebSocket (protocol/audio.ts). */
export function pcmFormat(): string[] {
  return ['-f', 's16le', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '1'];
}

/** Microphone → raw PCM s16le 16 kHz mono on stdout. */
export function micCaptureArgs(source: AudioSource): string[] {
  return [...globalArgs(), ...source.ffmpegInput(), '-vn', '-c:a', 'pcm_s16le', ...pcmFormat(), '-flush_packets', '1', 'pipe:1'];
}

/** Push-to-talk: raw PCM s16le 16 kHz mono on stdin → the speaker. */
export function speakerPlaybackArgs(sink: SpeakerSink): string[] {
  return [...globalArgs(), ...lowDelayInput(), ...pcmFormat(), '-i', 'pipe:0', ...sink.ffmpegOutput()];
}

/** Text-to-speech: espeak-ng's WAV on stdin → the speaker. */
export function ttsPlaybackArgs(sink: SpeakerSink): string[] {
  return [...globalArgs(), '-f', 'wav', '-i', 'pipe:0', ...sink.ffmpegOutput()];
}

/** Loopback UDP ports an encoder sends RTP and RTCP to (bridge/server-mode/rtsp-push.ts listens). */
export interface RtpTarget { rtp: number; rtcp: number }

/** RTP payload types of the published tracks, and the SDP media sections announced for them. */
export const RTP_VIDEO_PT = 96;
export const RTP_AUDIO_PT = 97;
export const PUBLISH_SDP = {
  video: `m=video 0 RTP/AVP ${RTP_VIDEO_PT}\na=rtpmap:${RTP_VIDEO_PT} H264/90000\na=fmtp:${RTP_VIDEO_PT} packetization-mode=1`,
  audio: `m=audio 0 RTP/AVP ${RTP_AUDIO_PT}\na=rtpmap:${RTP_AUDIO_PT} opus/48000/2\na=fmtp:${RTP_AUDIO_PT} sprop-stereo=0`,
};

/** H.264 encoders the publisher may use: the Pi's hardware one (V4L2 M2M) or x264 in software. */
export type H264Encoder = 'h264_v4l2m2m' | 'libx264';

export interface PublishVideoOptions {
  video: VideoSource;
  to: RtpTarget;
  /**
   * 'copy': the source already is H.264 (the camera's own) and is sent as it comes — no decode,
   * no encode, so fit, fps and the bitrate are the camera's. Defaults to libx264.
   */
  encoder?: H264Encoder | 'copy';
  videoKbps?: number;
  /**
   * Largest picture sent: a bigger capture is scaled down to fit (aspect kept, never scaled up,
   * even sizes for yuv420p). Omit to send the capture's size.
   */
  fit?: { width: number; height: number };
  /** Output frame rate when lower than the capture's (frames dropped evenly). */
  fps?: number;
  /**
   * Per-frame encoder stats to this path (a FIFO the bridge reads): -progress has no byte count
   * for RTP output, so the bitrate is measured from these frame sizes.
   */
  vstatsFile?: string;
}

function rtpUrl(to: RtpTarget): string {
  for (const p of [to.rtp, to.rtcp]) if (!(Number.isInteger(p) && p > 0 && p < 65536)) throw new RangeError(`RTP port must be 1..65535, got ${p}`);
  return `rtp://127.0.0.1:${to.rtp}?rtcpport=${to.rtcp}&pkt_size=${RTSP_PKT_SIZE}`;
}

/**
 * Server mode, video: H.264 as RTP to the bridge's loopback port, which publishes it to
 * MediaMTX (rtsp-push.ts). Audio is a separate FFmpeg (publishAudioArgs): one FFmpeg with two live
 * inputs holds each stream back for the other (docs/PERFORMANCE.md). Baseline, no B-frames, a
 * keyframe every second (MediaMTX cannot ask for one, so a new WHEP viewer waits at most 1 s),
 * bitrate capped with a half-second buffer. Progress on stdout for the supervisor's stall detector.
 */
export function publishVideoArgs(opts: PublishVideoOptions): string[] {
  const inFps = opts.video.info.fps;
  if (opts.fps !== undefined && !(Number.isInteger(opts.fps) && opts.fps >= 1 && opts.fps <= 60)) throw new RangeError(`publish fps must be an integer in 1..60, got ${opts.fps}`);
  const fps = opts.fps !== undefined && opts.fps < inFps ? opts.fps : inFps;
  const fit = opts.fit;
  if (fit && !(Number.isInteger(fit.width) && Number.isInteger(fit.height) && fit.width >= 16 && fit.height >= 16 && fit.width <= 3840 && fit.height <= 2160)) {
    throw new RangeError(`publish size must be within 16x16..3840x2160, got ${fit.width}x${fit.height}`);
  }
  const needsScale = fit && (opts.video.info.width > fit.width || opts.video.info.height > fit.height);
  const filters = needsScale
    ? ['-vf', `scale=w=${fit.width}:h=${fit.height}:force_original_aspect_ratio=decrease:force_divisible_by=2`]
    : [];
  const rate = fps !== inFps ? ['-r', String(fps)] : [];
  const kbps = opts.videoKbps ?? DEFAULT_PUBLISH_VIDEO_KBPS;
  if (!(kbps >= 100 && kbps <= 20000)) throw new RangeError(`video bitrate must be 100..20000 kbps, got ${kbps}`);
  const vstats = opts.vstatsFile ? ['-vstats_file', opts.vstatsFile] : [];
  const out = [...progressArgs(), ...vstats, '-f', 'rtp', '-payload_type', String(RTP_VIDEO_PT), rtpUrl(opts.to)];
  const encoder = opts.encoder ?? 'libx264';
  if (encoder === 'copy') return [...globalArgs(), ...opts.video.ffmpegInput(), '-map', '0:v:0', '-c:v', 'copy', ...out];
  // The Pi's V4L2 M2M encoder has no presets or tunes; a 1 s GOP and the bitrate are what it takes.
  const codec = encoder === 'h264_v4l2m2m'
    ? ['-c:v', 'h264_v4l2m2m', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', String(fps), '-b:v', `${kbps}k`]
    : [
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline',
      '-pix_fmt', 'yuv420p', '-bf', '0', '-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0',
      '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 2)}k`,
    ];
  return [...globalArgs(), ...opts.video.ffmpegInput(), '-map', '0:v:0', ...filters, ...rate, ...codec, ...out];
}

/**
 * The hardware encoder probe's trial: one second of a test picture through `encoder`, thrown away.
 * It fails fast where the encoder is missing from FFmpeg or its device is (no /dev/video11 off a Pi).
 */
export function encoderTrialArgs(encoder: H264Encoder): string[] {
  return [
    ...globalArgs(), '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-t', '1',
    '-c:v', encoder, '-pix_fmt', 'yuv420p', '-b:v', '1000k', '-f', 'null', '-',
  ];
}

/**
 * A camera that encodes by itself, as FFmpeg plays it: the simulator's MJPEG and H.264 cameras run
 * the raw frames through this. H.264: a keyframe every second with SPS/PPS repeated before each,
 * as UVC H.264 cameras and `rpicam-vid --inline` send it (a reader may join at any keyframe).
 */
export function cameraEncoderArgs(source: VideoSource, format: 'mjpeg' | 'h264'): string[] {
  const fps = String(source.info.fps);
  const codec = format === 'mjpeg'
    ? ['-c:v', 'mjpeg', '-q:v', String(DEFAULT_MJPEG_QUALITY), '-threads', '1', '-f', 'image2pipe']
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
      '-bf', '0', '-g', fps, '-keyint_min', fps, '-x264-params', 'repeat-headers=1', '-b:v', `${DEFAULT_PUBLISH_VIDEO_KBPS}k`, '-f', 'h264'];
  return [...globalArgs(), ...source.ffmpegInput(), '-an', ...codec, '-flush_packets', '1', 'pipe:1'];
}

/**
 * A camera's own compressed stream (V4L2 `-input_format h264`) on stdout, not re-encoded. H.264:
 * dump_extra puts the SPS/PPS FFmpeg read at the start before every keyframe, for cameras that
 * send them once: a reader joins at an SPS (bridge/media/stream-fanout.ts).
 */
export function cameraCopyArgs(source: VideoSource, format: 'mjpeg' | 'h264'): string[] {
  const out = format === 'h264' ? ['-bsf:v', 'dump_extra', '-f', 'h264'] : ['-f', 'image2pipe'];
  return [...globalArgs(), ...source.ffmpegInput(), '-an', '-c:v', 'copy', ...out, '-flush_packets', '1', 'pipe:1'];
}

/** Lists a V4L2 device's formats on stderr (bridge/hardware/v4l2-formats.ts reads them). */
export function listV4l2FormatsArgs(device: string): string[] {
  return ['-hide_banner', '-nostdin', '-f', 'v4l2', '-list_formats', 'all', '-i', device];
}

/** Opus frame length of the published audio: one capture period (bridge/sim/audio.ts MIC_PERIOD_MS). */
export const PUBLISH_OPUS_FRAME_MS = 10;

/**
 * Server mode, audio: the microphone's PCM (s16le 16 kHz mono on stdin, written as each capture
 * period arrives) as 10 ms Opus frames in RTP to the bridge's loopback port, each packet sent as
 * soon as its period is in, so they arrive evenly and the viewers' jitter buffers can stay low.
 * - FFmpeg 5.1's raw PCM demuxer reads 40 ms per packet at 16 kHz: declared at a quarter of the rate
 *   it reads 10 ms; asetrate puts the true rate back (the samples are untouched) and asetpts
 *   stamps them by count.
 * - No `-ar 48000`: libopus takes 16 kHz itself (RTP still counts in 48 kHz), and the resampler
 *   held each frame until the next period came (measured: a packet 20.9 ms after the write
 *   completing its frame, 0.2 ms without it).
 * Measured with 10 ms periods: packets every 10 ms; robot mic → MediaMTX in docs/PERFORMANCE.md.
 */
export function publishAudioArgs(opts: { to: RtpTarget; audioKbps?: number }): string[] {
  const akbps = opts.audioKbps ?? DEFAULT_PUBLISH_AUDIO_KBPS;
  if (!(akbps >= 6 && akbps <= 256)) throw new RangeError(`audio bitrate must be 6..256 kbps, got ${akbps}`);
  const declaredRate = (AUDIO_SAMPLE_RATE * PUBLISH_OPUS_FRAME_MS) / 40;
  return [
    ...globalArgs(), ...lowDelayInput(), '-f', 's16le', '-ar', String(declaredRate), '-ac', '1', '-i', 'pipe:0', '-map', '0:a:0',
    '-af', `asetrate=${AUDIO_SAMPLE_RATE},asetpts=N/SR/TB`,
    '-c:a', 'libopus', '-b:a', `${akbps}k`, '-ac', '1', '-application', 'lowdelay', '-frame_duration', String(PUBLISH_OPUS_FRAME_MS),
    ...progressArgs(), '-f', 'rtp', '-payload_type', String(RTP_AUDIO_PT), rtpUrl(opts.to),
  ];
}

/** Server mode: the driver's talk audio (`robots/<id>/talk`, published over WHIP) → the speaker. */
export function rtspTalkArgs(url: string, sink: SpeakerSink): string[] {
  assertRtspUrl(url);
  return [
    // nobuffer is right here: losing the first packets of a live stream beats starting behind.
    ...globalArgs(), '-rtsp_transport', 'tcp', '-fflags', 'nobuffer', ...lowDelayInput(), '-i', url,
    '-vn', ...progressArgs(), ...sink.ffmpegOutput(),
  ];
}

export function assertRtspUrl(url: string): void {
  let parsed: URL;
  try { parsed = new URL(url); } catch { throw new TypeError('publish URL is not a URL'); }
  if (parsed.protocol !== 'rtsp:' && parsed.protocol !== 'rtsps:') throw new TypeError('publish URL must be rtsp:// or rtsps://');
}

/** Arguments safe to log: credentials in URLs (rtsp://user:pass@…) and query strings removed. */
export function redactArgs(args: readonly string[]): string[] {
  return args.map((a) => a.replace(/^(\w+:\/\/)[^/@\s]*@/, '$1***@').replace(/\?.*$/, '?…'));
}
