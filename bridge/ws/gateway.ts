// The /ws endpoint: authenticates the HTTP handshake BEFORE upgrading (a refused client gets a
// plain 401 and never a WebSocket), then runs each connection: every frame through the protocol
// validator, one handler per message type, telemetry at 5 Hz, lease/stopped/talk broadcasts,
// robot-mic audio to sessions that asked (?audio=1), ping/pong to find dead sockets.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../common/log.ts';
import { CloseCode, MAX_BINARY_FRAME_BYTES, MAX_TEXT_FRAME_BYTES } from '../../protocol/limits.ts';
import {
  errorCodeFor, msg, parseClientMessage, type ClientMessage, type LeaseStateMsg, type RobotMessage,
  type RecordingMsg, type StoppedMsg, type TalkStateMsg, type TelemetryMsg, type WelcomeMsg,
} from '../../protocol/messages.ts';
import { refuseHandshake } from '../../common/handshake.ts';
import { Timers } from '../../common/state-machine.ts';
import { driveLimits, welcomeMsg } from '../../common/welcome.ts';
import { clientAddress, type Access } from '../auth/access.ts';
import type { Config } from '../config/schema.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { Lease } from '../safety/lease.ts';
import type { Motion, StopEvent } from '../safety/motion.ts';
import type { HandlerContext } from './context.ts';
import { handlers } from './handlers/index.ts';
import { releaseLease } from './handlers/lease.ts';
import { handleAudioFrame } from './handlers/talk.ts';
import { MicFeed } from './mic-feed.ts';
import { MAX_BAD_FRAMES, Session, type Peer } from './session.ts';
import { telemetryFrame } from './telemetry.ts';

export const TELEMETRY_INTERVAL_MS = 200;
export const PING_INTERVAL_MS = 10_000;
/** Connections beyond this are refused at the handshake (503): a Pi serves a handful of operators. */
export const MAX_SESSIONS = 16;

export interface GatewayOptions {
  access: Access;
  lease: Lease;
  motion: Motion;
  hardware: Hardware;
  config: () => Config;
  log: Logger;
  pingIntervalMs?: number;
  telemetryIntervalMs?: number;
  maxSessions?: number;
}

/** The bridge's refusals are `{ok:false, msg}`, like its HTTP API's errors. */
const refuse = (socket: Duplex, status: number, message: string): void => refuseHandshake(socket, status, { ok: false, msg: message });

