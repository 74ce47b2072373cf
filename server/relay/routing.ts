// Where each frame goes. An operator's frame is admitted by rate, validated, checked against its
// role and the lease, then forwarded to the robot (or answered here: refresh, hello, lease). A
// robot's frame goes to one client (`to`) or all of them. Hot path: a validated client message is
// forwarded as the text it came in (see forward()).
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../common/log.ts';
import { CloseCode, MAX_TEXT_FRAME_BYTES } from '../../protocol/limits.ts';
import { errorCodeFor, type ClientMessage } from '../../protocol/messages.ts';
import { isDriveChannelType, parseClientToRelay, parseDriveChannelFromClient, parseRobotToRelay, type ForwardMsg } from '../../protocol/relay.ts';
import type { Access } from './access.ts';
import type { BusHookup } from './bus-hookup.ts';
import { joinFrame, type ClientConn, type Connections, type HubClock, type RobotConn } from './connection.ts';
import type { Datagrams } from './datagram.ts';
import type { Delivery } from './delivery.ts';
import type { Lease } from './lease.ts';
import type { RelayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Recordings } from './recording.ts';
import type { Traffic } from './traffic.ts';

export interface RoutingDeps {
  access: Access; conns: Connections; delivery: Delivery; hookup: BusHookup; lease: Lease; rate: RateLimiter;
  traffic: Traffic; limits: RelayLimits; metrics: Metrics; clock: HubClock; log: Logger;
  /** Recording on demand (null: this relay cannot record). */
  recordings: () => Recordings | null;
  /** The drive datagram channels (datagram.ts); null: switched off. */
  datagrams: () => Datagrams | null;
}

export class Routing {
  constructor(private readonly d: RoutingDeps) {}

  /**
   * Not async: most frames (drive, heartbeat) are handled at once, and an async function costs
   * every one of them a promise. The few that wait (hello, lease, refresh, record) return theirs.
   */
  fromClient(conn: ClientConn, data: Buffer, isBinary: boolean): Promise<void> | void {
    const t0 = performance.now();
    if (!this.admit(conn)) return;
    const { delivery } = this.d;
    if (isBinary) return delivery.refuse(conn, 'bad_message', 'binary frames are not relayed (talk goes over WHIP)');
    if (data.length > MAX_TEXT_FRAME_BYTES) return delivery.refuse(conn, 'too_large', `message larger than ${MAX_TEXT_FRAME_BYTES} bytes`);
    const text = data.toString('utf8');
    const parsed = parseClientToRelay(text);
    if (!parsed.ok) return delivery.refuse(conn, errorCodeFor(parsed.error, parsed.field), parsed.error, parsed.field);
    const m = parsed.value;
    this.d.traffic.received('client_to_relay', m.type);
    switch (m.type) {
      case 'refresh': return this.refresh(conn);
      case 'record': return this.record(conn, m.action);
      case 'rtc_offer': return this.offer(conn, m.sdp);
      case 'hello':
        if (m.name) conn.name = m.name;
        this.d.hookup.toRobot(conn.robot, joinFrame(conn));
        if (m.want === 'driver') return this.take(conn, true);
        return;
      case 'lease':
        if (m.action === 'take') return this.take(conn, false);
        if (m.action === 'release') return this.release(conn);
        return this.request(conn);
      case 'stop':
      case 'heartbeat':
      case 'drive':
      case 'motor':
        return this.command(conn, m, t0, text, data.length);
      case 'tts':
      case 'talk':
        if (conn.role !== 'driver') return delivery.refuse(conn, 'forbidden', 'viewers cannot talk', undefined, m.type);
        return this.forward(conn, m, t0, text, data.length);
    }
  }

