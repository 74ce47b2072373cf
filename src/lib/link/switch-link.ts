// The one Link the rest of the app holds. It forwards to whichever path is active (local WsLink or
// server RelayLink) so the command queue, robot state and controllers never learn that the path
// changed underneath them. The path selector decides the path and owns the real links; this
// only re-targets events and calls.
//
// A switch looks to listeners like a short drop: `lost` (reason: the switch) is emitted first, so
// the drive loop halts (nothing is driven across a path change until the stick is released), the
// robot state forgets the old session, and pending drive state is dropped; then the new link's
// own status follows, and its welcome is replayed when it is already live (make-before-break).

import type { ClientMessage } from '../../../protocol/messages.ts';
import type { ClockOffset } from './clock.ts';
import { Emitter } from './emitter.ts';
import type { Link, LinkEvents, LinkStatus } from './link.ts';

export class SwitchLink implements Link {
  private readonly events = new Emitter<LinkEvents>();
  private unsubs: (() => void)[] = [];
  private current: Link;

  constructor(initial: Link) {
    this.current = initial;
    this.attach(initial);
  }

  /** The link calls go to now. */
  get active(): Link {
    return this.current;
  }
  get kind(): 'local' | 'relay' {
    return this.current.kind;
  }
  get status(): LinkStatus {
    return this.current.status;
  }
  get welcome() {
    return this.current.welcome;
  }
  get heartbeatRttMs(): number | null {
    return this.current.heartbeatRttMs;
  }
  get clock(): ClockOffset {
    return this.current.clock;
  }

  /** Starts/stops the active link (the path selector normally does this itself). */
  start(): void {
    this.current.start();
  }
  stop(reason?: string): void {
    this.current.stop(reason);
  }
  send(message: ClientMessage): boolean {
    return this.current.send(message);
  }
  sendBinary(frame: Uint8Array): boolean {
    return this.current.sendBinary(frame);
  }
  on<K extends keyof LinkEvents>(type: K, fn: (value: LinkEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  /** Points every listener at another link. Does not start or stop either link. */
  use(next: Link, reason: string): void {
    if (next === this.current) return;
    for (const u of this.unsubs) u();
    this.current = next;
    this.events.emit('log', reason);
    this.events.emit('status', { state: 'lost', reason, retryAt: null });
    this.attach(next);
    this.events.emit('status', next.status);
    if (next.welcome && (next.status.state === 'live' || next.status.state === 'degraded')) this.events.emit('message', next.welcome);
  }

  private attach(link: Link): void {
    this.unsubs = [
      link.on('status', (s) => this.events.emit('status', s)),
      link.on('message', (m) => this.events.emit('message', m)),
      link.on('audio', (a) => this.events.emit('audio', a)),
      link.on('log', (l) => this.events.emit('log', l)),
    ];
  }
}
