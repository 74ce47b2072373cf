// A video source the drive view can show without knowing what it is: MJPEG from the bridge in
// local mode, WHEP (WebRTC) or HLS from MediaMTX in server mode.

export type VideoState = 'idle' | 'loading' | 'playing' | 'error' | 'stopped';
export type VideoKind = 'mjpeg' | 'whep' | 'hls';

export interface VideoSource {
  readonly kind: VideoKind;
  readonly state: VideoState;
  /** The element to put on screen (an <img> for MJPEG, a <video> for WHEP/HLS). */
  readonly element: HTMLImageElement | HTMLVideoElement;
  /** Why it is not playing, for the operator. */
  readonly error: string | null;
  start(url: string): void;
  stop(): void;
  onChange(fn: () => void): () => void;
}

/** Natural size of whatever a source shows (0 before the first frame). */
export function frameSize(el: HTMLImageElement | HTMLVideoElement): { width: number; height: number } {
  return el instanceof HTMLVideoElement ? { width: el.videoWidth, height: el.videoHeight } : { width: el.naturalWidth, height: el.naturalHeight };
}
