// Shared by drive and motor: only the driver moves the robot, and every command is acked with
// what happened to it (applied with the serial round trip, expired, superseded, refused).
import { msg, type AckMsg } from '../../../protocol/messages.ts';
import type { MotionCommand } from '../../safety/motion.ts';
import type { HandlerContext } from '../context.ts';
import type { Peer } from '../session.ts';

export async function driveAndAck(ctx: HandlerContext, session: Peer, cmd: MotionCommand, arrivedAt: number): Promise<void> {
  const ack: Omit<AckMsg, 'v'> = { type: 'ack', seq: cmd.seq, t: cmd.t, result: 'refused' };
  if (!ctx.lease.isDriver(session.id)) {
    const d = ctx.lease.driver;
    ack.reason = d ? `not the driver: session ${d.session} (${d.name}) drives`.slice(0, 200) : 'not the driver: take the lease first';
    session.send(msg<AckMsg>(ack));
    return;
  }
  const out = await ctx.motion.command(session.id, cmd, arrivedAt);
  ack.result = out.result;
  if (out.reason) ack.reason = out.reason;
  if (out.serialRttMs !== undefined) ack.serialRttMs = out.serialRttMs;
  session.send(msg<AckMsg>(ack));
}
