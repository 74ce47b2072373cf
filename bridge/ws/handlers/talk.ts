// talk: push-to-talk framing. Only the driver talks (one voice at a time); binary talk frames
// between start and stop go to the speaker.
import { AudioKind, decodeAudioFrame } from '../../../protocol/audio.ts';
import type { TalkMsg } from '../../../protocol/messages.ts';
import type { Handler, HandlerContext } from '../context.ts';
import type { Session } from '../session.ts';

export const handleTalk: Handler<TalkMsg> = (ctx, session, m) => {
  if (m.action === 'stop') {
    if (ctx.talker() === session.id) ctx.setTalker(null);
    return;
  }
  if (!ctx.lease.isDriver(session.id)) return session.sendError('not_driver', 'only the driver can talk through the robot', 'action');
  if (!ctx.hardware.speaker) return session.sendError('unavailable', 'the robot has no speaker configured');
  const current = ctx.talker();
  if (current && current !== session.id) return session.sendError('busy', 'someone else is talking', undefined, current);
  ctx.setTalker(session);
};

/** A binary frame: must be a talk frame from the session holding the speaker. Returns an error text or null. */
export function handleAudioFrame(ctx: HandlerContext, session: Session, data: Uint8Array): string | null {
  const frame = decodeAudioFrame(data);
  if (!frame.ok) return frame.error;
  if (frame.value.kind !== AudioKind.talk) return 'only talk audio frames are accepted';
  if (ctx.talker() !== session.id) return 'talk audio without talk start';
  ctx.hardware.speaker?.write(frame.value.pcm);
  return null;
}
