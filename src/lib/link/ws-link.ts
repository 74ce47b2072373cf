// Local mode's link: one WebSocket to the bridge's /ws, as an explicit state machine
// (idle → connecting → live ⇄ degraded → lost → connecting …, closed on purpose or when refused).
// Every socket callback checks it still belongs to the current socket; every timer is cleared on
// each transition; nothing is queued here.
//
// Recovery after a network loss (the goal: back ≤ 2 s after a 10 s outage ends). A link that was
// up and went silent or dropped (a tunnel, a dead cell, a Wi-Fi handover) reconnects in a tighter
// loop for recovery.forMs: an attempt that is still opening after recovery.openMs (no SYN-ACK:
// nothing reaches the far side) is abandoned for a fresh socket, whose SYN goes out at once rather
// than on TCP's 1 s, 3 s, 7 s… retransmission timer, and the pauses between attempts stay short
// (recovery.backoff, still jittered). In ws-link.test.ts's model of outages of 10-16 s the plain
// loop was back up to 2.9 s after the network (more after longer outages: its attempts wait 5 s
// and its pauses double to 8 s), this one within 1.3 s; end to end, e2e/field-outage.test.ts and
// docs/RELIABILITY.md. It costs one SYN per ~1.2 s into a dead network. It is not used when the far side answers and
// refuses (a restarting robot or relay: the socket closes before it opens, with the network up)
// or closes the socket itself: then the plain backoff (up to 8 s, jittered) spreads the phones
// out, as it does after recovery.forMs, so a server that comes back is not met by all its clients at
// once. The browser's `online` event and the page becoming visible retry at once (signals).

import { decodeAudioFrame } from '../../../protocol/audio.ts';
import { CloseCode } from '../../../protocol/limits.ts';
import { msg, parseRobotMessage, type ClientMessage, type HeartbeatMsg, type HelloMsg, type RecordingMsg, type WelcomeMsg } from '../../../protocol/messages.ts';
import { backoffDelay, type BackoffOptions } from '../../../common/backoff.ts';
import { ClockOffset } from './clock.ts';
import { Emitter } from './emitter.ts';
import type { Link, LinkEvents, LinkState, LinkStatus } from './link.ts';

export interface LinkTiming {
  /** Give up on a socket that has not said welcome by then. */
  connectTimeoutMs: number;
  heartbeatMs: number;
  /** Silence (no frame at all) after which the link counts as degraded: driving stops. */
  degradedAfterMs: number;
  /** A heartbeat round trip above this also counts as degraded. */
  degradedRttMs: number;
  /** Silence after which the socket is dropped and a reconnect scheduled. */
  lostAfterMs: number;
  backoff: BackoffOptions;
  /** After a live link was lost to the network (see the top of this file). */
  recovery: {
    /** An attempt still opening after this (or 4 round trips, if more) is abandoned for a fresh one. */
    openMs: number;
    /** The pause before each attempt while recovering. */
    backoff: BackoffOptions;
    /** How long after the loss to keep recovering; then the plain backoff. */
    forMs: number;
  };
}

export const DEFAULT_TIMING: LinkTiming = {
  connectTimeoutMs: 5000,
  heartbeatMs: 500,
  degradedAfterMs: 1200,
  degradedRttMs: 600,
  lostAfterMs: 4000,
  // Several phones reconnecting to a rebooting robot spread out (jitter).
  backoff: { baseMs: 500, maxMs: 8000, jitter: true },
  // A fresh SYN every ~1.1-1.25 s while nothing answers: the link is back ≤ ~1.3 s after the network
  // (one cycle and a handshake); jitter keeps the phones' attempts apart.
  recovery: { openMs: 1000, backoff: { baseMs: 125, maxMs: 250, jitter: true }, forMs: 30_000 },
};

