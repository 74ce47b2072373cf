// Reactive controller for sound: plays the robot's microphone (muted until the operator taps),
// and runs push-to-talk with `talk start` / binary frames / `talk stop` over the link.

import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { AudioKind } from '../../../protocol/audio.ts';
import { msg, type TalkMsg } from '../../../protocol/messages.ts';
import type { AppServices } from '../../app/services.ts';
import { RobotAudioPlayer } from './robot-audio.ts';
import { TalkCapture } from './talk-capture.ts';

export class MediaController implements ReactiveController {
  readonly player = new RobotAudioPlayer();
  readonly talk: TalkCapture;
  private unsubs: (() => void)[] = [];

  constructor(private readonly host: ReactiveControllerHost, private readonly services: AppServices) {
    const link = services.link;
    this.talk = new TalkCapture(
      {
        begin: () => link.send(msg<TalkMsg>({ type: 'talk', action: 'start' })),
        frame: (bytes) => link.sendBinary(bytes),
        end: () => void link.send(msg<TalkMsg>({ type: 'talk', action: 'stop' })),
      },
      () => host.requestUpdate(),
    );
    host.addController(this);
  }

  get muted(): boolean {
    return this.player.muted;
  }

  async toggleMute(): Promise<void> {
    if (this.player.muted) await this.player.unmute();
    else this.player.mute();
    this.host.requestUpdate();
  }

  hostConnected(): void {
    this.unsubs = [
      this.services.link.on('audio', (f) => {
        if (f.kind === AudioKind.robotMic) this.player.play(f.pcm);
      }),
      this.services.link.on('status', (s) => {
        if (s.state !== 'live') this.talk.stop();
      }),
    ];
  }

  hostDisconnected(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.talk.stop();
    void this.player.close();
  }
}
