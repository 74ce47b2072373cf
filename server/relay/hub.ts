// The relay's socket side, put together: robots on /ws/robot/:robotId, operators on
// /ws/client/:clientId (authenticated in server.ts before the upgrade: a socket that reaches this
// file is already known). The hub only connects and disconnects sockets and runs the 1 s tick;
// each job is in its own file:
//   connection.ts  who is connected          routing.ts    where each frame goes
//   rate-limit.ts  token buckets             lease.ts      who drives
//   delivery.ts    send, cork, flush         heartbeat.ts  ping, reap dead sockets
//   bus-hookup.ts  frames to and from other relays       traffic.ts  counts, latencies
// Hot path (measured with bench/relay/capacity.ts, `--cpu-prof`): on loopback most of the time is
// the kernel's work in write(2), so frames written in one turn of the event loop are corked per
// socket and flushed together (delivery.ts); a socket heard from within half a ping interval is
// not pinged (heartbeat.ts); a validated client message is forwarded as the text it came in
// (routing.ts); messages are counted in plain numbers, handed to prom-client when /metrics is read
// (traffic.ts); each frame leaves as one Buffer (delivery.ts); validation allocates nothing per
// field (protocol/check.ts).
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../common/log.ts';
import { CloseCode, PROTOCOL_VERSION } from '../../protocol/limits.ts';
import { ConnLife } from '../../common/socket-life.ts';
import { welcomeMsg } from '../../common/welcome.ts';
import type { Access } from './access.ts';
import type { Bus } from './bus.ts';
import { BusHookup } from './bus-hookup.ts';
import type { Datagrams } from './datagram.ts';
import { Connections, joinFrame, REAL_CLOCK, type ClientConn, type HubClock, type RobotConn } from './connection.ts';
import { Delivery } from './delivery.ts';
import { Heartbeat } from './heartbeat.ts';
import { Lease, leaseFrame, NOBODY } from './lease.ts';
import type { RelayLimits } from './limits.ts';
import type { MediaAuthFields, MediaKick } from './media-kick.ts';
import type { Metrics } from './metrics.ts';
import type { PublishCredentials } from './publish-credential.ts';
import type { RecordingMsg } from '../../protocol/relay.ts';
import type { Recordings } from './recording.ts';
import { RateLimiter } from './rate-limit.ts';
import { Routing } from './routing.ts';
import type { SessionRecord, Store } from './store.ts';
import { Traffic } from './traffic.ts';

export type { HubClock } from './connection.ts';

export class Hub {
  private readonly conns: Connections;
  private readonly delivery: Delivery;
  private readonly traffic: Traffic;
  private readonly hookup: BusHookup;
  private readonly lease: Lease;
  private readonly routing: Routing;
  private readonly heartbeat: Heartbeat;
  private readonly ticker: NodeJS.Timeout;
  private gaugeDirty = false;
  /** Ends MediaMTX sessions whose relay session was revoked or expired (null: no MediaMTX API). */
  private media: MediaKick | null = null;
  /** Gives each connected robot its short-lived media credential (null: none issued). */
  private credentials: PublishCredentials | null = null;
  /** Recording on demand (recording.ts); null: this relay cannot record. */
  private recordings: Recordings | null = null;
  /** The drive datagram channels (datagram.ts); null: switched off. */
  private datagrams: Datagrams | null = null;

  constructor(
    private readonly access: Access,
    store: Store,
    bus: Bus,
    limits: RelayLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    clock: HubClock = REAL_CLOCK,
  ) {
    const conns = this.conns = new Connections(limits, clock);
    const delivery = this.delivery = new Delivery(limits, metrics, log, () => { if (this.gaugeDirty) this.countClients(); });
    const traffic = this.traffic = new Traffic(metrics);
    const hookup = this.hookup = new BusHookup(bus, conns, delivery, traffic, limits, metrics);
    const lease = this.lease = new Lease({
      store, limits, clock, log,
      show: (robot, l, before) => {
        for (const c of conns.room(robot)) delivery.send(c, leaseFrame(l, c.id));
        const here = conns.robots.get(robot);
        if (here && (before.driver !== l.driver || before.name !== l.name)) hookup.sendRobot(here, { v: 1, type: 'driver', client: l.driver, name: l.name });
      },
      publish: (robot, l) => hookup.publish({ kind: 'lease', robot, ...l }),
      local: (robot, client) => conns.client(robot, client),
    });
    hookup.listen(lease);
    this.routing = new Routing({
      access, conns, delivery, hookup, lease, rate: new RateLimiter(limits, clock), traffic, limits, metrics, clock, log,
      recordings: () => this.recordings,
      datagrams: () => this.datagrams,
    });
    // The heartbeat's interval before the tick's: at the same instant the sockets are judged first.
    this.heartbeat = new Heartbeat(conns, delivery, limits, clock, metrics, log);
    this.ticker = setInterval(() => void this.tick(), 1000);
  }

