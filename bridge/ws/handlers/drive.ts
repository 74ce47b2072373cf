// drive: differential track speeds from the driver.
import type { DriveMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';
import { driveAndAck } from './motion-ack.ts';

export const handleDrive: Handler<DriveMsg> = (ctx, session, m, arrivedAt) =>
  driveAndAck(ctx, session, { seq: m.seq, t: m.t, ttl: m.ttl, left: m.left, right: m.right }, arrivedAt);
