// What a message handler may touch. Handlers get this and the session; they never reach into
// the gateway's internals, so each handler reads as the rule it implements.

import type { Logger } from '../../common/log.ts';
import type { RobotMessage } from '../../protocol/messages.ts';
import type { Config } from '../config/schema.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { Lease } from '../safety/lease.ts';
import type { Motion } from '../safety/motion.ts';
import type { Peer } from './session.ts';

export interface HandlerContext {
  lease: Lease;
  motion: Motion;
  hardware: Hardware;
  config(): Config;
  log: Logger;
  broadcast(message: RobotMessage): void;
  /** Push-to-talk: who holds the speaker now (null: idle). */
  setTalker(peer: Peer | null): void;
  talker(): string | null;
}

export type Handler<M> = (ctx: HandlerContext, session: Peer, message: M, arrivedAt: number) => void | Promise<void>;