  addRobot(ws: WebSocket, robot: string, raw: Duplex): void {
    const conn: RobotConn = { kind: 'robot', ws, raw, robot, life: new ConnLife(ws, 'open', 'relay robot'), limits: null, generation: this.access.robots.generation(robot), ...this.conns.fresh() };
    this.conns.putRobot(conn);
    this.metrics.robots.set(this.conns.robots.size);
    this.metrics.robotConnected.set({ robot }, 1);
    this.log.info('robot connected', { robot });
    this.hookup.hosting(robot, true);
    this.heartbeat.watch(conn);
    ws.on('error', (err) => this.log.warn('robot socket error', { robot, error: err }));
    ws.on('message', (data, isBinary) => this.routing.fromRobot(conn, data as Buffer, isBinary));
    // Its media credential first: the robot waits for it before it publishes.
    const stopCredentials = this.credentials?.attach(robot, (m) => this.hookup.sendRobot(conn, m), (err) => this.log.warn('publish credential not issued', { robot, error: err }));
    ws.on('close', () => {
      stopCredentials?.();
      this.datagrams?.close(conn);
      if (!this.conns.dropRobot(conn)) return;
      this.metrics.robots.set(this.conns.robots.size);
      this.metrics.robotConnected.set({ robot }, 0);
      this.log.info('robot disconnected', { robot });
      this.hookup.hosting(robot, false);
      this.hookup.toClients(robot, null, { v: 1, type: 'robot', robot, online: false });
    });
    // Tell the robot who is here (on this relay and, through the bus, on the others) and who drives.
    for (const c of this.conns.room(robot)) this.hookup.sendRobot(conn, joinFrame(c));
    const lease = this.lease.known(robot);
    this.hookup.sendRobot(conn, { v: 1, type: 'driver', client: lease.driver, name: lease.name });
    this.hookup.sendRobot(conn, this.recordingFrame(robot));
    this.hookup.publish({ kind: 'resync', robot });
    this.hookup.toClients(robot, null, { v: 1, type: 'robot', robot, online: true });
  }

  /** From now on, every robot that connects gets publish credentials, renewed while it stays. */
  issuePublishCredentials(c: PublishCredentials): void { this.credentials = c; }

  /** Drive datagram channels: answered on `rtc_offer`, closed with their sockets. */
  useDatagrams(d: Datagrams): void { this.datagrams = d; }

  /** Recording on demand: its state goes to every client on join and to the robot on connect. */
  useRecordings(r: Recordings): void { this.recordings = r; }

  /** A recording change, for everyone watching `robot` (on every relay) and the robot itself. */
  announceRecording(frame: RecordingMsg): void {
    this.hookup.toClients(frame.robot, null, frame);
    this.hookup.toRobot(frame.robot, frame);
  }

  private recordingFrame(robot: string): RecordingMsg {
    return this.recordings?.frame(robot) ?? { v: 1, type: 'recording', robot, available: false, active: false, since: null, by: null };
  }

  /** From now on, media opened with sessions that stop standing is kicked from MediaMTX each tick. */
  watchMedia(kick: MediaKick): void { this.media = kick; }

  /** MediaMTX's auth hook allowed `who` to open a media session: remembered so it can be ended. */
  mediaAllowed(q: MediaAuthFields, who: string): void { this.media?.note(q, who); }

  clientCount(robot: string): number { return this.conns.clientCount(robot); }

  /** True when this client id is connected with another session (the caller refuses the upgrade). */
  clientIdTaken(robot: string, id: string, session: string): boolean { return this.conns.clientIdTaken(robot, id, session); }

