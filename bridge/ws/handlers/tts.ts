// tts: speak a text on the robot's speaker; answered when done (or failed).
import { msg, type TtsMsg, type TtsResultMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';

export const handleTts: Handler<TtsMsg> = async (ctx, session, m) => {
  const tts = ctx.hardware.tts;
  const answer = (ok: boolean, error?: string) =>
    session.send(msg<TtsResultMsg>(error ? { type: 'tts_result', id: m.id, ok, error: error.slice(0, 200) } : { type: 'tts_result', id: m.id, ok }));
  if (!tts || !tts.info.available) return answer(false, 'text-to-speech is not available on this robot');
  try {
    await tts.speak(m.text);
    answer(true);
  } catch (err) {
    ctx.log.warn('tts failed', { session: session.id, err });
    answer(false, (err as Error).message || 'speaking failed');
  }
};
