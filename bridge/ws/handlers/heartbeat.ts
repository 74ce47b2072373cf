// heartbeat: keeps the driver's deadman fed while the stick is held still; echoed for RTT.
import { msg, type HeartbeatAckMsg, type HeartbeatMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';

export const handleHeartbeat: Handler<HeartbeatMsg> = (ctx, session, m, arrivedAt) => {
  if (m.rtt !== undefined) ctx.motion.noteRoundTrip(session.id, m.rtt);
  // Fed as of when it was sent (m.t against the session's pace and transit), like a drive command.
  if (ctx.lease.isDriver(session.id)) ctx.motion.feed(session.id, m.t, arrivedAt);
  session.send(msg<HeartbeatAckMsg>({ type: 'heartbeat_ack', t: m.t }));
};
