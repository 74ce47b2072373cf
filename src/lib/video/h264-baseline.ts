// The codec the app asks MediaMTX for, first in its WHEP offer: H.264 Constrained Baseline with
// packetization-mode 1 — what the robot's publisher encodes (x264 `-profile:v baseline`), what
// MediaMTX forwards as is (it never transcodes) and the one H.264 profile every Safari decodes in
// hardware, iPhones included. Other codecs stay in the offer, behind it.

/** Constrained Baseline: profile_idc 0x42 with constraint_set1 (0x40) — 42e01f, 42c01f, 42e034… */
export function isConstrainedBaseline(fmtp: string | undefined): boolean {
  const id = /profile-level-id=([0-9a-f]{6})/i.exec(fmtp ?? '')?.[1];
  return !!id && id.slice(0, 2).toLowerCase() === '42' && (parseInt(id.slice(2, 4), 16) & 0x40) !== 0;
}

const rank = (c: RTCRtpCodec): number => {
  if (c.mimeType.toLowerCase() !== 'video/h264') return 2;
  const fmtp = c.sdpFmtpLine ?? '';
  return isConstrainedBaseline(fmtp) && /packetization-mode=1/.test(fmtp) ? 0 : 1;
};

/** `codecs` with constrained-baseline H.264 (packetization-mode 1) first, then other H.264, then the rest. */
export function baselineFirst<T extends RTCRtpCodec>(codecs: readonly T[]): T[] {
  return codecs.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c);
}

/** Orders a receiving video transceiver's codecs so; browsers without setCodecPreferences keep theirs. */
export function preferBaselineH264(t: RTCRtpTransceiver): void {
  const codecs = typeof RTCRtpReceiver.getCapabilities === 'function' ? RTCRtpReceiver.getCapabilities('video')?.codecs : undefined;
  if (!codecs?.length || typeof t.setCodecPreferences !== 'function') return;
  t.setCodecPreferences(baselineFirst(codecs));
}
