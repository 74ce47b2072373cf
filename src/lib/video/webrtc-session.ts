// One WHEP or WHIP session as an explicit state machine (after MediaMTX's own reader.js/publisher.js,
// written again for this app); every allowed move is listed once in webrtc-session-state.ts, and
// drawn in docs/ARCHITECTURE.md:
//
//   idle → offering (OPTIONS for ICE servers, createOffer, POST the SDP) → connecting (answer set,
//   candidates trickled with PATCH, waiting for ICE) → connected
//   any failure → teardown (close the peer connection, DELETE the session URL) → restarting
//   (named pause, then offering again) or failed (autoRestart off: the owner decides) · closed on
//   purpose, never restarted.
//
// Every await is followed by a check that this run is still the current one and still in the state
// it expects, so a close() or a failure in the meantime wins. Every timer is cleared in teardown.

import { StateMachine, Timers } from '../../../common/state-machine.ts';
import { RTC_TRANSITIONS, type RtcFailure, type RtcState } from './webrtc-session-state.ts';
import { parseIceServers, parseOffer, sdpFragment, sessionUrl, type CandidateLike, type OfferData } from './webrtc-sdp.ts';

export { RTC_TRANSITIONS, type RtcFailure, type RtcState } from './webrtc-session-state.ts';

export const RETRY_PAUSE_MS = 2000;
/** From the answer to a connected peer connection; beyond it UDP is probably blocked. */
export const ICE_TIMEOUT_MS = 3000;
/** An HTTP exchange with MediaMTX longer than this counts as unreachable. */
export const HTTP_TIMEOUT_MS = 5000;

export interface RtcSessionOptions {
  /** 'whep' reads, 'whip' publishes: used in messages only. */
  kind: 'whep' | 'whip';
  url: string;
  /** Session token, sent as `Authorization: Bearer`; read at every request (it is refreshed). */
  token: () => string;
  /** Adds transceivers/tracks to a fresh peer connection. */
  setup: (pc: RTCPeerConnection) => void;
  /** Rewrites the server's answer before it is applied. */
  editAnswer?: (sdp: string) => string;
  autoRestart?: boolean;
  retryPauseMs?: number;
  iceTimeoutMs?: number;
  fetch?: typeof fetch;
  PeerConnection?: typeof RTCPeerConnection;
  onChange?: () => void;
  log?: (line: string) => void;
}

