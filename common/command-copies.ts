// With the drive datagram channel (protocol/relay.ts DRIVE_CHANNEL) a drive command can arrive
// twice: once over the WebSocket, once over the channel, in either order. The first copy is
// handled, the second is dropped here without a word, so a copy never applies twice, never earns
// a second `superseded` ack and never doubles an error. A command is known by its own stamp: drive
// and motor by `seq` (one per command, increasing per session), heartbeat by `t`, stop by
// `seq`/`t` when it carries them (a bare stop has no identity: both copies pass, and a second stop
// is harmless). Only the last WINDOW identities per sender are kept: a copy arrives within a few
// send intervals of the other or not at all (older ones are refused as expired by the deadman's
// rule in any case).
import type { ClientMessage } from '../protocol/messages.ts';

const WINDOW = 64;

/** The identity of one command, or null when it has none. */
function identity(m: ClientMessage): string | null {
  switch (m.type) {
    case 'drive':
    case 'motor':
      return `d${m.seq}`;
    case 'heartbeat':
      return `h${m.t}`;
    case 'stop':
      return m.seq === undefined && m.t === undefined ? null : `s${m.seq ?? ''}:${m.t ?? ''}`;
    default:
      return null;
  }
}

export class CopyFilter {
  private readonly seen = new Map<string, string[]>();

  /** True for the first copy of a command from `sender` (and for anything without an identity). */
  first(sender: string, m: ClientMessage): boolean {
    const id = identity(m);
    if (id === null) return true;
    let recent = this.seen.get(sender);
    if (!recent) { recent = []; this.seen.set(sender, recent); }
    if (recent.includes(id)) return false;
    recent.push(id);
    if (recent.length > WINDOW) recent.shift();
    return true;
  }

  /** The sender left: forget its commands. */
  forget(sender: string): void {
    this.seen.delete(sender);
  }
}
