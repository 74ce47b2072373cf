// An operator connected to the relay, as the bridge sees it: a Peer (ws/session.ts) like a local
// WebSocket session, so the same handlers, lease, deadman and latest-wins gate apply to it. Its
// answers go back to that one client as `to {client, msg}`.
//
// Peer ids are `r:<clientId>`: the prefix keeps a relay client from ever wearing the id of a local
// session (`s-…`), and the app can still recognise itself in `stopped.by` / `talk_state.by`.

import { randomBytes } from 'node:crypto';
import { MAX_ID_CHARS } from '../../protocol/limits.ts';
import type { ErrorCode, RobotMessage, Role } from '../../protocol/messages.ts';
import { errorFrame } from '../../common/error-frame.ts';
import type { Peer, RemoteTalk } from '../ws/session.ts';
import type { RelayLink } from './relay-link.ts';

export class RelayPeer implements Peer {
  readonly id: string;
  name: string;
  role: Role;

  constructor(readonly client: string, name: string | null, role: Role, private readonly link: RelayLink, readonly talkAudio: RemoteTalk, taken: (id: string) => boolean) {
    const id = `r:${client}`;
    this.id = id.length <= MAX_ID_CHARS && !taken(id) ? id : `r:${randomBytes(6).toString('base64url')}`;
    this.name = name ?? `remote ${client.slice(0, 8)}`;
    this.role = role;
  }

  send(message: RobotMessage): void {
    this.link.send({ v: 1, type: 'to', client: this.client, msg: message });
  }

  sendError(code: ErrorCode, message: string, field?: string, ref?: string): void {
    this.send(errorFrame(code, message, field, ref));
  }
}