/** What the page knows about the network: the OS's word and the moments worth a retry at once. */
export interface NetworkSignals {
  /** False when the OS says there is no network (navigator.onLine); true when it does not know. */
  online(): boolean;
  /** Calls fn when the network comes back (`online`) or the page is shown again; returns the unsubscribe. */
  onNudge(fn: (why: string) => void): () => void;
}

/** The browser's signals (none outside a page). */
export const browserSignals: NetworkSignals = {
  online: () => typeof navigator === 'undefined' || navigator.onLine !== false,
  onNudge(fn) {
    if (typeof window === 'undefined' || typeof document === 'undefined') return () => {};
    const online = () => fn('the network is back');
    // A hidden page's timers are throttled (to once a minute after a while): a retry may be far off.
    const shown = () => { if (document.visibilityState === 'visible') fn('the page is shown again'); };
    window.addEventListener('online', online);
    document.addEventListener('visibilitychange', shown);
    return () => {
      window.removeEventListener('online', online);
      document.removeEventListener('visibilitychange', shown);
    };
  },
};

type SocketCtor = new (url: string) => WebSocket;

export interface WsLinkOptions {
  url: () => string;
  hello: () => Omit<HelloMsg, 'v' | 'type'>;
  timing?: Partial<LinkTiming>;
  WebSocketImpl?: SocketCtor;
  now?: () => number;
  /** 'relay' when the socket goes to the relay (server mode); see relay-link.ts. */
  kind?: 'local' | 'relay';
  /**
   * Sees every parsed JSON text frame before the robot-message parser; returns true when it
   * consumed the frame (the relay's own `robot` / `session` notices). Counts as traffic either way.
   */
  intercept?: (frame: Record<string, unknown>) => boolean;
  /** The network's signals; the browser's by default. */
  signals?: NetworkSignals;
}

/** Close codes after which retrying with the same settings cannot help. */
const FINAL_CLOSES: Record<number, string> = {
  [CloseCode.unauthorized]: 'The robot refused the token: check it in Settings.',
};

export class WsLink implements Link {
  readonly kind: 'local' | 'relay';
  readonly clock = new ClockOffset();
  private readonly events = new Emitter<LinkEvents>();
  private readonly timing: LinkTiming;
  private readonly now: () => number;
  private ws: WebSocket | null = null;
  private current: LinkStatus = { state: 'idle', reason: null, retryAt: null };
  private attempt = 0;
  private lastRx = 0;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private beatTimer: ReturnType<typeof setInterval> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  /** When a live link was lost to the network; null when not recovering from such a loss. */
  private lostAt: number | null = null;
  /** The last heartbeat round trip measured, kept across sockets (sizes an attempt while recovering). */
  private lastRttMs = 0;
  private unnudge: (() => void) | null = null;
  welcome: WelcomeMsg | null = null;
  /** The bridge's last `recording` frame on this socket (the relay's word, passed on in server mode). */
  recording: RecordingMsg | null = null;
  heartbeatRttMs: number | null = null;

  constructor(private readonly opts: WsLinkOptions) {
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.now = opts.now ?? Date.now;
    this.kind = opts.kind ?? 'local';
  }

  get status(): LinkStatus {
    return this.current;
  }

