// lease: one driver at a time. take when free; a refusal names who drives. release stops the
// robot (a driver who lets go leaves it standing). request asks the driver to hand over.
import type { LeaseMsg } from '../../../protocol/messages.ts';
import type { Handler, HandlerContext } from '../context.ts';
import type { Peer } from '../session.ts';

export function takeLease(ctx: HandlerContext, session: Peer): boolean {
  const r = ctx.lease.take(session.id, session.name);
  if (r.ok) return true;
  session.sendError('lease_held', `driver is session ${r.holder.session} (${r.holder.name})`, undefined, r.holder.session);
  return false;
}

export async function releaseLease(ctx: HandlerContext, session: Peer): Promise<void> {
  if (!ctx.lease.isDriver(session.id)) return;
  if (ctx.talker() === session.id) ctx.setTalker(null);
  ctx.lease.release(session.id);
  await ctx.motion.sessionGone(session.id, 'lease_released');
}

export const handleLease: Handler<LeaseMsg> = async (ctx, session, m) => {
  switch (m.action) {
    case 'take':
      takeLease(ctx, session);
      return;
    case 'release':
      await releaseLease(ctx, session);
      return;
    case 'request':
      if (!ctx.lease.request(session.id)) session.sendError('bad_message', ctx.lease.driver ? 'you are the driver' : 'nobody is driving: take the lease', 'action');
      return;
  }
};
