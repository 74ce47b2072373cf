// A Link for tests of what sits on top of a link (queue, views): records what was sent and lets
// the test set the state and push robot messages. The WebSocket link itself is tested separately.

import type { AudioFrame } from '../../protocol/audio.ts';
import type { ClientMessage, RobotMessage } from '../../protocol/messages.ts';
import { ClockOffset } from '../lib/link/clock.ts';
import { Emitter } from '../lib/link/emitter.ts';
import type { RelayEvents } from '../lib/link/relay-link.ts';
import type { Link, LinkEvents, LinkState, LinkStatus } from '../lib/link/link.ts';

export class FakeLink implements Link {
  readonly kind = 'local' as const;
  readonly clock = new ClockOffset();
  readonly sent: ClientMessage[] = [];
  readonly binary: Uint8Array[] = [];
  readonly events = new Emitter<LinkEvents>();
  status: LinkStatus = { state: 'idle', reason: null, retryAt: null };
  welcome = null;
  heartbeatRttMs: number | null = null;
  started = 0;

  start(): void {
    this.started++;
  }
  stop(): void {
    this.setState('closed');
  }
  send(m: ClientMessage): boolean {
    if (this.status.state !== 'live' && this.status.state !== 'degraded') return false;
    this.sent.push(m);
    return true;
  }
  sendBinary(f: Uint8Array): boolean {
    if (this.status.state !== 'live') return false;
    this.binary.push(f);
    return true;
  }
  on<K extends keyof LinkEvents>(type: K, fn: (value: LinkEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }
  setState(state: LinkState, reason: string | null = null): void {
    this.status = { state, reason, retryAt: null };
    this.events.emit('status', this.status);
  }
  receive(m: RobotMessage): void {
    this.events.emit('message', m);
  }
  audio(f: AudioFrame): void {
    this.events.emit('audio', f);
  }
  sentOfType<T extends ClientMessage['type']>(type: T): Extract<ClientMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ClientMessage, { type: T }> => m.type === type);
  }
}

/** A relay link for tests of the path selector and views: robot presence set by the test. */
export class FakeRelayLink extends FakeLink {
  readonly relay = new Emitter<RelayEvents>();
  robotOnline: boolean | null = null;
  refreshes = 0;
  onRelay<K extends keyof RelayEvents>(type: K, fn: (value: RelayEvents[K]) => void): () => void {
    return this.relay.on(type, fn);
  }
  refresh(): boolean {
    this.refreshes++;
    return true;
  }
  online(v: boolean): void {
    this.robotOnline = v;
    this.relay.emit('robot', v);
  }
}

export const uniqueDbName = (): string => `havatar-test-${Date.now()}-${Math.random().toString(36).slice(2)}`;
