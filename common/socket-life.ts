// One relay connection's lifecycle, after its handshake (server.ts authenticates and refuses before
// the upgrade, so a socket that gets here is known):
//
//   joining ──▶ open ──▶ closing ──▶ closed
//      │          └────────────────────▲      (terminated, or the peer closed first)
//      └──▶ closing / closed                  (gone while the hub looked its lease up)
//
// A client starts `joining` (the hub holds its frames while it reads the lease), a robot `open`.
// Every close the relay starts goes through close(): once only, and a peer that never answers the
// close handshake is terminated after CLOSE_GRACE_MS. The socket's 'close' event is the one way
// into `closed`, and it clears every timer this connection started.
import { StateMachine, Timers, type Transitions } from '../../common/state-machine.ts';

export type ConnState = 'joining' | 'open' | 'closing' | 'closed';

export const CONN_TRANSITIONS: Transitions<ConnState> = {
  joining: ['open', 'closing', 'closed'],
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** How long a closing peer has to answer the close handshake before it is cut off. */
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

  constructor(private readonly ws: ClosableSocket, initial: 'joining' | 'open', name = 'relay connection') {
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

  /** Starts the close handshake (once; a second call while closing or closed does nothing). */
  close(code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    if (!this.machine.is('joining', 'open')) return;
    this.machine.to('closing');
    // Armed before close(): a socket that closes at once clears it in the same call.
    this.timers.after(graceMs, () => this.ws.terminate(), 'close-grace');
    this.ws.close(code, reason.slice(0, 120));
  }

  private closed(): void {
    this.timers.clearAll();
    if (!this.machine.is('closed')) this.machine.to('closed');
  }
}
