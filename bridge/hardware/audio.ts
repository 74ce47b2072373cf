// The Pi's USB microphone and speaker through ALSA, as FFmpeg arguments. Device names are ALSA
// PCM names ("default", "plughw:1,0", "hw:CARD=Device,DEV=0"); `plughw` lets ALSA convert rates.

import { AUDIO_SAMPLE_RATE } from '../../protocol/limits.ts';
import type { AudioInputInfo, AudioSource, SpeakerInfo, SpeakerSink } from './types.ts';

const ALSA_DEVICE = /^[A-Za-z][\w:,.=-]{0,63}$/;

function checkDevice(device: string): string {
  // The name becomes an FFmpeg argument: accept only what an ALSA PCM name looks like.
  if (!ALSA_DEVICE.test(device)) throw new RangeError(`ALSA device must look like "default" or "plughw:1,0", got ${JSON.stringify(device)}`);
  return device;
}

export class AlsaMicrophone implements AudioSource {
  readonly info: AudioInputInfo;
  constructor(device = 'default') {
    this.info = { kind: 'alsa', device: checkDevice(device) };
  }
  ffmpegInput(): string[] {
    return [
      '-f', 'alsa', '-sample_rate', String(AUDIO_SAMPLE_RATE), '-channels', '1',
      // Small capture queue: stale audio is worse than a dropped period. No period argument: FFmpeg's
      // ALSA input asks for the device's smallest period and hands over each one as it is read
      // (libavdevice/alsa.c); the server-mode Opus encoder packs the periods into 10 ms frames as
      // they come. A device whose smallest period is above 10 ms sends its packets in bursts.
      '-thread_queue_size', '16', '-i', this.info.device,
    ];
  }
}

export class AlsaSpeaker implements SpeakerSink {
  readonly info: SpeakerInfo;
  constructor(device = 'default') {
    this.info = { kind: 'alsa', device: checkDevice(device) };
  }
  ffmpegOutput(): string[] {
    return ['-f', 'alsa', this.info.device];
  }
}