export class RtcSession {
  private readonly machine: StateMachine<RtcState>;
  private why: { failure: RtcFailure | null; error: string | null } = { failure: null, error: null };
  /** The peer connection of the current run (null between runs). */
  pc: RTCPeerConnection | null = null;
  /** Resolved session URL (Location) of the current run. */
  resource: string | null = null;
  /** Was this run ever connected (decides `ice` vs `dropped`). */
  private wasConnected = false;
  private run = 0;
  private offer: OfferData | null = null;
  private queued: CandidateLike[] = [];
  /** The retry pause and the ICE deadline. */
  private readonly timers = new Timers();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: RtcSessionOptions) {
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.machine = new StateMachine(`${opts.kind} session`, 'idle', RTC_TRANSITIONS);
  }

  get state(): RtcState {
    return this.machine.state;
  }
  get failure(): RtcFailure | null {
    return this.why.failure;
  }
  get error(): string | null {
    return this.why.error;
  }

  start(): void {
    if (!this.machine.is('idle', 'failed', 'closed')) return;
    void this.begin();
  }

  /** Ends the session for good (DELETE sent), no restart. */
  close(): void {
    this.teardown();
    if (this.state !== 'closed') this.set('closed', null, null);
  }

  /** The owner saw the media die (e.g. no decoded frames): same path as a peer connection failure. */
  fail(failure: RtcFailure, error: string): void {
    if (!this.machine.is('offering', 'connecting', 'connected')) return;
    this.onFailure(failure, error);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = this.opts.token();
    return token ? { Authorization: `Bearer ${token}`, ...extra } : extra;
  }

  /** One attempt, in its steps; each step returns null once this run is over (closed, restarted, failed). */
  private async begin(): Promise<void> {
    this.teardown();
    const run = ++this.run;
    this.wasConnected = false;
    this.set('offering', null, null);
    const iceServers = await this.fetchIceServers(run);
    if (!iceServers) return;
    const pc = this.newPeerConnection(run, iceServers);
    const offerSdp = await this.makeOffer(run, pc);
    if (offerSdp === null) return;
    const res = await this.postOffer(run, offerSdp);
    if (!res || !(await this.applyAnswer(run, pc, res))) return;
    // Candidates found before the answer.
    if (this.queued.length && this.resource) {
      const batch = this.queued;
      this.queued = [];
      void this.patch(run, batch);
    }
  }

  /** Still this run, in one of `states`. */
  private live(run: number, ...states: RtcState[]): boolean {
    return run === this.run && states.includes(this.state);
  }

  /** ICE servers from OPTIONS (a server without OPTIONS support just gives none). */
  private async fetchIceServers(run: number): Promise<RTCIceServer[] | null> {
    try {
      const res = await this.http(this.opts.url, { method: 'OPTIONS', headers: this.headers() });
      if (!this.live(run, 'offering')) return null;
      return parseIceServers(res.headers.get('Link'));
    } catch (e) {
      if (this.live(run, 'offering')) this.onFailure('unreachable', `${this.opts.kind.toUpperCase()} server unreachable: ${(e as Error).message}`);
      return null;
    }
  }

  private newPeerConnection(run: number, iceServers: RTCIceServer[]): RTCPeerConnection {
    const Pc = this.opts.PeerConnection ?? RTCPeerConnection;
    const pc = new Pc({ iceServers });
    this.pc = pc;
    this.opts.setup(pc);
    let gathered = 0;
    pc.onicegatheringstatechange = () => {
      // No local candidate at all (UDP disabled by policy or network): no path can ever form, so
      // fail now rather than wait out the ICE deadline.
      if (run === this.run && pc.iceGatheringState === 'complete' && gathered === 0 && (this.state === 'offering' || this.state === 'connecting')) {
        this.onFailure('ice', 'No network path for media (UDP blocked?).');
      }
    };
    pc.onicecandidate = (ev) => {
      if (run !== this.run || !ev.candidate) return;
      gathered++;
      const c: CandidateLike = { candidate: ev.candidate.candidate, sdpMLineIndex: ev.candidate.sdpMLineIndex };
      if (this.resource && this.offer) void this.patch(run, [c]);
      else this.queued.push(c);
    };
    pc.onconnectionstatechange = () => {
      if (run !== this.run) return;
      const s = pc.connectionState;
      if (s === 'connected' && this.state === 'connecting') {
        this.timers.clear('ice');
        this.wasConnected = true;
        this.set('connected', null, null);
      } else if (s === 'failed') {
        this.onFailure(this.wasConnected ? 'dropped' : 'ice', this.wasConnected ? 'The media connection broke.' : 'No media path to the server (ICE failed).');
      }
    };
    return pc;
  }

  private async makeOffer(run: number, pc: RTCPeerConnection): Promise<string | null> {
    try {
      const offer = await pc.createOffer();
      if (!this.live(run, 'offering')) return null;
      await pc.setLocalDescription(offer);
      if (!this.live(run, 'offering')) return null;
      const sdp = offer.sdp ?? '';
      this.offer = parseOffer(sdp);
      return sdp;
    } catch (e) {
      if (this.live(run, 'offering')) this.onFailure('bad_request', `Cannot make a WebRTC offer: ${(e as Error).message}`);
      return null;
    }
  }

  /** POSTs the offer; the 201 answer, or null after saying why there is none. */
  private async postOffer(run: number, offerSdp: string): Promise<Response | null> {
    let res: Response;
    try {
      res = await this.http(this.opts.url, { method: 'POST', headers: this.headers({ 'Content-Type': 'application/sdp' }), body: offerSdp });
    } catch (e) {
      if (this.live(run, 'offering')) this.onFailure('unreachable', `${this.opts.kind.toUpperCase()} server unreachable: ${(e as Error).message}`);
      return null;
    }
    if (!this.live(run, 'offering')) return null;
    if (res.status === 201) return res;
    const detail = await errorText(res);
    if (!this.live(run, 'offering')) return null;
    if (res.status === 404) this.onFailure('not_found', 'The robot is not streaming to the server.');
    else if (res.status === 401 || res.status === 403) this.onFailure('refused', `The server refused the session (${res.status}${detail ? `: ${detail}` : ''}).`);
    else this.onFailure('bad_request', `The server answered ${res.status}${detail ? `: ${detail}` : ''}.`);
    return null;
  }

  /** Applies the answer; from here only ICE/DTLS is left, against its deadline. */
  private async applyAnswer(run: number, pc: RTCPeerConnection, res: Response): Promise<boolean> {
    this.resource = sessionUrl(res.headers.get('Location'), this.opts.url);
    try {
      const answer = await res.text();
      if (!this.live(run, 'offering')) return false;
      this.set('connecting', null, null);
      this.timers.after(this.opts.iceTimeoutMs ?? ICE_TIMEOUT_MS, () => {
        if (run === this.run && this.state === 'connecting') this.onFailure('ice', 'No media path to the server within a few seconds (UDP blocked?).');
      }, 'ice');
      await pc.setRemoteDescription({ type: 'answer', sdp: this.opts.editAnswer ? this.opts.editAnswer(answer) : answer });
      return this.live(run, 'connecting', 'connected');
    } catch (e) {
      if (this.live(run, 'offering', 'connecting')) this.onFailure('bad_request', `The server's answer is unusable: ${(e as Error).message}`);
      return false;
    }
  }

  private async patch(run: number, candidates: CandidateLike[]): Promise<void> {
    const resource = this.resource;
    const offer = this.offer;
    if (!resource || !offer) return;
    try {
      const res = await this.http(resource, {
        method: 'PATCH',
        headers: this.headers({ 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' }),
        body: sdpFragment(offer, candidates),
      });
      if (run !== this.run) return;
      // A server without trickle support answers 405/501: the candidates in the offer must do.
      if (res.status !== 204 && res.status !== 200) this.opts.log?.(`${this.opts.kind} PATCH answered ${res.status}`);
    } catch (e) {
      if (run === this.run) this.opts.log?.(`${this.opts.kind} PATCH failed: ${(e as Error).message}`);
    }
  }

  private onFailure(failure: RtcFailure, error: string): void {
    this.opts.log?.(`${this.opts.kind}: ${error}`);
    this.teardown();
    if (this.opts.autoRestart ?? true) {
      const pause = this.opts.retryPauseMs ?? RETRY_PAUSE_MS;
      this.set('restarting', failure, `${error} Retrying in ${(pause / 1000).toFixed(0)} s.`);
      const run = this.run;
      this.timers.after(pause, () => {
        if (run === this.run && this.state === 'restarting') void this.begin();
      }, 'retry');
    } else {
      this.set('failed', failure, error);
    }
  }

  /** Closes the peer connection, DELETEs the session, clears every timer; the caller sets the state. */
  private teardown(): void {
    this.run++;
    this.timers.clearAll();
    const pc = this.pc;
    this.pc = null;
    if (pc) {
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    const resource = this.resource;
    this.resource = null;
    this.offer = null;
    this.queued = [];
    // Best effort: MediaMTX also drops the session when the peer connection times out.
    if (resource) void this.http(resource, { method: 'DELETE', headers: this.headers(), keepalive: true }).catch(() => {});
  }

  private async http(url: string, init: RequestInit): Promise<Response> {
    return this.fetchImpl(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  }

  /** The one transition function: refused (loudly, see state-machine.ts) when the table forbids it. */
  private set(state: RtcState, failure: RtcFailure | null, error: string | null): void {
    if (!this.machine.to(state)) return;
    this.why = { failure, error };
    this.opts.onChange?.();
  }
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') return j.error;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200).trim();
}
