// Binary audio frames on the local WebSocket. PCM s16le, 16 kHz mono, 20 ms a frame (640 bytes):
// a browser plays and records it with Web Audio alone, on every phone, with no codec to ship or
// negotiate, and 256 kbit/s is small on a LAN. Server mode carries Opus over WebRTC instead.
//
// Layout: byte 0 kind, bytes 1-4 sequence number (uint32 big-endian), then the samples.

import { MAX_BINARY_FRAME_BYTES } from './limits.ts';
import { fail, ok, type Result } from './result.ts';

export const AudioKind = {
  /** Robot microphone → app. */
  robotMic: 1,
  /** Operator push-to-talk → robot speaker. */
  talk: 2,
} as const;
export type AudioKind = (typeof AudioKind)[keyof typeof AudioKind];

export const AUDIO_HEADER_BYTES = 5;

export interface AudioFrame { kind: AudioKind; seq: number; pcm: Uint8Array }

export function encodeAudioFrame(kind: AudioKind, seq: number, pcm: Uint8Array): Uint8Array {
  const out = new Uint8Array(AUDIO_HEADER_BYTES + pcm.byteLength);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, seq >>> 0, false);
  out.set(pcm, AUDIO_HEADER_BYTES);
  return out;
}

export function decodeAudioFrame(data: Uint8Array): Result<AudioFrame> {
  if (data.byteLength > MAX_BINARY_FRAME_BYTES) return fail(`audio frame larger than ${MAX_BINARY_FRAME_BYTES} bytes`);
  if (data.byteLength < AUDIO_HEADER_BYTES) return fail('audio frame shorter than its header');
  const kind = data[0];
  if (kind !== AudioKind.robotMic && kind !== AudioKind.talk) return fail('unknown audio frame kind');
  if ((data.byteLength - AUDIO_HEADER_BYTES) % 2 !== 0) return fail('audio frame has an odd number of sample bytes');
  const seq = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, false);
  return ok({ kind, seq, pcm: data.subarray(AUDIO_HEADER_BYTES) });
}
