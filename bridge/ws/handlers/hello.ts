// hello: the operator's shown name, and optionally "I want to drive" (same as lease take).
import type { HelloMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';
import { takeLease } from './lease.ts';

export const handleHello: Handler<HelloMsg> = (ctx, session, m) => {
  if (m.name !== undefined) {
    session.name = m.name;
    ctx.lease.rename(session.id, m.name);
  }
  if (m.want === 'driver') takeLease(ctx, session);
};
