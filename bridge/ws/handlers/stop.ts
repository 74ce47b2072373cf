// stop: from anyone, always, at once — the stop button must never be refused.
import { msg, type AckMsg, type StopMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';

export const handleStop: Handler<StopMsg> = async (ctx, session, m) => {
  await ctx.motion.stop('command', session.id);
  if (m.seq !== undefined) session.send(msg<AckMsg>({ type: 'ack', seq: m.seq, t: m.t ?? 0, result: 'applied' }));
};
