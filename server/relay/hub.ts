// The sockets: robots on /ws/robot/:robotId, operators on /ws/client/:clientId. Every frame is
// validated (protocol/messages.ts, protocol/relay.ts); the relay owns the driver lease in server
// mode; frames for sockets on other relays go over the bus. Handshakes are authenticated in
// server.ts before the upgrade: a socket that reaches this file is already known.
// Hot path (measured with bench/relay/capacity.ts, `--cpu-prof`): on loopback most of the time is
// the kernel's work in write(2), so frames written in one turn of the event loop are corked per
// socket and flushed together; a socket heard from within half a ping interval is not pinged; a
// validated client message is forwarded as the text it came in; metric children are bound once.
// Silent sockets are judged after the poll phase has read what already arrived (see heartbeat()).
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import type { Logger } from '../../common/log.ts';
import {
  AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE, CloseCode, DEFAULT_DEADMAN_MS, DRIVER_SEND_INTERVAL_MS,
  MAX_DRIVE_TTL_MS, MAX_TEXT_FRAME_BYTES, PROTOCOL_VERSION,
} from '../../protocol/limits.ts';
import {
  errorCodeFor, msg, type ClientMessage, type ErrorCode, type ErrorMsg, type LeaseStateMsg, type RobotMessage,
  type Role, type WelcomeMsg,
} from '../../protocol/messages.ts';
import {
  parseClientToRelay, parseRobotToRelay, RelayCloseCode, type ForwardMsg, type RelayToClientMessage, type RelayToRobotMessage,
} from '../../protocol/relay.ts';
import type { Access } from './access.ts';
import type { Bus, BusEvent } from './bus.ts';
import type { RelayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';
import type { SessionRecord, Store } from './store.ts';

interface Conn {
  ws: WebSocket;
  /** The TCP socket under ws (corked while a turn of the event loop writes to it). */
  raw: Duplex;
  robot: string;
  lastSeen: number;
  /** Token bucket for the message rate limit, and consecutive refusals. */
  tokens: number;
  refill: number;
  strikes: number;
}
interface RobotConn extends Conn { kind: 'robot' }
interface ClientConn extends Conn {
  kind: 'client';
  id: string;
  session: SessionRecord;
  role: Role;
  name: string | null;
  lastRenew: number;
}
/**
 * Where the hub reads the time: `now` (wall clock) stamps pongs, heartbeats and lease renewals,
 * `mono` (monotonic) refills the rate buckets. Tests pass one fake clock for both.
 */
export interface HubClock { now(): number; mono(): number }
const REAL_CLOCK: HubClock = { now: () => Date.now(), mono: () => performance.now() };

interface LeaseView { driver: string | null; name: string | null; requestedBy: string | null; requestedName: string | null }

const NOBODY: LeaseView = { driver: null, name: null, requestedBy: null, requestedName: null };

export class Hub {
  private readonly robots = new Map<string, RobotConn>();
  private readonly clients = new Map<string, Map<string, ClientConn>>();
  private readonly leases = new Map<string, LeaseView>();
  private readonly perSecond: number[] = [];
  private count = 0;
  /** The last 2000 forward latencies (ms), a ring. */
  private readonly latencies: number[] = [];
  private latencyAt = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  /** When heartbeat() last ran (a late run means the relay itself was not listening). */
  private lastBeat: number;
  private skippedReap = false;
  /** Sockets written to in this turn of the event loop; uncorked by flush() in the check phase. */
  private readonly corked = new Set<Duplex>();
  private flushQueued = false;
  private gaugeDirty = false;
  /** Metric children used per message, bound once (a labelled inc() hashes its labels each call). */
  private readonly counted = new Map<string, { inc(): void }>();
  private readonly forwardSeconds;
  private readonly answerSeconds;

  constructor(
    private readonly access: Access,
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly limits: RelayLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly clock: HubClock = REAL_CLOCK,
  ) {
    this.lastBeat = clock.now();
    this.forwardSeconds = metrics.latency.labels({ direction: 'client_to_robot' });
    this.answerSeconds = metrics.latency.labels({ direction: 'robot_to_client' });
    bus.onEvent((ev) => this.onBus(ev));
    this.timers.push(setInterval(() => this.heartbeat(), limits.pingIntervalMs));
    this.timers.push(setInterval(() => void this.tick(), 1000));
  }

  // ---- connections ---------------------------------------------------------------------------

  addRobot(ws: WebSocket, robot: string, raw: Duplex): void {
    const old = this.robots.get(robot);
    if (old) { old.ws.close(CloseCode.replaced, 'replaced by a new connection'); this.robots.delete(robot); }
    const conn: RobotConn = { kind: 'robot', ws, raw, robot, ...this.freshConn() };
    this.robots.set(robot, conn);
    this.metrics.robots.set(this.robots.size);
    this.log.info('robot connected', { robot });
    void this.bus.setHosted(robot, true, this.limits.hostTtlMs).catch(() => {});
    ws.on('pong', () => { conn.lastSeen = this.clock.now(); });
    ws.on('error', (err) => this.log.warn('robot socket error', { robot, error: err }));
    ws.on('message', (data, isBinary) => this.fromRobot(conn, data as Buffer, isBinary));
    ws.on('close', () => {
      if (this.robots.get(robot) !== conn) return; // replaced: the new socket is the robot now
      this.robots.delete(robot);
      this.metrics.robots.set(this.robots.size);
      this.log.info('robot disconnected', { robot });
      void this.bus.setHosted(robot, false, 0).catch(() => {});
      this.toClients(robot, null, { v: 1, type: 'robot', robot, online: false });
    });
    // Tell the robot who is here (on this relay and, through the bus, on the others) and who drives.
    for (const c of this.clients.get(robot)?.values() ?? []) this.sendRobot(conn, this.joinFrame(c));
    const lease = this.leases.get(robot) ?? NOBODY;
    this.sendRobot(conn, { v: 1, type: 'driver', client: lease.driver, name: lease.name });
    this.bus.publish({ kind: 'resync', robot });
    this.toClients(robot, null, { v: 1, type: 'robot', robot, online: true });
  }

  clientCount(robot: string): number { return this.clients.get(robot)?.size ?? 0; }

  /** True when this client id is connected with another session (the caller refuses the upgrade). */
  clientIdTaken(robot: string, id: string, session: string): boolean {
    const c = this.clients.get(robot)?.get(id);
    return !!c && c.session.id !== session;
  }

  async addClient(ws: WebSocket, id: string, session: SessionRecord, raw: Duplex): Promise<void> {
    const robot = session.robot;
    // Frames that arrive while we look the lease up are held, then handled after the welcome.
    ws.on('error', () => { /* a protocol error closes the socket; the close handler cleans up */ });
    const early: [Buffer, boolean][] = [];
    const hold = (d: Buffer, b: boolean) => early.push([d, b]);
    ws.on('message', hold);
    const lease = (await this.currentLease(robot)) ?? NOBODY;
    const elsewhere = !this.robots.has(robot) && (await this.bus.hostedElsewhere(robot).catch(() => false));
    ws.off('message', hold);
    if (ws.readyState !== ws.OPEN) return; // gone while we waited
    if (elsewhere) this.remoteOnline.add(robot);
    let room = this.clients.get(robot);
    if (!room) { room = new Map(); this.clients.set(robot, room); }
    const old = room.get(id);
    if (old) { old.ws.close(CloseCode.replaced, 'replaced by a new connection'); room.delete(id); }
    const conn: ClientConn = { kind: 'client', ws, raw, robot, id, session, role: session.role, name: null, lastRenew: 0, ...this.freshConn() };
    room.set(id, conn);
    this.updateClientGauge();
    this.log.info('client connected', { robot, client: id, role: conn.role, session: session.id });
    ws.on('pong', () => { conn.lastSeen = this.clock.now(); });
    ws.on('error', (err) => this.log.warn('client socket error', { robot, client: id, error: err }));
    ws.on('message', (data, isBinary) => void this.fromClient(conn, data as Buffer, isBinary));
    ws.on('close', () => void this.clientGone(conn));

    const welcome = msg<WelcomeMsg>({
      type: 'welcome', session: id, robot, driver: lease.driver,
      audio: { format: 'pcm_s16le', rate: AUDIO_SAMPLE_RATE, channels: 1, frameMs: AUDIO_FRAME_MS },
      limits: { deadmanMs: DEFAULT_DEADMAN_MS, maxTtlMs: MAX_DRIVE_TTL_MS, sendIntervalMs: DRIVER_SEND_INTERVAL_MS },
      serverTime: Date.now(),
    });
    this.send(conn, welcome);
    this.send(conn, { v: 1, type: 'robot', robot, online: this.robots.has(robot) || elsewhere });
    this.send(conn, this.leaseFrame(lease, id));
    this.toRobot(robot, this.joinFrame(conn));
    for (const [d, b] of early) await this.fromClient(conn, d, b);
  }

  private freshConn() {
    return { lastSeen: this.clock.now(), tokens: this.limits.messageBurst, refill: this.clock.mono(), strikes: 0 };
  }

  private joinFrame(c: ClientConn): RelayToRobotMessage {
    return { v: 1, type: 'client', event: 'join', client: c.id, role: c.role, name: c.name };
  }

  private async clientGone(conn: ClientConn): Promise<void> {
    const room = this.clients.get(conn.robot);
    if (room?.get(conn.id) !== conn) return; // replaced
    room.delete(conn.id);
    if (!room.size) this.clients.delete(conn.robot);
    this.updateClientGauge();
    this.log.info('client disconnected', { robot: conn.robot, client: conn.id });
    const lease = this.leases.get(conn.robot);
    if (lease?.driver === conn.id) {
      // The driver is gone: the robot stops first, then the lease moves on.
      this.toRobot(conn.robot, { v: 1, type: 'forward', client: conn.id, msg: { v: 1, type: 'stop' } });
      await this.releaseLease(conn.robot, conn.id);
    } else if (lease?.requestedBy === conn.id) {
      this.announce(conn.robot, { ...lease, requestedBy: null, requestedName: null });
    }
    this.toRobot(conn.robot, { v: 1, type: 'client', event: 'leave', client: conn.id, role: conn.role, name: conn.name });
  }

  /** Recounted once per turn of the event loop (thousands of sockets connect in a burst). */
  private updateClientGauge(): void {
    this.gaugeDirty = true;
    this.queueFlush();
  }

  private countClients(): void {
    this.gaugeDirty = false;
    let drivers = 0, viewers = 0;
    for (const room of this.clients.values()) for (const c of room.values()) c.role === 'driver' ? drivers++ : viewers++;
    this.metrics.clients.set({ role: 'driver' }, drivers);
    this.metrics.clients.set({ role: 'viewer' }, viewers);
  }

  // ---- frames --------------------------------------------------------------------------------

  private countMessage(direction: 'client_to_relay' | 'robot_to_relay' | 'relay_to_robot', type: string): void {
    const key = `${direction} ${type}`;
    let c = this.counted.get(key);
    if (!c) { c = this.metrics.messages.labels({ direction, type }); this.counted.set(key, c); }
    c.inc();
  }

  /** Token bucket; true when the frame may pass. Too many refusals in a row close the socket. */
  private admit(conn: Conn): boolean {
    const now = this.clock.mono();
    conn.tokens = Math.min(this.limits.messageBurst, conn.tokens + ((now - conn.refill) / 1000) * this.limits.messagesPerSecond);
    conn.refill = now;
    conn.lastSeen = this.clock.now();
    if (conn.tokens >= 1) { conn.tokens -= 1; conn.strikes = 0; return true; }
    this.metrics.refused.inc({ code: 'rate_limited' });
    if (++conn.strikes >= this.limits.rateStrikes) conn.ws.close(CloseCode.rateLimited, 'rate limited');
    else this.send(conn, this.error('rate_limited', `more than ${this.limits.messagesPerSecond} messages per second`));
    return false;
  }

  private refuse(conn: Conn, code: ErrorCode, message: string, field?: string, ref?: string): void {
    this.metrics.refused.inc({ code });
    this.send(conn, this.error(code, message, field, ref));
  }

  private error(code: ErrorCode, message: string, field?: string, ref?: string): ErrorMsg {
    const e: ErrorMsg = { v: 1, type: 'error', code, message };
    if (field) e.field = field;
    if (ref) e.ref = ref;
    return e;
  }

  private async fromClient(conn: ClientConn, data: Buffer, isBinary: boolean): Promise<void> {
    const t0 = performance.now();
    if (!this.admit(conn)) return;
    if (isBinary) return this.refuse(conn, 'bad_message', 'binary frames are not relayed (talk goes over WHIP)');
    if (data.length > MAX_TEXT_FRAME_BYTES) return this.refuse(conn, 'too_large', `message larger than ${MAX_TEXT_FRAME_BYTES} bytes`);
    const text = data.toString('utf8');
    const parsed = parseClientToRelay(text);
    if (!parsed.ok) return this.refuse(conn, errorCodeFor(parsed.error, parsed.field), parsed.error, parsed.field);
    const m = parsed.value;
    this.countMessage('client_to_relay', m.type);
    this.count++;
    switch (m.type) {
      case 'refresh': {
        const issued = await this.access.refreshSession(conn.session);
        if (!issued) { conn.ws.close(CloseCode.unauthorized, 'session can no longer be refreshed'); return; }
        conn.session = issued.session;
        this.send(conn, { v: 1, type: 'session', token: issued.token, expiresAt: issued.session.expiresAt });
        return;
      }
      case 'hello':
        if (m.name) conn.name = m.name;
        this.toRobot(conn.robot, this.joinFrame(conn));
        if (m.want === 'driver') await this.takeLease(conn, true);
        return;
      case 'lease':
        if (m.action === 'take') return void (await this.takeLease(conn, false));
        if (m.action === 'release') return void (await this.releaseLease(conn.robot, conn.id));
        return this.requestLease(conn);
      case 'stop':
        return this.forward(conn, m, t0, text, data.length); // the stop button always works, whoever presses it
      case 'heartbeat':
        if (this.leases.get(conn.robot)?.driver === conn.id) this.renew(conn);
        return this.forward(conn, m, t0, text, data.length);
      case 'tts':
      case 'talk':
        if (conn.role !== 'driver') return this.refuse(conn, 'forbidden', 'viewers cannot talk', undefined, m.type);
        return this.forward(conn, m, t0, text, data.length);
      case 'drive':
      case 'motor':
        if (conn.role !== 'driver') return this.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, String(m.seq));
        if (this.leases.get(conn.robot)?.driver !== conn.id) return this.refuse(conn, 'not_driver', 'take the lease first', undefined, String(m.seq));
        this.renew(conn);
        return this.forward(conn, m, t0, text, data.length);
    }
  }

  /**
   * `text` is the message as it came in and as it was validated (parseClientMessage refuses unknown
   * fields, so it holds nothing else; the robot parses the same JSON with the same validator): a
   * robot here gets it inside the envelope as is, without a second stringify — unless its `bytes`
   * (UTF-8, as received) could push the envelope past the frame limit; then it is re-serialized.
   */
  private forward(conn: ClientConn, m: ClientMessage, t0: number, text: string, bytes: number): void {
    const frame: ForwardMsg = { v: 1, type: 'forward', client: conn.id, msg: m };
    const here = this.robots.get(conn.robot);
    const sent = here && bytes <= MAX_TEXT_FRAME_BYTES / 2
      ? this.sendRobot(here, frame, `{"v":1,"type":"forward","client":${JSON.stringify(conn.id)},"msg":${text}}`)
      : this.toRobot(conn.robot, frame);
    if (!sent) {
      this.refuse(conn, 'unavailable', 'robot offline', undefined, m.type);
      return;
    }
    const ms = performance.now() - t0;
    this.forwardSeconds.observe(ms / 1000);
    this.latencies[this.latencyAt] = ms;
    this.latencyAt = (this.latencyAt + 1) % 2000;
    this.log.debug('forwarded', { robot: conn.robot, client: conn.id, type: m.type, latencyMs: Number(ms.toFixed(3)) });
  }

  private fromRobot(conn: RobotConn, data: Buffer, isBinary: boolean): void {
    const t0 = performance.now();
    if (!this.admitRobot(conn)) return;
    if (isBinary) return this.refuse(conn, 'bad_message', 'binary frames are not relayed');
    if (data.length > MAX_TEXT_FRAME_BYTES) return this.refuse(conn, 'too_large', `message larger than ${MAX_TEXT_FRAME_BYTES} bytes`);
    const parsed = parseRobotToRelay(data.toString('utf8'));
    if (!parsed.ok) return this.refuse(conn, errorCodeFor(parsed.error, parsed.field), parsed.error, parsed.field);
    const m = parsed.value;
    const inner = m.type === 'to' ? m.msg : m;
    this.countMessage('robot_to_relay', inner.type);
    this.count++;
    // In server mode the relay owns welcome and the lease; the robot's own are not forwarded.
    if (inner.type === 'welcome' || inner.type === 'lease') return;
    this.toClients(conn.robot, m.type === 'to' ? m.client : null, inner);
    this.answerSeconds.observe((performance.now() - t0) / 1000);
  }

  /** The robot sends telemetry for many clients: its bucket is the client rate times the room. */
  private admitRobot(conn: RobotConn): boolean {
    conn.lastSeen = this.clock.now();
    const rate = this.limits.messagesPerSecond * Math.max(4, 2 * (this.clients.get(conn.robot)?.size ?? 0) + 2);
    const now = this.clock.mono();
    conn.tokens = Math.min(rate, conn.tokens + ((now - conn.refill) / 1000) * rate);
    conn.refill = now;
    if (conn.tokens >= 1) { conn.tokens -= 1; return true; }
    this.metrics.refused.inc({ code: 'rate_limited' });
    return false;
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** Sends with a bound: a socket that has too much queued is a slow consumer and is dropped. */
  private send(conn: Conn, frame: RobotMessage | RelayToClientMessage | RelayToRobotMessage | string): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    if (conn.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.metrics.refused.inc({ code: 'slow_consumer' });
      this.log.warn('slow consumer dropped', { robot: conn.robot, buffered: conn.ws.bufferedAmount });
      conn.ws.close(RelayCloseCode.slowConsumer, 'too slow');
      const t = setTimeout(() => conn.ws.terminate(), 1000);
      conn.ws.once('close', () => clearTimeout(t));
      return false;
    }
    this.cork(conn.raw);
    conn.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  /**
   * Holds a socket's writes until the event loop has handled everything that was ready (setImmediate
   * runs right after the poll phase): frames to one socket then leave in one write(2), not one each.
   * Under light load the turn is one event and nothing waits; under heavy load the saving is largest.
   */
  private cork(raw: Duplex): void {
    if (this.corked.has(raw)) return;
    raw.cork();
    this.corked.add(raw);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (!this.flushQueued) { this.flushQueued = true; setImmediate(this.flush); }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    for (const raw of this.corked) raw.uncork();
    this.corked.clear();
    if (this.gaugeDirty) this.countClients();
  };

  /** `text`: the frame already serialized (must be `frame`'s JSON). */
  private sendRobot(conn: RobotConn, frame: RelayToRobotMessage, text?: string): boolean {
    this.countMessage('relay_to_robot', frame.type);
    return this.send(conn, text ?? frame);
  }

  /** To the robot, here or on another relay. False when it is known to be nowhere. */
  private toRobot(robot: string, frame: RelayToRobotMessage): boolean {
    const here = this.robots.get(robot);
    if (here) return this.sendRobot(here, frame);
    this.bus.publish({ kind: 'toRobot', robot, frame, at: Date.now() });
    return this.remoteOnline.has(robot);
  }

  /** Robots that other relays reported online (learned from presence frames on the bus). */
  private readonly remoteOnline = new Set<string>();

  private toClients(robot: string, client: string | null, frame: RobotMessage | RelayToClientMessage, publish = true): void {
    const room = this.clients.get(robot);
    const text = JSON.stringify(frame);
    if (client) {
      const c = room?.get(client);
      if (c) { this.send(c, text); return; }
    } else {
      for (const c of room?.values() ?? []) this.send(c, text);
    }
    if (publish) this.bus.publish({ kind: 'toClients', robot, client, frame });
  }

  private onBus(ev: BusEvent): void {
    switch (ev.kind) {
      case 'toRobot': {
        const here = this.robots.get(ev.robot);
        if (here) {
          this.sendRobot(here, ev.frame);
          this.metrics.latency.observe({ direction: 'relay_to_relay' }, Math.max(0, Date.now() - ev.at) / 1000);
        }
        return;
      }
      case 'toClients':
        if (ev.frame.type === 'robot') ev.frame.online ? this.remoteOnline.add(ev.robot) : this.remoteOnline.delete(ev.robot);
        return this.toClients(ev.robot, ev.client, ev.frame, false);
      case 'lease': {
        // Lease news from another relay can be older than this relay's own driver: relay Y frees
        // the lease and publishes "nobody"; a client here takes it at once, and the store's yes
        // reaches us before Y's news does (pub/sub is another connection). Applied, that late news
        // made this relay forget its own driver: no stop for the robot and no release when that
        // driver's socket closed, and a lease nobody could take until it lapsed. A driver connected
        // here loses the lease only by the store's word (release here, or expiry seen by tick()).
        const mine = this.leases.get(ev.robot)?.driver;
        if (mine && mine !== ev.driver && this.clients.get(ev.robot)?.has(mine)) return;
        return this.applyLease(ev.robot, ev);
      }
      case 'resync': {
        this.remoteOnline.add(ev.robot);
        for (const c of this.clients.get(ev.robot)?.values() ?? []) this.toRobot(ev.robot, this.joinFrame(c));
        return;
      }
    }
  }

  // ---- the driver lease ------------------------------------------------------------------

  private async currentLease(robot: string): Promise<LeaseView | null> {
    const rec = await this.store.leaseGet(robot).catch(() => null);
    const known = this.leases.get(robot) ?? NOBODY;
    if (!rec) return { ...NOBODY, requestedBy: known.requestedBy, requestedName: known.requestedName };
    return { driver: rec.client, name: rec.name, requestedBy: known.requestedBy, requestedName: known.requestedName };
  }

  private leaseFrame(l: LeaseView, forClient: string): LeaseStateMsg {
    const f: LeaseStateMsg = { v: 1, type: 'lease', driver: l.driver, driverName: l.name, you: l.driver === forClient };
    if (l.requestedBy) f.requestedBy = l.requestedBy;
    return f;
  }

  /** Applies a lease state here (clients of this relay, and the robot when it is here). */
  private applyLease(robot: string, l: LeaseView): void {
    const before = this.leases.get(robot) ?? NOBODY;
    this.leases.set(robot, { driver: l.driver, name: l.name, requestedBy: l.requestedBy, requestedName: l.requestedName });
    if (!l.driver && !l.requestedBy) this.leases.delete(robot);
    for (const c of this.clients.get(robot)?.values() ?? []) this.send(c, this.leaseFrame(l, c.id));
    const here = this.robots.get(robot);
    if (here && (before.driver !== l.driver || before.name !== l.name)) this.sendRobot(here, { v: 1, type: 'driver', client: l.driver, name: l.name });
    if (before.driver !== l.driver) this.log.info('lease', { robot, driver: l.driver });
  }

  /** Applies a lease state here and on every other relay. */
  private announce(robot: string, l: LeaseView): void {
    this.applyLease(robot, l);
    this.bus.publish({ kind: 'lease', robot, ...l });
  }

  private async takeLease(conn: ClientConn, quiet: boolean): Promise<void> {
    if (conn.role !== 'driver') { if (!quiet) this.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, 'lease'); return; }
    const ok = await this.store.leaseTake(conn.robot, { client: conn.id, name: conn.name, since: this.clock.now() }, this.limits.leaseIdleMs).catch(() => false);
    if (!ok) { if (!quiet) this.refuse(conn, 'lease_held', 'another operator is driving', undefined, 'lease'); return; }
    conn.lastRenew = this.clock.now();
    const known = this.leases.get(conn.robot) ?? NOBODY;
    const wasRequester = known.requestedBy === conn.id;
    this.announce(conn.robot, {
      driver: conn.id, name: conn.name,
      requestedBy: wasRequester ? null : known.requestedBy, requestedName: wasRequester ? null : known.requestedName,
    });
  }

  private requestLease(conn: ClientConn): void {
    if (conn.role !== 'driver') return this.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, 'lease');
    const l = this.leases.get(conn.robot) ?? NOBODY;
    if (!l.driver) { void this.takeLease(conn, false); return; }
    if (l.driver === conn.id) return;
    this.announce(conn.robot, { ...l, requestedBy: conn.id, requestedName: conn.name });
  }

  /** Releases (if held by `client`) and hands over to whoever asked for it. */
  private async releaseLease(robot: string, client: string): Promise<void> {
    const released = await this.store.leaseRelease(robot, client).catch(() => false);
    if (!released && this.leases.get(robot)?.driver !== client) return;
    await this.handOff(robot);
  }

  /** After a release or expiry: the requester (if still here) becomes the driver, else nobody. */
  private async handOff(robot: string): Promise<void> {
    const l = this.leases.get(robot) ?? NOBODY;
    if (l.requestedBy) {
      const next = { client: l.requestedBy, name: l.requestedName, since: this.clock.now() };
      if (await this.store.leaseTake(robot, next, this.limits.leaseIdleMs).catch(() => false)) {
        const local = this.clients.get(robot)?.get(next.client);
        if (local) local.lastRenew = this.clock.now();
        return this.announce(robot, { driver: next.client, name: next.name, requestedBy: null, requestedName: null });
      }
    }
    this.announce(robot, { ...NOBODY });
  }

  /** Keeps the lease alive while the driver drives (at most one store write per second). */
  private renew(conn: ClientConn): void {
    const now = this.clock.now();
    if (now - conn.lastRenew < 1000) return;
    conn.lastRenew = now;
    void this.store.leaseRenew(conn.robot, conn.id, this.limits.leaseIdleMs).catch(() => false);
  }

  // ---- timers --------------------------------------------------------------------------------

  /**
   * Pings every socket not heard from in the last half ping interval (one that just sent a frame is
   * alive; with thousands of sockets the pings cost as much as the traffic), then reaps the ones
   * silent for deadAfterMs — in the check phase, after the poll phase has read whatever already
   * arrived: judged in the timer phase, a relay whose own event loop was late (a loaded machine)
   * still held its peers' pongs and frames unread and terminated live sockets. A turn that itself
   * comes late (the relay was not listening, nor pinging) only pings, once: the next one reaps.
   */
  private heartbeat(): void {
    const now = this.clock.now();
    const gap = now - this.lastBeat;
    const late = gap > 2 * this.limits.pingIntervalMs && !this.skippedReap;
    this.lastBeat = now;
    this.skippedReap = late;
    const all: Conn[] = [...this.robots.values()];
    for (const room of this.clients.values()) all.push(...room.values());
    for (const c of all) {
      if (c.ws.readyState === c.ws.OPEN && now - c.lastSeen >= this.limits.pingIntervalMs / 2) {
        this.cork(c.raw);
        c.ws.ping();
      }
    }
    if (!late) setImmediate(() => this.reap(all, gap));
  }

  private reap(all: Conn[], beatGapMs: number): void {
    const now = this.clock.now();
    for (const c of all) {
      if (c.ws.readyState === c.ws.CLOSED || now - c.lastSeen <= this.limits.deadAfterMs) continue;
      this.metrics.refused.inc({ code: 'heartbeat_timeout' });
      this.log.warn('dead socket closed', { robot: c.robot, kind: c === this.robots.get(c.robot) ? 'robot' : 'client', silentMs: now - c.lastSeen, beatGapMs });
      c.ws.terminate();
    }
  }

  /** Once a second: lease expiry, revoked/expired sessions, robot hosting, message rate. */
  private async tick(): Promise<void> {
    this.perSecond.push(this.count);
    this.count = 0;
    if (this.perSecond.length > 10) this.perSecond.shift();
    for (const robot of this.robots.keys()) void this.bus.setHosted(robot, true, this.limits.hostTtlMs).catch(() => {});
    // A relay that died without saying so: its robots' host keys lapse, and our clients are told.
    for (const robot of [...this.remoteOnline]) {
      if (this.robots.has(robot) || (await this.bus.hostedElsewhere(robot).catch(() => true))) continue;
      this.remoteOnline.delete(robot);
      this.toClients(robot, null, { v: 1, type: 'robot', robot, online: false }, false);
    }
    const robots = new Set([...this.robots.keys(), ...this.clients.keys()]);
    for (const robot of robots) {
      const known = this.leases.get(robot) ?? NOBODY;
      const cur = await this.currentLease(robot);
      if (cur && known.driver && !cur.driver) {
        this.log.info('lease expired', { robot, driver: known.driver });
        await this.handOff(robot);
      } else if (cur && cur.driver !== known.driver) {
        this.applyLease(robot, cur);
      }
    }
    for (const room of this.clients.values()) {
      for (const c of room.values()) {
        const live = await this.access.sessionLive(c.session.id).catch(() => c.session);
        if (!live) c.ws.close(CloseCode.unauthorized, 'session expired or revoked');
      }
    }
  }

  status() {
    const robots = [...this.robots.keys()];
    let drivers = 0, viewers = 0;
    for (const room of this.clients.values()) for (const c of room.values()) c.role === 'driver' ? drivers++ : viewers++;
    const leases = Object.fromEntries([...this.leases].filter(([, l]) => l.driver).map(([r, l]) => [r, l.driver]));
    const rate = this.perSecond.length ? this.perSecond.reduce((a, b) => a + b, 0) / this.perSecond.length : 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3)) : null);
    return {
      robotsOnline: robots, clients: { drivers, viewers }, drivers: leases,
      messagesPerSecond: Number(rate.toFixed(1)),
      forwardLatencyMs: { p50: q(0.5), p99: q(0.99), samples: sorted.length },
      version: PROTOCOL_VERSION,
    };
  }

  /** Closes every socket (shutdown) and clears the timers. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const r of this.robots.values()) r.ws.close(CloseCode.shuttingDown, 'relay shutting down');
    for (const room of this.clients.values()) for (const c of room.values()) c.ws.close(CloseCode.shuttingDown, 'relay shutting down');
  }
}
