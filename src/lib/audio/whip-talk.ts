// Push-to-talk in server mode: the operator's microphone published to MediaMTX over WHIP
// (`robots/<id>/talk`), which the robot reads and plays. The mic is opened only while the button is
// held. Order: `talk start` over the link → publish (WHIP) → … release → unpublish (DELETE) →
// `talk stop`. States as TalkCapture (idle → starting → talking → idle) so the talk button works
// with either; every await re-checks that this press is still the current one.

import { RtcSession, type RtcSessionOptions } from '../video/webrtc-session.ts';
import type { TalkState } from './talk-capture.ts';

export interface WhipTalkSink {
  /** Sends `talk start`; false when the link cannot carry it (nothing is published then). */
  begin(): boolean;
  end(): void;
}

export interface WhipTalkOptions {
  url: () => string;
  token: () => string;
  fetch?: typeof fetch;
  PeerConnection?: typeof RTCPeerConnection;
  getUserMedia?: (c: MediaStreamConstraints) => Promise<MediaStream>;
  log?: (line: string) => void;
}

export class WhipTalk {
  state: TalkState = 'idle';
  error: string | null = null;
  private session: RtcSession | null = null;
  private stream: MediaStream | null = null;
  private generation = 0;
  private begun = false;

  constructor(private readonly sink: WhipTalkSink, private readonly opts: WhipTalkOptions, private readonly onChange: () => void = () => {}) {}

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    const gen = ++this.generation;
    this.set('starting', null);
    try {
      const gum = this.opts.getUserMedia ?? ((c) => navigator.mediaDevices.getUserMedia(c));
      const stream = await gum({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
      if (gen !== this.generation) return void stopTracks(stream);
      this.stream = stream;
      if (!this.sink.begin()) throw new Error('Not connected to the robot.');
      this.begun = true;
      const track = stream.getAudioTracks()[0];
      if (!track) throw new Error('No microphone track.');
      const options: RtcSessionOptions = {
        kind: 'whip',
        url: this.opts.url(),
        token: this.opts.token,
        // A talk that fails is reported, not retried behind the operator's back.
        autoRestart: false,
        setup: (pc) => {
          pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        },
        onChange: () => {
          const s = this.session;
          if (gen !== this.generation || !s) return;
          if (s.state === 'connected' && this.state === 'starting') this.set('talking', null);
          else if (s.state === 'failed') this.abort(s.error ?? 'Talk failed.');
        },
        ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
        ...(this.opts.PeerConnection ? { PeerConnection: this.opts.PeerConnection } : {}),
        ...(this.opts.log ? { log: this.opts.log } : {}),
      };
      this.session = new RtcSession(options);
      this.session.start();
    } catch (e) {
      if (gen !== this.generation) return;
      this.abort(micError(e));
    }
  }

  /** Release: unpublish, then `talk stop` (only if `talk start` went out). */
  stop(): void {
    if (this.state === 'idle') return;
    this.generation++;
    this.release();
    this.set('idle', null);
  }

  private abort(error: string): void {
    this.generation++;
    this.release();
    this.set('idle', error);
  }

  private release(): void {
    this.session?.close();
    this.session = null;
    if (this.stream) stopTracks(this.stream);
    this.stream = null;
    if (this.begun) this.sink.end();
    this.begun = false;
  }

  private set(state: TalkState, error: string | null): void {
    this.state = state;
    this.error = error;
    this.onChange();
  }
}

const stopTracks = (s: MediaStream): void => s.getTracks().forEach((t) => t.stop());

function micError(e: unknown): string {
  const name = (e as { name?: string }).name;
  if (name === 'NotAllowedError') return 'Microphone permission denied.';
  if (name === 'NotFoundError') return 'No microphone found.';
  if (typeof isSecureContext !== 'undefined' && !isSecureContext) return 'The microphone needs https://.';
  return (e as Error).message || 'Microphone failed.';
}