  on<K extends keyof LinkEvents>(type: K, fn: (value: LinkEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  start(): void {
    if (this.current.state === 'idle' || this.current.state === 'closed') {
      this.attempt = 0;
      this.lostAt = null;
      this.unnudge ??= (this.opts.signals ?? browserSignals).onNudge((why) => this.nudge(why));
      this.open();
    }
  }

  stop(reason = 'Disconnected.'): void {
    this.unnudge?.();
    this.unnudge = null;
    this.lostAt = null;
    this.teardown(1000, 'client stop');
    this.setState('closed', reason);
  }

  send(message: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    if (this.current.state !== 'live' && this.current.state !== 'degraded' && message.type !== 'hello') return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /** An envelope that is not a ClientMessage (the relay's `refresh`); only on a usable link. */
  sendFrame(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (this.current.state !== 'live' && this.current.state !== 'degraded')) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  sendBinary(frame: Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.current.state !== 'live') return false;
    ws.send(frame);
    return true;
  }

  // ---- transitions ------------------------------------------------------------------------

  private open(): void {
    this.teardown();
    this.attempt++;
    let ws: WebSocket;
    const url = this.opts.url();
    try {
      ws = new (this.opts.WebSocketImpl ?? WebSocket)(url);
    } catch (e) {
      this.fail(`Cannot open ${redact(url)}: ${(e as Error).message}`);
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    this.setState('connecting', `Connecting to ${redact(url)} (attempt ${this.attempt})…`);
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws) this.fail('The robot did not answer in time.');
    }, this.timing.connectTimeoutMs);
    const openedAt = this.now();
    if (this.recovering()) {
      // Connecting (DNS, TCP, TLS, the upgrade) takes ~4 round trips; longer means nothing answers.
      const openMs = Math.min(this.timing.connectTimeoutMs, Math.max(this.timing.recovery.openMs, 4 * this.lastRttMs));
      this.openTimer = setTimeout(() => {
        if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) this.fail('No answer yet: the network may be down.', 'network');
      }, openMs);
    }
    ws.onopen = () => {
      if (this.ws !== ws) return;
      clearTimeout(this.openTimer);
      this.openTimer = undefined;
      ws.send(JSON.stringify(msg<HelloMsg>({ type: 'hello', ...this.opts.hello() })));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      const final = FINAL_CLOSES[ev.code];
      const wasUsable = this.current.state === 'live' || this.current.state === 'degraded';
      if (final) {
        this.teardown();
        this.setState('closed', final);
        return;
      }
      const why = `Connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}).`;
      if (wasUsable) {
        // 1006: no close frame, the connection just died (the network, or a crash the next
        // attempt will show). Any other code: the far side closed it on purpose (going away).
        this.fail(why, ev.code === 1006 ? 'network' : 'server');
      } else if (this.recovering() && this.now() - openedAt < this.timing.recovery.openMs) {
        // Refused at once: the far side is reachable and said no (or the OS has no network at all,
        // and its `online` event will say when there is one again).
        this.fail(why, this.signals().online() ? 'server' : 'network');
      } else {
        this.fail(why);
      }
    };
    // onerror is always followed by onclose, which decides what happens next.
    ws.onerror = () => {
      if (this.ws === ws) this.log('Socket error.');
    };
  }

  private receive(data: unknown): void {
    const at = this.now();
    this.lastRx = at;
    if (data instanceof ArrayBuffer) {
      const frame = decodeAudioFrame(new Uint8Array(data));
      if (frame.ok) this.events.emit('audio', frame.value);
      return;
    }
    if (this.opts.intercept && typeof data === 'string') {
      let frame: unknown = null;
      try {
        frame = JSON.parse(data);
      } catch {
        /* the robot-message parser reports it */
      }
      if (frame && typeof frame === 'object' && !Array.isArray(frame) && this.opts.intercept(frame as Record<string, unknown>)) return;
    }
    const parsed = parseRobotMessage(data);
    if (!parsed.ok) {
      this.log(`Ignored a bad message from the robot: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    switch (m.type) {
      case 'welcome':
        this.welcome = m;
        this.clock.sample(m.serverTime, at);
        clearTimeout(this.connectTimer);
        this.connectTimer = undefined;
        this.attempt = 0;
        this.lostAt = null;
        this.setState('live', null);
        this.startHeartbeat();
        break;
      case 'heartbeat_ack':
        this.heartbeatRttMs = this.lastRttMs = Math.max(0, at - m.t);
        this.clock.roundTrip(this.heartbeatRttMs);
        break;
      case 'telemetry':
        this.clock.sample(m.ts, at);
        break;
      case 'recording':
        this.recording = m;
        break;
      default:
        break; // the others only pass through to the listeners below
    }
    if (this.current.state === 'degraded' && this.healthy(at)) this.setState('live', null);
    this.events.emit('message', m);
  }

  private startHeartbeat(): void {
    clearInterval(this.beatTimer);
    this.beatTimer = setInterval(() => this.beat(), this.timing.heartbeatMs);
  }

  private beat(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const at = this.now();
    const silence = at - this.lastRx;
    if (silence > this.timing.lostAfterMs) {
      this.fail(`No answer from the robot for ${Math.round(silence / 100) / 10} s.`, 'network');
      return;
    }
    // The round trip goes with it: the robot counts half of it as the transit of what we send, so
    // its deadman runs from when we sent, not from when our messages arrived.
    const rtt = this.heartbeatRttMs === null ? {} : { rtt: Math.round(this.heartbeatRttMs) };
    ws.send(JSON.stringify(msg<HeartbeatMsg>({ type: 'heartbeat', t: at, ...rtt })));
    if (this.current.state === 'live' && !this.healthy(at)) {
      this.setState('degraded', silence > this.timing.degradedAfterMs
        ? `No answer from the robot for ${Math.round(silence / 100) / 10} s.`
        : `Slow link: round trip ${this.heartbeatRttMs} ms.`);
    }
  }

  private healthy(at: number): boolean {
    return at - this.lastRx <= this.timing.degradedAfterMs && (this.heartbeatRttMs ?? 0) <= this.timing.degradedRttMs;
  }

  /**
   * Drops the socket and schedules the next attempt. `network`: nothing answers (a live link went
   * silent or died, an attempt got no answer): recover in the tight loop, if not recovering
   * already. `server`: the far side answered and closed or refused: the plain backoff from here.
   */
  private fail(reason: string, cause?: 'network' | 'server'): void {
    this.teardown();
    if (cause === 'network' && this.lostAt === null && this.attempt === 0) this.lostAt = this.now();
    if (cause === 'server') this.lostAt = null;
    const delay = backoffDelay(this.attempt, this.recovering() ? this.timing.recovery.backoff : this.timing.backoff);
    const retryAt = this.now() + delay;
    this.setState('lost', `${reason} Retrying in ${(delay / 1000).toFixed(1)} s.`, retryAt);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current.state === 'lost') this.open();
    }, delay);
  }

  private recovering(): boolean {
    return this.lostAt !== null && this.now() - this.lostAt < this.timing.recovery.forMs;
  }

  private signals(): NetworkSignals {
    return this.opts.signals ?? browserSignals;
  }

  /** The network came back or the page was shown: retry now rather than after the pause. */
  private nudge(why: string): void {
    const st = this.current.state;
    const opening = st === 'connecting' && this.ws?.readyState === WebSocket.CONNECTING && this.recovering();
    const silent = st === 'degraded' && this.now() - this.lastRx > this.timing.degradedAfterMs;
    if (st !== 'lost' && !opening && !silent) return;
    this.log(`Retrying now: ${why}.`);
    // A silent socket is likely dead with the old network (a new address after a handover).
    if (silent && this.lostAt === null) this.lostAt = this.now();
    this.open();
  }

  /** Drops the socket and every timer; the state is set by the caller. */
  private teardown(code?: number, why?: string): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.openTimer);
    clearInterval(this.beatTimer);
    this.connectTimer = this.retryTimer = this.openTimer = this.beatTimer = undefined;
    const ws = this.ws;
    this.ws = null;
    this.welcome = null;
    this.heartbeatRttMs = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code ?? 1000, why);
    }
  }

  private setState(state: LinkState, reason: string | null, retryAt: number | null = null): void {
    const prev = this.current;
    if (prev.state === state && prev.reason === reason) return;
    this.current = { state, reason, retryAt };
    if (state === 'lost' || state === 'closed') this.recording = null;
    this.log(`${state}${reason ? ` — ${reason}` : ''}`);
    this.events.emit('status', this.current);
  }

  private log(text: string): void {
    this.events.emit('log', text);
  }
}

/** Log lines never show the token. */
export function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1…');
}
