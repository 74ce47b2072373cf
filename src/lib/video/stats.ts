// The stats panel's numbers, from two successive getStats() reports (rates need a difference) and
// the app's own measurements. Pure: no DOM, no timers — the panel polls, this computes. A value
// that is not measured stays null and is not shown.

/** The few fields of RTCStats entries we read (inbound-rtp video/audio). */
export interface InboundLike {
  type: string;
  kind?: string;
  timestamp: number;
  bytesReceived?: number;
  framesDecoded?: number;
  frameWidth?: number;
  frameHeight?: number;
  packetsReceived?: number;
  packetsLost?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
  audioLevel?: number;
}

export interface StatsSample {
  at: number;
  bytes: number;
  frames: number;
  packets: number;
  lost: number;
  jbDelay: number;
  jbCount: number;
}

export interface StatsSummary {
  bitrateKbps: number | null;
  fps: number | null;
  width: number | null;
  height: number | null;
  /** Lost / (lost + received) since the previous sample, %. */
  packetLossPct: number | null;
  /** Average time a video frame waited in the jitter buffer since the previous sample, ms. */
  jitterBufferMs: number | null;
  /** 0..1 (WebRTC's audioLevel of the robot's sound). */
  audioLevel: number | null;
}

export const EMPTY_SUMMARY: StatsSummary = { bitrateKbps: null, fps: null, width: null, height: null, packetLossPct: null, jitterBufferMs: null, audioLevel: null };

/** Reads the video and audio inbound-rtp entries of a report (any iterable of stats). */
export function inboundOf(entries: Iterable<InboundLike>): { video: InboundLike | null; audio: InboundLike | null } {
  let video: InboundLike | null = null;
  let audio: InboundLike | null = null;
  for (const s of entries) {
    if (s.type !== 'inbound-rtp') continue;
    if (s.kind === 'video') video = s;
    else if (s.kind === 'audio') audio = s;
  }
  return { video, audio };
}

export function sampleOf(v: InboundLike): StatsSample {
  return {
    at: v.timestamp,
    bytes: v.bytesReceived ?? 0,
    frames: v.framesDecoded ?? 0,
    packets: v.packetsReceived ?? 0,
    lost: Math.max(0, v.packetsLost ?? 0),
    jbDelay: v.jitterBufferDelay ?? 0,
    jbCount: v.jitterBufferEmittedCount ?? 0,
  };
}

/** Summary of one report, with rates against the previous sample (null on the first). */
export function summarize(prev: StatsSample | null, entries: Iterable<InboundLike>): { summary: StatsSummary; sample: StatsSample | null } {
  const { video, audio } = inboundOf(entries);
  const summary: StatsSummary = { ...EMPTY_SUMMARY, audioLevel: typeof audio?.audioLevel === 'number' ? audio.audioLevel : null };
  if (!video) return { summary, sample: null };
  const cur = sampleOf(video);
  summary.width = video.frameWidth ?? null;
  summary.height = video.frameHeight ?? null;
  if (prev) {
    const dt = (cur.at - prev.at) / 1000;
    if (dt > 0) {
      summary.bitrateKbps = Math.max(0, Math.round(((cur.bytes - prev.bytes) * 8) / dt / 1000));
      summary.fps = Math.max(0, Math.round(((cur.frames - prev.frames) / dt) * 10) / 10);
    }
    const got = cur.packets - prev.packets;
    const lost = cur.lost - prev.lost;
    if (got + lost > 0) summary.packetLossPct = Math.round((Math.max(0, lost) / (got + Math.max(0, lost))) * 1000) / 10;
    const emitted = cur.jbCount - prev.jbCount;
    if (emitted > 0) summary.jitterBufferMs = Math.round(((cur.jbDelay - prev.jbDelay) / emitted) * 1000);
  }
  return { summary, sample: cur };
}

export interface AppMeasures {
  glassMs: number | null;
  commandRttMs: number | null;
  linkRttMs: number | null;
  /** Frame size of whatever is on screen (MJPEG too). */
  width: number | null;
  height: number | null;
  videoKind: 'mjpeg' | 'webrtc' | 'hls';
  /** How the robot's voice is played (server mode), in the panel's words. */
  audioPlayout?: string | null;
}

export interface StatRow { key: string; label: string; value: string }

/** The panel's rows, in a fixed order; unmeasured values are left out. */
export function statRows(s: StatsSummary, app: AppMeasures): StatRow[] {
  const rows: StatRow[] = [{ key: 'video', label: 'video', value: app.videoKind === 'webrtc' ? 'WebRTC' : app.videoKind === 'hls' ? 'HLS' : 'MJPEG' }];
  const add = (key: string, label: string, v: number | null, fmt: (n: number) => string): void => {
    if (v !== null && Number.isFinite(v)) rows.push({ key, label, value: fmt(v) });
  };
  add('glass', 'glass-to-glass', app.glassMs, (n) => `${Math.round(n)} ms`);
  add('command', 'command round trip', app.commandRttMs, (n) => `${Math.round(n)} ms`);
  add('link', 'link round trip', app.linkRttMs, (n) => `${Math.round(n)} ms`);
  add('bitrate', 'video bitrate', s.bitrateKbps, (n) => (n >= 1000 ? `${(n / 1000).toFixed(2)} Mbit/s` : `${n} kbit/s`));
  add('fps', 'frames per second', s.fps, (n) => n.toFixed(n < 10 ? 1 : 0));
  const w = s.width ?? app.width;
  const h = s.height ?? app.height;
  if (w && h) rows.push({ key: 'resolution', label: 'resolution', value: `${w}×${h}` });
  add('loss', 'packet loss', s.packetLossPct, (n) => `${n.toFixed(1)} %`);
  add('jitter', 'jitter buffer', s.jitterBufferMs, (n) => `${n} ms`);
  add('audio', 'audio level', s.audioLevel, (n) => `${Math.round(n * 100)} %`);
  if (app.audioPlayout) rows.push({ key: 'playout', label: 'audio playout', value: app.audioPlayout });
  return rows;
}
