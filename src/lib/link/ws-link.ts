// Local mode's link: one WebSocket to the bridge's /ws, as an explicit state machine
// (idle → connecting → live ⇄ degraded → lost → connecting …, closed on purpose or when refused).
// Every socket callback checks it still belongs to the current socket; every timer is cleared on
// each transition; nothing is queued here.

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
}

export const DEFAULT_TIMING: LinkTiming = {
  connectTimeoutMs: 5000,
  heartbeatMs: 500,
  degradedAfterMs: 1200,
  degradedRttMs: 600,
  lostAfterMs: 4000,
  // Several phones reconnecting to a rebooting robot spread out (jitter).
  backoff: { baseMs: 500, maxMs: 8000, jitter: true },
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
      this.open();
    }
  }

  stop(reason = 'Disconnected.'): void {
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
    ws.onopen = () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify(msg<HelloMsg>({ type: 'hello', ...this.opts.hello() })));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      const final = FINAL_CLOSES[ev.code];
      if (final) {
        this.teardown();
        this.setState('closed', final);
      } else {
        this.fail(`Connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}).`);
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
        this.setState('live', null);
        this.startHeartbeat();
        break;
      case 'heartbeat_ack':
        this.heartbeatRttMs = Math.max(0, at - m.t);
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
      this.fail(`No answer from the robot for ${Math.round(silence / 100) / 10} s.`);
      return;
    }
    ws.send(JSON.stringify(msg<HeartbeatMsg>({ type: 'heartbeat', t: at })));
    if (this.current.state === 'live' && !this.healthy(at)) {
      this.setState('degraded', silence > this.timing.degradedAfterMs
        ? `No answer from the robot for ${Math.round(silence / 100) / 10} s.`
        : `Slow link: round trip ${this.heartbeatRttMs} ms.`);
    }
  }

  private healthy(at: number): boolean {
    return at - this.lastRx <= this.timing.degradedAfterMs && (this.heartbeatRttMs ?? 0) <= this.timing.degradedRttMs;
  }

  private fail(reason: string): void {
    this.teardown();
    const delay = backoffDelay(this.attempt, this.timing.backoff);
    const retryAt = this.now() + delay;
    this.setState('lost', `${reason} Retrying in ${(delay / 1000).toFixed(1)} s.`, retryAt);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current.state === 'lost') this.open();
    }, delay);
  }

  /** Drops the socket and every timer; the state is set by the caller. */
  private teardown(code?: number, why?: string): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.beatTimer);
    this.connectTimer = this.retryTimer = this.beatTimer = undefined;
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
