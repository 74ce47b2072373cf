// One handler per client message type; the table is checked by the compiler to cover them all.
import type { ClientMessage } from '../../../protocol/messages.ts';
import type { Handler } from '../context.ts';
import { handleDrive } from './drive.ts';
import { handleHeartbeat } from './heartbeat.ts';
import { handleHello } from './hello.ts';
import { handleLease } from './lease.ts';
import { handleMotor } from './motor.ts';
import { handleStop } from './stop.ts';
import { handleTalk } from './talk.ts';
import { handleTts } from './tts.ts';

type HandlerTable = { [K in ClientMessage['type']]: Handler<Extract<ClientMessage, { type: K }>> };

export const handlers: HandlerTable = {
  drive: handleDrive,
  motor: handleMotor,
  stop: handleStop,
  heartbeat: handleHeartbeat,
  lease: handleLease,
  tts: handleTts,
  talk: handleTalk,
  hello: handleHello,
};
