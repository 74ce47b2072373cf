// One-shot WHEP / WHIP check for "Test connection": opens a session, waits until it connects (or
// fails, or the deadline passes), closes it (DELETE) and says what happened. WHIP publishes a
// silent track (no microphone permission needed) and is closed at once.

import { RtcSession, ICE_TIMEOUT_MS } from './webrtc-session.ts';

export function rtcProbe(kind: 'whep' | 'whip', url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let ctx: AudioContext | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let answered = false;
    const done = (f: () => void): void => {
      clearTimeout(timer);
      session.close();
      void ctx?.close().catch(() => {});
      f();
    };
    const session = new RtcSession({
      kind,
      url,
      token: () => token,
      autoRestart: false,
      setup: (pc) => {
        if (kind === 'whep') {
          pc.addTransceiver('video', { direction: 'recvonly' });
          pc.addTransceiver('audio', { direction: 'recvonly' });
        } else {
          ctx = new AudioContext();
          const dest = ctx.createMediaStreamDestination();
          const track = dest.stream.getAudioTracks()[0];
          if (track) pc.addTransceiver(track, { direction: 'sendonly', streams: [dest.stream] });
        }
      },
      onChange: () => {
        if (session.state === 'connecting') answered = true;
        else if (session.state === 'connected') done(() => resolve(kind === 'whep' ? 'The robot’s stream plays over WebRTC.' : 'This session may talk (WHIP accepted, media connected).'));
        else if (session.state === 'failed') {
          const why = session.error ?? 'failed';
          if (session.failure === 'ice') done(() => reject(new Error(`The server answered, but no media path (UDP blocked?)${kind === 'whep' ? ': the app would use HLS.' : '.'}`)));
          else done(() => reject(new Error(why)));
        }
      },
    });
    timer = setTimeout(() => done(() => (answered ? reject(new Error('The server answered, but the media did not connect in time.')) : reject(new Error('No answer in time.')))), ICE_TIMEOUT_MS + 3000);
    session.start();
  });
}
