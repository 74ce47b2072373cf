// One server-side WebSocket connection's lifecycle, after its handshake (both servers authenticate
// and refuse before the upgrade, so a socket that gets here is known):
//
//   joining ──▶ open ──▶ closing ──▶ closed
//      │          └────────────────────▲      (terminated, or the peer closed first)
//      └──▶ closing / closed                  (gone while the server was still setting it up)
//
// The relay's clients start `joining` (the hub holds their frames while it reads the lease); its
// robots and the bridge's sessions start `open`. Every close the server starts goes through
// close(): once only, and a peer that never answers the close handshake is terminated after the
// grace. The socket's 'close' event is the one way into `closed`, and it clears every timer this
// connection started.
import { StateMachine, Timers, type Transitions } from './state-machine.ts';

export type ConnState = 'joining' | 'open' | 'closing' | 'closed';

export const CONN_TRANSITIONS: Transitions<ConnState> = {
  joining: ['open', 'closing', 'closed'],
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** How long a closing peer has to answer the close handshake before it is cut off (the relay's). */
export const CLOSE_GRACE_MS = 1000;

/** The socket as far as a lifecycle uses it (ws's WebSocket, or a test's fake). */
export interface ClosableSocket {
  close(code: number, reason: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

export class ConnLife {
  private readonly machine: StateMachine<ConnState>;
  /** Every timer this connection starts; cleared when it is closed. */
  readonly timers = new Timers();

  constructor(
    private readonly ws: ClosableSocket,
    initial: 'joining' | 'open',
    /** Named in an illegal transition's message. */
    name: string,
    private readonly graceMs = CLOSE_GRACE_MS,
  ) {
    this.machine = new StateMachine<ConnState>(name, initial, CONN_TRANSITIONS);
    ws.once('close', () => this.closed());
  }

  get state(): ConnState {
    return this.machine.state;
  }

  /** Joined: its frames are routed from now on. */
  opened(): void {
    this.machine.to('open');
  }

  /** True once a close has started (closing) or finished (closed): nothing more is sent. */
  get ending(): boolean {
    return this.machine.is('closing', 'closed');
  }

  /** Starts the close handshake (once; a second call while closing or closed does nothing). */
  close(code: number, reason: string): void {
    if (!this.machine.is('joining', 'open')) return;
    this.machine.to('closing');
    // Armed before close(): a socket that closes at once clears it in the same call.
    this.timers.after(this.graceMs, () => this.ws.terminate(), 'close-grace');
    this.ws.close(code, reason.slice(0, 120));
  }

  private closed(): void {
    this.timers.clearAll();
    if (!this.machine.is('closed')) this.machine.to('closed');
  }
}
