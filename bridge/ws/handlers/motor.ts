// motor: v1's direction + speed (0..255) command, same rules as drive.
import { directionToTracks, type MotorMsg } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';
import { driveAndAck } from './motion-ack.ts';

export const handleMotor: Handler<MotorMsg> = (ctx, session, m, arrivedAt) =>
  driveAndAck(ctx, session, { seq: m.seq, t: m.t, ttl: m.ttl, ...directionToTracks(m.direction, m.speed) }, arrivedAt);
