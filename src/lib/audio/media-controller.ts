// Reactive controller for sound: plays the robot's microphone (muted until the operator taps),
// and runs push-to-talk. Local path: `talk start` / binary PCM frames / `talk stop` over the link,
// robot sound as PCM frames. Server path: the microphone published over WHIP between `talk start`
// and `talk stop` (whip-talk.ts, loaded on first use), robot sound from the WHEP <video> (the
// path selector un-mutes it when the operator turns sound on).

import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { AudioKind } from '../../../protocol/audio.ts';
import { msg, type TalkMsg } from '../../../protocol/messages.ts';
import type { AppServices } from '../../app/services.ts';
import { RobotAudioPlayer } from './robot-audio.ts';
import { TalkCapture, type TalkState } from './talk-capture.ts';
import type { WhipTalk } from './whip-talk.ts';
import { onFirstGesture, onSoundToggle } from '../video/first-gesture.ts';

/** What the talk button needs from either kind of talk. */
export interface Talk {
  readonly state: TalkState;
  readonly error: string | null;
}

export class MediaController implements ReactiveController {
  readonly player = new RobotAudioPlayer();
  /** Local mode's talk (PCM over the bridge's WebSocket). */
  readonly localTalk: TalkCapture;
  private whip: WhipTalk | null = null;
  private whipLoading: Promise<WhipTalk> | null = null;
  private unsubs: (() => void)[] = [];
  /** The talk button is held (a release during the lazy load must win). */
  private pressed = false;

  constructor(private readonly host: ReactiveControllerHost, private readonly services: AppServices) {
    const link = services.link;
    this.localTalk = new TalkCapture(
      {
        begin: () => link.send(msg<TalkMsg>({ type: 'talk', action: 'start' })),
        frame: (bytes) => link.sendBinary(bytes),
        end: () => void link.send(msg<TalkMsg>({ type: 'talk', action: 'stop' })),
      },
      () => host.requestUpdate(),
    );
    host.addController(this);
  }

  private get serverPath(): boolean {
    return this.services.link.kind === 'relay';
  }

  /** The talk in use on the current path (for the button's state and errors). */
  get talk(): Talk & { framesSent?: number } {
    return this.serverPath && this.whip ? this.whip : this.localTalk;
  }

  get muted(): boolean {
    return this.player.muted;
  }

  async startTalk(): Promise<void> {
    this.pressed = true;
    if (!this.serverPath) return this.localTalk.start();
    const whip = await this.loadWhip();
    // Released, or the path changed, while the module loaded: nothing to start.
    if (this.pressed && this.serverPath) await whip.start();
  }

  stopTalk(): void {
    this.pressed = false;
    this.localTalk.stop();
    this.whip?.stop();
  }

  async toggleMute(): Promise<void> {
    if (this.player.muted) await this.player.unmute();
    else this.player.mute();
    this.services.mode.setSound(!this.player.muted);
    this.host.requestUpdate();
  }

  private loadWhip(): Promise<WhipTalk> {
    return (this.whipLoading ??= import('./whip-talk.ts').then(({ WhipTalk }) => {
      const { link, settings, log } = this.services;
      this.whip = new WhipTalk(
        {
          begin: () => link.send(msg<TalkMsg>({ type: 'talk', action: 'start' })),
          end: () => void link.send(msg<TalkMsg>({ type: 'talk', action: 'stop' })),
        },
        { url: () => settings.value.whipUrl, token: () => settings.value.sessionToken, log: (l) => log.add(l) },
        () => this.host.requestUpdate(),
      );
      return this.whip;
    }));
  }

  hostConnected(): void {
    this.unsubs = [
      this.services.link.on('audio', (f) => {
        if (f.kind === AudioKind.robotMic) this.player.play(f.pcm);
      }),
      this.services.link.on('status', (s) => {
        if (s.state !== 'live') this.stopTalk();
      }),
      // Sound wanted (Settings): it starts with the first tap, the earliest iOS allows. A tap on the
      // sound button itself is the operator's own choice and is left to it.
      onFirstGesture(window, (e) => {
        // Autoplay refused (iOS in Low Power Mode refuses even muted video): the first tap starts it.
        const video = this.services.mode.video?.element;
        if (video instanceof HTMLVideoElement && video.paused) void video.play().catch(() => {});
        if (!this.services.settings.value.audioEnabled || !this.player.muted || onSoundToggle(e)) return;
        // The video's sound at once, inside the gesture (iOS pauses a video unmuted outside one).
        this.services.mode.setSound(true);
        void this.toggleMute();
      }),
    ];
  }

  hostDisconnected(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.stopTalk();
    void this.player.close();
  }
}