  /**
   * A drive-channel message, from the socket or its channel. With a channel open the same command
   * may come twice: the first copy is handled, the second dropped without an answer.
   */
  private command(conn: ClientConn, m: ClientMessage, t0: number, text: string, bytes: number): void {
    if (this.d.datagrams()?.firstCopy(conn, m) === false) return;
    const { delivery } = this.d;
    switch (m.type) {
      case 'stop':
        return this.forward(conn, m, t0, text, bytes); // the stop button always works, whoever presses it
      case 'heartbeat':
        if (this.d.lease.isDriver(conn.robot, conn.id)) this.d.lease.renew(conn);
        return this.forward(conn, m, t0, text, bytes);
      case 'drive':
      case 'motor':
        if (conn.role !== 'driver') return delivery.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, String(m.seq));
        if (!this.d.lease.isDriver(conn.robot, conn.id)) return delivery.refuse(conn, 'not_driver', 'take the lease first', undefined, String(m.seq));
        this.d.lease.renew(conn);
        return this.forward(conn, m, t0, text, bytes);
      default:
        return delivery.refuse(conn, 'bad_message', 'not a drive channel message', 'type');
    }
  }

  /** A frame from `conn`'s drive channel (datagram.ts): validated like the socket's, answered on the socket. */
  fromClientChannel(conn: ClientConn, text: string): void {
    const t0 = performance.now();
    const parsed = parseDriveChannelFromClient(text);
    if (!parsed.ok) return this.d.delivery.refuse(conn, errorCodeFor(parsed.error, parsed.field), `drive channel: ${parsed.error}`, parsed.field);
    this.d.traffic.received('client_to_relay', parsed.value.type);
    this.command(conn, parsed.value, t0, text, Buffer.byteLength(text));
  }

  /** An app offers a drive channel: answered on its socket, or refused with why (the socket works on regardless). */
  private async offer(conn: ClientConn, sdp: string): Promise<void> {
    const dg = this.d.datagrams();
    if (!dg) return this.d.delivery.refuse(conn, 'unavailable', 'this relay has no drive channel; drive goes over the socket', undefined, 'rtc_offer');
    const r = await dg.answer(conn, sdp, {
      message: (text) => this.fromClientChannel(conn, text),
      rateLimited: (closing) => this.d.delivery.refuse(conn, 'rate_limited', `drive channel: more than ${this.d.limits.messagesPerSecond} messages per second${closing ? '; channel closed' : ''}`),
    });
    if (conn.life.state !== 'open') return dg.close(conn); // the socket went while the answer was made
    if (!r.ok) return this.d.delivery.refuse(conn, 'unavailable', r.error, undefined, 'rtc_offer');
    this.d.delivery.send(conn, { v: 1, type: 'rtc_answer', sdp: r.sdp });
  }

  /** Every frame is a sign of life; a refused one costs a strike, and the last strike closes. */
  private admit(conn: ClientConn): boolean {
    const verdict = this.d.rate.client(conn);
    conn.lastSeen = this.d.clock.now();
    if (verdict === 'pass') return true;
    if (verdict === 'close') {
      this.d.metrics.refused.inc({ code: 'rate_limited' });
      conn.life.close(CloseCode.rateLimited, 'rate limited');
    } else {
      this.d.delivery.refuse(conn, 'rate_limited', `more than ${this.d.limits.messagesPerSecond} messages per second`);
    }
    return false;
  }

  private async refresh(conn: ClientConn): Promise<void> {
    const issued = await this.d.access.refreshSession(conn.session);
    if (!issued) { conn.life.close(CloseCode.unauthorized, 'session can no longer be refreshed'); return; }
    conn.session = issued.session;
    this.d.delivery.send(conn, { v: 1, type: 'session', token: issued.token, expiresAt: issued.session.expiresAt });
  }

  /** `quiet`: a hello that wants to drive is not answered with an error when it cannot. */
  private async take(conn: ClientConn, quiet: boolean): Promise<void> {
    const result = await this.d.lease.take(conn);
    if (quiet || result === 'taken') return;
    if (result === 'forbidden') this.d.delivery.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, 'lease');
    else this.d.delivery.refuse(conn, 'lease_held', 'another operator is driving', undefined, 'lease');
  }

  /**
   * Only a driver can hold the lease, so only a driver may release it — and only its own: the
   * lease names a client id, and an id is one session's on every relay (bus-hookup.ts claims).
   */
  private async release(conn: ClientConn): Promise<void> {
    if (conn.role !== 'driver') return this.d.delivery.refuse(conn, 'forbidden', 'viewers cannot release the lease', undefined, 'lease');
    await this.d.lease.release(conn.robot, conn.id);
  }

  /**
   * Recording is the driver's call (the lease holder: who is driving decides what is kept), or the
   * admin's through the API. The answer is the `recording` frame everyone gets, or an error here.
   */
  private async record(conn: ClientConn, action: 'start' | 'stop'): Promise<void> {
    const { delivery } = this.d;
    if (conn.role !== 'driver') return delivery.refuse(conn, 'forbidden', 'viewers cannot start or stop recording', undefined, 'record');
    if (!this.d.lease.isDriver(conn.robot, conn.id)) return delivery.refuse(conn, 'not_driver', 'take control first: only the driver may start or stop recording', undefined, 'record');
    const rec = this.d.recordings();
    if (!rec) return delivery.refuse(conn, 'unavailable', 'recording is not set up on this server', undefined, 'record');
    const r = action === 'start' ? await rec.start(conn.robot, conn.name ?? conn.id) : await rec.stop(conn.robot, 'request');
    if (!r.ok) delivery.refuse(conn, 'unavailable', r.message, undefined, 'record');
  }

  private request(conn: ClientConn): void {
    const result = this.d.lease.request(conn);
    if (result === 'forbidden') this.d.delivery.refuse(conn, 'forbidden', 'viewers cannot drive', undefined, 'lease');
    else if (result === 'take') void this.take(conn, false);
  }

  /**
   * `text` is the message as it came in and as it was validated (parseClientMessage refuses unknown
   * fields, so it holds nothing else; the robot parses the same JSON with the same validator): a
   * robot here gets it inside the envelope as is, without a second stringify — unless its `bytes`
   * (UTF-8, as received) could push the envelope past the frame limit; then it is re-serialized.
   */
  private forward(conn: ClientConn, m: ClientMessage, t0: number, text: string, bytes: number): void {
    const frame: ForwardMsg = { v: 1, type: 'forward', client: conn.id, msg: m };
    const here = this.d.conns.robots.get(conn.robot);
    const envelope = here && bytes <= MAX_TEXT_FRAME_BYTES / 2 ? `{"v":1,"type":"forward","client":${JSON.stringify(conn.id)},"msg":${text}}` : null;
    const sent = here && envelope ? this.d.hookup.sendRobot(here, frame, envelope) : this.d.hookup.toRobot(conn.robot, frame);
    // A second copy over the robot's drive channel, if it has one: whichever arrives first drives.
    if (sent && here && isDriveChannelType(m.type)) this.d.datagrams()?.send(here, envelope ?? JSON.stringify(frame));
    if (!sent) {
      this.d.delivery.refuse(conn, 'unavailable', 'robot offline', undefined, m.type);
      return;
    }
    // No log line per message: at the relay's rates even a disabled debug line's fields cost
    // (an object and a number formatted per frame); forward latencies are in metrics and /api/status.
    this.d.traffic.forwarded(performance.now() - t0);
  }

  fromRobot(conn: RobotConn, data: Buffer, isBinary: boolean): void {
    const t0 = performance.now();
    conn.lastSeen = this.d.clock.now();
    if (!this.d.rate.robot(conn, this.d.conns.clientCount(conn.robot))) {
      this.d.metrics.refused.inc({ code: 'rate_limited' });
      return;
    }
    if (isBinary) return this.d.delivery.refuse(conn, 'bad_message', 'binary frames are not relayed');
    if (data.length > MAX_TEXT_FRAME_BYTES) return this.d.delivery.refuse(conn, 'too_large', `message larger than ${MAX_TEXT_FRAME_BYTES} bytes`);
    const parsed = parseRobotToRelay(data.toString('utf8'));
    if (!parsed.ok) return this.d.delivery.refuse(conn, errorCodeFor(parsed.error, parsed.field), parsed.error, parsed.field);
    const m = parsed.value;
    if (m.type === 'rtc_offer') return void this.robotOffer(conn, m.sdp);
    const inner = m.type === 'to' ? m.msg : m;
    this.d.traffic.received('robot_to_relay', inner.type);
    // In server mode the relay owns welcome and the lease; the robot's own are not forwarded. Its
    // welcome still says its real drive limits (its deadman): kept for the welcomes the relay gives.
    if (inner.type === 'welcome') { conn.limits = inner.limits; return; }
    if (inner.type === 'lease') return;
    this.d.hookup.toClients(conn.robot, m.type === 'to' ? m.client : null, inner);
    this.d.traffic.answered(performance.now() - t0);
  }

  /** The robot offers its drive channel: the relay only sends on it, so anything the robot sends there is refused. */
  private async robotOffer(conn: RobotConn, sdp: string): Promise<void> {
    const dg = this.d.datagrams();
    if (!dg) return this.d.delivery.refuse(conn, 'unavailable', 'this relay has no drive channel; drive goes over the socket', undefined, 'rtc_offer');
    const r = await dg.answer(conn, sdp, {
      message: () => this.d.delivery.refuse(conn, 'bad_message', 'the relay takes nothing from the robot on the drive channel'),
      rateLimited: () => {},
    });
    if (conn.life.state !== 'open') return dg.close(conn);
    if (!r.ok) return this.d.delivery.refuse(conn, 'unavailable', r.error, undefined, 'rtc_offer');
    this.d.hookup.sendRobot(conn, { v: 1, type: 'rtc_answer', sdp: r.sdp });
  }
}