  async addClient(ws: WebSocket, id: string, session: SessionRecord, raw: Duplex): Promise<void> {
    const robot = session.robot;
    const life = new ConnLife(ws, 'joining', 'relay client');
    // Frames that arrive while we look the lease up are held, then handled after the welcome.
    ws.on('error', () => { /* a protocol error closes the socket; the close handler cleans up */ });
    const early: [Buffer, boolean][] = [];
    const hold = (d: Buffer, b: boolean) => early.push([d, b]);
    ws.on('message', hold);
    const lease = (await this.lease.current(robot)) ?? NOBODY;
    const elsewhere = !this.conns.robots.has(robot) && (await this.hookup.hostedElsewhere(robot));
    await this.hookup.claimClient(robot, id, session.id, life); // closes it when the id is another session's
    ws.off('message', hold);
    if (life.state !== 'joining' || ws.readyState !== ws.OPEN) return; // gone while we waited
    life.opened();
    if (elsewhere) this.hookup.noteOnlineElsewhere(robot);
    const conn: ClientConn = { kind: 'client', ws, raw, robot, life, id, session, role: session.role, name: null, lastRenew: 0, ...this.conns.fresh() };
    this.conns.putClient(conn);
    this.updateClientGauge();
    this.log.info('client connected', { robot, client: id, role: conn.role, session: session.id });
    this.heartbeat.watch(conn);
    ws.on('error', (err) => this.log.warn('client socket error', { robot, client: id, error: err }));
    ws.on('message', (data, isBinary) => void this.routing.fromClient(conn, data as Buffer, isBinary));
    ws.on('close', () => void this.clientGone(conn));

    this.delivery.send(conn, welcomeMsg({ session: id, robot, driver: lease.driver, limits: this.conns.limitsOf(robot) }));
    this.delivery.send(conn, { v: 1, type: 'robot', robot, online: this.conns.robots.has(robot) || elsewhere });
    this.delivery.send(conn, leaseFrame(lease, id));
    this.delivery.send(conn, this.recordingFrame(robot));
    this.hookup.toRobot(robot, joinFrame(conn));
    for (const [d, b] of early) await this.routing.fromClient(conn, d, b);
  }

  private async clientGone(conn: ClientConn): Promise<void> {
    this.datagrams?.close(conn);
    if (!this.conns.dropClient(conn)) return;
    this.updateClientGauge();
    this.log.info('client disconnected', { robot: conn.robot, client: conn.id });
    if (this.lease.isDriver(conn.robot, conn.id)) {
      // The driver is gone: the robot stops first, then the lease moves on.
      this.hookup.toRobot(conn.robot, { v: 1, type: 'forward', client: conn.id, msg: { v: 1, type: 'stop' } });
      await this.lease.release(conn.robot, conn.id);
    } else {
      this.lease.withdraw(conn.robot, conn.id);
    }
    this.hookup.toRobot(conn.robot, { v: 1, type: 'client', event: 'leave', client: conn.id, role: conn.role, name: conn.name });
  }

  /** Recounted once per turn of the event loop (thousands of sockets connect in a burst). */
  private updateClientGauge(): void {
    this.gaugeDirty = true;
    this.delivery.queueFlush();
  }

  private countClients(): void {
    this.gaugeDirty = false;
    const { drivers, viewers } = this.conns.roles();
    this.metrics.clients.set({ role: 'driver' }, drivers);
    this.metrics.clients.set({ role: 'viewer' }, viewers);
    // Rebuilt whole: a robot whose page nobody has open any more drops out instead of staying at 0.
    this.metrics.robotClients.reset();
    for (const [robot, room] of this.conns.clients) this.metrics.robotClients.set({ robot }, room.size);
  }

  /** Once a second: message rate, robot hosting, lease expiry, revoked/expired sessions and their media. */
  private async tick(): Promise<void> {
    this.traffic.second();
    await this.hookup.refresh();
    const robots = new Set([...this.conns.robots.keys(), ...this.conns.clients.keys()]);
    for (const robot of robots) await this.lease.check(robot);
    await this.conns.closeReplacedRobots((robot, gen) => this.access.robots.standing(robot, gen));
    for (const room of this.conns.clients.values()) {
      for (const c of room.values()) {
        const live = await this.access.sessionLive(c.session.id).catch(() => c.session);
        if (!live) c.life.close(CloseCode.unauthorized, 'session expired or revoked');
      }
    }
    await this.media?.sweep(async (id) => !!(await this.access.sessionLive(id)));
  }

  status() {
    return {
      robotsOnline: [...this.conns.robots.keys()], clients: this.conns.roles(), drivers: this.lease.drivers(),
      recording: this.recordings?.all() ?? {},
      ...this.traffic.status(),
      version: PROTOCOL_VERSION,
    };
  }

  /** Closes every socket (shutdown) and clears the timers. */
  close(): void {
    this.heartbeat.stop();
    clearInterval(this.ticker);
    this.datagrams?.closeAll();
    this.conns.closeAll();
  }
}