export class WsGateway {
  private wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(MAX_TEXT_FRAME_BYTES, MAX_BINARY_FRAME_BYTES), clientTracking: false });
  private sessions = new Map<string, Session>();
  private readonly timers = new Timers();
  private talker: Peer | null = null;
  /** Server mode's last word on recording, for operators who join (null: none to tell). */
  private recording: RecordingMsg | null = null;
  private broadcastSinks = new Set<(m: RobotMessage) => void>();
  private readonly mic: MicFeed;
  private ctx: HandlerContext;
  private unsubscribe: (() => void)[] = [];
  private closing = false;

  constructor(private opts: GatewayOptions) {
    const { lease, motion, hardware, config, log } = opts;
    this.ctx = {
      lease, motion, hardware, config, log,
      broadcast: (m) => this.broadcast(m), setTalker: (s) => this.setTalker(s), talker: () => this.talker?.id ?? null,
    };
    this.mic = new MicFeed(opts.hardware.mic, () => this.audioListeners);
    this.unsubscribe.push(opts.lease.onChange(() => this.sendLeaseToAll()));
    const onStopped = (e: StopEvent) => this.broadcast(msg<StoppedMsg>({ type: 'stopped', ...e }));
    opts.motion.on('stopped', onStopped);
    this.unsubscribe.push(() => opts.motion.off('stopped', onStopped));
    const onMicFrame = (pcm: Buffer) => this.fanOutMic(pcm);
    hardware.mic?.on('frame', onMicFrame);
    this.unsubscribe.push(() => hardware.mic?.off('frame', onMicFrame));
    this.timers.every(opts.telemetryIntervalMs ?? TELEMETRY_INTERVAL_MS, () => this.sendTelemetry(), 'telemetry');
    this.timers.every(opts.pingIntervalMs ?? PING_INTERVAL_MS, () => this.pingAll(), 'ping');
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  get audioListeners(): number {
    return [...this.sessions.values()].filter((s) => s.wantsAudio).length;
  }

  /** For the server's 'upgrade' event. Authenticates first; only then speaks WebSocket. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://bridge');
    if (url.pathname !== '/ws') return refuse(socket, 404, 'no WebSocket here: use /ws');
    if (this.closing) return refuse(socket, 503, 'the bridge is shutting down');
    const auth = await this.opts.access.authenticate(req, { upgrade: true });
    if (!auth.ok) return refuse(socket, auth.status, auth.status === 401 ? `operator token required (${auth.reason})` : auth.reason);
    if (this.sessions.size >= (this.opts.maxSessions ?? MAX_SESSIONS)) return refuse(socket, 503, 'too many operators connected');
    if (socket.destroyed) return;
    const wantsAudio = url.searchParams.get('audio') === '1';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, wantsAudio, clientAddress(req)));
  }

  private accept(ws: WebSocket, wantsAudio: boolean, address: string): void {
    const session = new Session(ws, wantsAudio, address);
    this.sessions.set(session.id, session);
    this.opts.log.info('operator connected', { session: session.id, address, audio: wantsAudio, clients: this.sessions.size });
    ws.on('pong', () => { session.alive = true; });
    ws.on('message', (data, isBinary) => this.onFrame(session, data, isBinary));
    ws.on('error', (err) => this.opts.log.warn('socket error', { session: session.id, err }));
    ws.on('close', (code) => void this.onClose(session, code));

    session.send(this.welcome(session.id));
    session.send(this.leaseStateFor(session));
    session.send(this.talkState());
    if (this.recording) session.send(this.recording);
    this.mic.update(this.closing);
  }

  private onFrame(session: Session, data: RawData, isBinary: boolean): void {
    const arrivedAt = Date.now();
    if (session.closed) return;
    if (!session.withinRate(isBinary, arrivedAt)) {
      session.sendError('rate_limited', 'too many messages: slow down');
      session.close(CloseCode.rateLimited, 'rate limited');
      this.opts.log.warn('operator rate limited', { session: session.id, address: session.address });
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      const problem = handleAudioFrame(this.ctx, session, bytes);
      if (problem) this.badFrame(session, 'bad_message', problem);
      return;
    }
    const parsed = parseClientMessage(bytes.toString('utf8'));
    if (!parsed.ok) {
      this.badFrame(session, errorCodeFor(parsed.error, parsed.field), parsed.error, parsed.field);
      return;
    }
    this.dispatch(session, parsed.value, arrivedAt);
  }

  /** Runs one validated client message through its handler: local sessions and relay peers alike. */
  dispatch(session: Peer, m: ClientMessage, arrivedAt: number): void {
    const handler = handlers[m.type] as (ctx: HandlerContext, s: Peer, m: ClientMessage, at: number) => void | Promise<void>;
    try {
      const r = handler(this.ctx, session, m, arrivedAt);
      if (r) r.catch((err: unknown) => this.handlerFailed(session, m, err));
    } catch (err) {
      this.handlerFailed(session, m, err);
    }
  }

  private handlerFailed(session: Peer, m: ClientMessage, err: unknown): void {
    this.opts.log.error('handler failed', { session: session.id, type: m.type, err });
    session.sendError('internal', 'the robot could not handle that message', undefined, m.type);
  }

  private badFrame(session: Session, code: Parameters<Session['sendError']>[0], error: string, field?: string): void {
    session.badFrames++;
    session.sendError(code, error, field);
    if (session.badFrames > MAX_BAD_FRAMES) {
      this.opts.log.warn('closing a connection that keeps sending invalid frames', { session: session.id, address: session.address, badFrames: session.badFrames });
      session.close(CloseCode.badMessage, 'too many invalid messages');
    }
  }

  private async onClose(session: Session, code: number): Promise<void> {
    this.sessions.delete(session.id);
    this.opts.log.info('operator disconnected', { session: session.id, code, clients: this.sessions.size });
    await this.peerGone(session);
    this.mic.update(this.closing);
  }

  /** A peer went away (socket closed, relay client left, relay link lost). */
  async peerGone(peer: Peer, reason: 'disconnect' | 'lease_released' = 'disconnect'): Promise<void> {
    if (this.talker?.id === peer.id) this.setTalker(null);
    // A departing driver leaves a stopped robot, whatever it was doing.
    const wasDriver = this.opts.lease.isDriver(peer.id);
    await this.opts.motion.sessionGone(peer.id, reason);
    if (wasDriver) this.opts.lease.release(peer.id);
  }

  /** The peer lets go of the lease (the relay moved its lease elsewhere): same as `lease release`. */
  async release(peer: Peer): Promise<void> {
    await releaseLease(this.ctx, peer);
  }

  /** Ends `peer`'s talk if it holds the speaker (its talk stream ended by itself). */
  endTalk(peerId: string): void {
    if (this.talker?.id === peerId) this.setTalker(null);
  }

  broadcast(m: RobotMessage): void {
    for (const s of this.sessions.values()) s.send(m);
    for (const sink of this.broadcastSinks) sink(m);
  }

  /**
   * Whether the server records this robot (server mode, the relay's frame): told to the local
   * operators now and to each that joins, so they see it as the relay's own clients do. Not a
   * broadcast: the relay's clients hear it from the relay, which alone may say it. null: stop
   * telling joiners (the caller has said what is known now).
   */
  setRecording(m: RecordingMsg | null): void {
    this.recording = m;
    if (m) for (const s of this.sessions.values()) s.send(m);
  }

  /** Also sends every broadcast (stopped, talk_state, …) to `sink` (the relay link); returns the unsubscribe. */
  onBroadcast(sink: (m: RobotMessage) => void): () => void {
    this.broadcastSinks.add(sink);
    return () => this.broadcastSinks.delete(sink);
  }

  /** Keeps the microphone running for someone besides the WebSocket listeners (server-mode publisher). */
  setMicDemand(who: string, wanted: boolean): void {
    this.mic.setDemand(who, wanted);
    this.mic.update(this.closing);
  }

  /** The welcome for `session`, from this robot's real settings (its deadman above all). */
  welcome(session: string): WelcomeMsg {
    const cfg = this.opts.config();
    return welcomeMsg({ session, robot: cfg.robot.name, driver: this.opts.lease.driver?.session ?? null, limits: driveLimits(cfg.safety.deadman_ms) });
  }

  private leaseStateFor(session: Session): LeaseStateMsg {
    const d = this.opts.lease.driver;
    const m: Omit<LeaseStateMsg, 'v'> = { type: 'lease', driver: d?.session ?? null, driverName: d?.name ?? null, you: d?.session === session.id };
    const requestedBy = this.opts.lease.pendingRequest;
    if (requestedBy) m.requestedBy = requestedBy;
    return msg<LeaseStateMsg>(m);
  }

  private sendLeaseToAll(): void {
    for (const s of this.sessions.values()) s.send(this.leaseStateFor(s));
  }

  /**
   * 'playing' while a talker holds the speaker; for talk read from the server, only once its audio
   * actually flows (until then the talker is named and the speaker still idle).
   */
  talkState(): TalkStateMsg {
    const t = this.talker;
    const playing = !!t && (!t.talkAudio || t.talkAudio.flowing);
    return msg<TalkStateMsg>({ type: 'talk_state', speaker: playing ? 'playing' : 'idle', by: t?.id ?? null });
  }

  /** A remote talk stream started or stopped flowing: tell everyone. */
  talkFlowChanged(): void {
    this.broadcast(this.talkState());
  }

  private setTalker(peer: Peer | null): void {
    const prev = this.talker;
    if ((peer?.id ?? null) === (prev?.id ?? null)) return;
    const speaker = this.opts.hardware.speaker;
    if (prev) {
      if (prev.talkAudio) prev.talkAudio.stop();
      else speaker?.stop();
    }
    this.talker = peer;
    if (peer) {
      if (peer.talkAudio) peer.talkAudio.start();
      else speaker?.start();
    }
    this.broadcast(this.talkState());
  }

  /** The telemetry frame as of now (the relay link sends the same to its clients). */
  telemetry(): TelemetryMsg {
    return telemetryFrame(this.opts.hardware);
  }

  private sendTelemetry(): void {
    if (!this.sessions.size) return;
    const text = JSON.stringify(this.telemetry());
    for (const s of this.sessions.values()) s.sendOptional(text);
  }

  private pingAll(): void {
    for (const s of this.sessions.values()) {
      if (!s.pingOrReap()) this.opts.log.warn('no pong: closing a dead connection', { session: s.id });
    }
  }

  get audioStreaming(): boolean {
    return this.mic.running;
  }

  private fanOutMic(pcm: Buffer): void {
    const frame = this.mic.frame(pcm);
    for (const s of this.sessions.values()) if (s.wantsAudio) s.sendOptional(frame);
  }

  /** Closes every connection (shutting down) and stops the timers. */
  async close(): Promise<void> {
    this.closing = true;
    this.timers.clearAll();
    for (const u of this.unsubscribe) u();
    this.setTalker(null);
    this.mic.update(true);
    const closed = [...this.sessions.values()].map((s) => new Promise<void>((resolve) => {
      s.ws.once('close', () => resolve());
      s.close(CloseCode.shuttingDown, 'the robot is shutting down');
      setTimeout(resolve, 1000).unref();
    }));
    await Promise.all(closed);
    this.wss.close();
  }
}
