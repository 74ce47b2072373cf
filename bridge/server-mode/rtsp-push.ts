// A minimal RTSP publisher (RFC 2326 ANNOUNCE / SETUP / RECORD, RTP interleaved over TCP) that
// forwards RTP packets as they arrive, one stream never waiting for another. Each track's packets
// go through an RtpTimeline (a restarted encoder continues the stream; an audio encoder's startup
// backlog is dropped so it never runs ahead of real time). The encoders' RTCP is not forwarded:
// its timestamps are the encoders' own, not the rewritten ones, and MediaMTX stamps packets on
// arrival without it.
//
// Why not FFmpeg's own RTSP output: one FFmpeg with a live video input and a live audio input
// (FFmpeg 5.1, Debian 12 / Raspberry Pi OS) only feeds the stream that is furthest behind in time,
// so the two hold each other back by the offset between their clocks, a different amount each run
// (docs/PERFORMANCE.md, "Where the WebRTC time goes"). Here each encoder is its own FFmpeg writing
// RTP to a loopback UDP port, and this client puts both on one RTSP session as they come.
//
// Events: 'ready' (RECORD accepted), 'error' (Error), 'close'.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ByteRate } from './byte-rate.ts';
import { RtpTimeline } from './rtp-timeline.ts';
import { kernelSendQueue } from './uplink-queue.ts';

export interface RtspTrack {
  /** SDP media section without the control attribute (added here): m=, a=rtpmap, a=fmtp… (its rtpmap gives the clock rate). */
  sdp: string;
  /** The encoder stamps by sample count and may start with a backlog (audio from a pipe). */
  dropBacklog?: boolean;
}

function clockRate(sdp: string): number {
  const m = /a=rtpmap:\d+ [^/\s]+\/(\d+)/.exec(sdp);
  if (!m) throw new TypeError(`track SDP has no a=rtpmap with a clock rate: ${JSON.stringify(sdp.slice(0, 80))}`);
  return Number(m[1]);
}

export interface RtspPushOptions {
  /** rtsp://[user:pass@]host:port/path or rtsps://… */
  url: string;
  tracks: RtspTrack[];
  /** How long the handshake may take. */
  timeoutMs?: number;
  /** rtsps: the CA certificates to trust instead of the system's (the server's certificate is always verified). */
  ca?: Buffer;
  /** Queued bytes on the TCP socket beyond which packets are dropped (a stalled server). */
  maxQueuedBytes?: number;
  /** Dropping for this long ends the session as stalled (the encoders never block on UDP, so nothing else would notice). */
  stallMs?: number;
  /**
   * Milliseconds, for tests on a fake clock: packet arrival times (the tracks' timelines; by
   * default performance.now) and the stall time (by default Date.now).
   */
  now?: () => number;
}

/** Loopback UDP ports an encoder sends RTP (and RTCP) to, one pair per track. */
export interface TrackPorts { rtp: number; rtcp: number }

export class RtspPush extends EventEmitter {
  private sock: Socket | null = null;
  private readonly udp: UdpSocket[] = [];
  private cseq = 0;
  private session: string | null = null;
  private inbox: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | null = null;
  private recording = false;
  private closed = false;
  private readonly target: URL;
  private readonly auth: string | null;
  private dropped = 0;
  private droppingSince: number | null = null;
  private sent = 0;
  /** Bytes forwarded per track: the published bitrate (kbps). */
  private readonly rates: ByteRate[];
  private readonly timelines: RtpTimeline[];
  /** Tracks stamped on capture (video): they lead, and a backlog track starts only after them. */
  private readonly leaders: RtpTimeline[];
  private beforeLeaders = 0;

  constructor(private readonly opts: RtspPushOptions) {
    super();
    this.timelines = opts.tracks.map((t) => new RtpTimeline({ clockRate: clockRate(t.sdp), dropBacklog: t.dropBacklog ?? false, now: opts.now }));
    this.rates = opts.tracks.map(() => new ByteRate());
    this.leaders = this.timelines.filter((_, i) => !opts.tracks[i]!.dropBacklog);
    this.target = new URL(opts.url);
    if (this.target.protocol !== 'rtsp:' && this.target.protocol !== 'rtsps:') throw new TypeError('publish URL must be rtsp:// or rtsps://');
    const user = decodeURIComponent(this.target.username);
    const pass = decodeURIComponent(this.target.password);
    this.auth = user || pass ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : null;
    this.target.username = '';
    this.target.password = '';
  }

  /**
   * Bytes of the stream not yet gone: Node's queue for the socket plus the kernel's (sent and not
   * acknowledged, or not sent yet). The uplink policy's congestion signal (uplink-queue.ts).
   */
  async queuedBytes(): Promise<number> {
    const sock = this.sock;
    if (!sock || sock.destroyed) return 0;
    return sock.writableLength + await kernelSendQueue(sock.localPort, sock.remotePort);
  }

  /** kbit/s of a track's RTP forwarded to the server over the last 2 s (byte-rate.ts). */
  kbps(track: number): number {
    return this.rates[track]?.kbps(this.rateNow()) ?? 0;
  }

  private rateNow(): number { return (this.opts.now ?? (() => performance.now()))(); }

  /** Packets forwarded; dropped on a full socket; dropped as an encoder's startup backlog (or not RTP); encoder restarts seen. */
  get stats(): { packets: number; dropped: number; backlog: number; restarts: number } {
    return {
      packets: this.sent, dropped: this.dropped,
      backlog: this.beforeLeaders + this.timelines.reduce((n, t) => n + t.dropped, 0),
      restarts: this.timelines.reduce((n, t) => n + Math.max(0, t.epochs - 1), 0),
    };
  }

  /**
   * Binds one RTP and one RTCP port per track on 127.0.0.1; RTP is forwarded once recording. The
   * RTCP port is bound only so the encoder's reports land somewhere (FFmpeg sends them to rtcpport).
   */
  async listen(): Promise<TrackPorts[]> {
    const ports: TrackPorts[] = [];
    for (let t = 0; t < this.opts.tracks.length; t++) {
      const pair: number[] = [];
      for (const channel of [2 * t, 2 * t + 1]) {
        const s = createSocket('udp4');
        if (channel % 2 === 0) s.on('message', (pkt) => this.onRtp(t, pkt));
        s.on('error', (err) => this.fail(err));
        await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
        this.udp.push(s);
        pair.push(s.address().port);
      }
      ports.push({ rtp: pair[0]!, rtcp: pair[1]! });
    }
    return ports;
  }

  /** Connects and runs OPTIONS → ANNOUNCE → SETUP per track → RECORD. */
  async start(): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    const port = Number(this.target.port) || (this.target.protocol === 'rtsps:' ? 322 : 554);
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    // TLS verifies the certificate and its host name (an IP address is matched against the certificate's IP names).
    const tls = { host, port, rejectUnauthorized: true, ...(isIP(host) ? {} : { servername: host }), ...(this.opts.ca ? { ca: this.opts.ca } : {}) };
    const sock = this.target.protocol === 'rtsps:' ? tlsConnect(tls) : netConnect({ host, port });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (err: NodeJS.ErrnoException) => this.fail(new Error(socketError(err))));
    sock.on('close', () => this.fail(new Error('connection closed by MediaMTX (end of file)')));
    const timer = setTimeout(() => this.fail(new Error(`RTSP handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once(this.target.protocol === 'rtsps:' ? 'secureConnect' : 'connect', () => resolve());
        sock.once('error', (err: NodeJS.ErrnoException) => reject(new Error(socketError(err))));
      });
      const base = this.target.toString();
      await this.request('OPTIONS', base);
      const sdp = this.sdp();
      await this.request('ANNOUNCE', base, { 'Content-Type': 'application/sdp' }, sdp);
      for (let t = 0; t < this.opts.tracks.length; t++) {
        const r = await this.request('SETUP', `${base.replace(/\/$/, '')}/trackID=${t}`, { Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * t}-${2 * t + 1};mode=record` });
        this.session ??= (r.headers.session ?? '').split(';')[0]!.trim() || null;
      }
      await this.request('RECORD', base, { Range: 'npt=0.000-' });
    } finally {
      clearTimeout(timer);
    }
    this.recording = true;
    this.emit('ready');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.recording = false;
    for (const s of this.udp) s.close();
    this.udp.length = 0;
    if (this.sock && !this.sock.destroyed) {
      // TEARDOWN is a courtesy: MediaMTX also ends the session when the socket closes.
      if (this.session) this.sock.write(this.format('TEARDOWN', this.target.toString(), {}));
      this.sock.end();
      this.sock.destroySoon?.();
    }
    this.sock = null;
    this.waiting?.reject(new Error('closed'));
    this.waiting = null;
    this.emit('close');
  }

  private sdp(): string {
    const host = this.target.hostname;
    const media = this.opts.tracks.map((t, i) => `${t.sdp.trim()}\r\na=control:trackID=${i}`).join('\r\n');
    return ['v=0', `o=- 0 0 IN IP4 ${host}`, 's=havatar', `c=IN IP4 ${host}`, 't=0 0', media, ''].join('\r\n').replace(/\r?\n/g, '\r\n');
  }

  private onRtp(track: number, pkt: Buffer): void {
    // Before RECORD nothing is forwarded, and the timeline only starts with what will be.
    if (!this.recording) return;
    const timeline = this.timelines[track]!;
    // MediaMTX places a later track by the leading track's latest packet, so the leader's own late
    // start (the encoder's first frames) cannot shift the other; a backlog track never leads.
    if (this.opts.tracks[track]!.dropBacklog && this.leaders.some((l) => !l.isLive)) { this.beforeLeaders++; return; }
    const out = timeline.push(pkt);
    if (out) this.forward(2 * track, out);
  }

  private forward(channel: number, pkt: Buffer): void {
    const sock = this.sock;
    if (!this.recording || !sock || sock.destroyed) return;
    if (pkt.length > 0xffff) return;
    if (sock.writableLength > (this.opts.maxQueuedBytes ?? 1 << 20)) {
      this.dropped++;
      const now = (this.opts.now ?? Date.now)();
      this.droppingSince ??= now;
      if (now - this.droppingSince > (this.opts.stallMs ?? 2000)) this.fail(new Error('the stream stalled: MediaMTX is not reading it'));
      return;
    }
    this.droppingSince = null;
    const head = Buffer.allocUnsafe(4);
    head[0] = 0x24;
    head[1] = channel;
    head.writeUInt16BE(pkt.length, 2);
    sock.cork();
    sock.write(head);
    sock.write(pkt);
    sock.uncork();
    this.sent++;
    this.rates[channel >> 1]?.add(pkt.length, this.rateNow());
  }

  private format(method: string, url: string, headers: Record<string, string>, body = ''): string {
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${++this.cseq}`, 'User-Agent: havatar-bridge'];
    if (this.auth) lines.push(`Authorization: ${this.auth}`);
    if (this.session) lines.push(`Session: ${this.session}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return `${lines.join('\r\n')}\r\n\r\n${body}`;
  }

  private request(method: string, url: string, headers: Record<string, string> = {}, body = ''): Promise<RtspResponse> {
    return new Promise<RtspResponse>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.sock!.write(this.format(method, url, headers, body));
    }).then((r) => {
      if (r.status !== 200) throw new Error(`${method} refused: ${r.status} ${r.reason}`);
      return r;
    });
  }

  private onData(d: Buffer): void {
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, d]) : d;
    for (;;) {
      if (!this.inbox.length) return;
      if (this.inbox[0] === 0x24) {
        // Interleaved data from the server (RTCP receiver reports): skip it.
        if (this.inbox.length < 4) return;
        const len = this.inbox.readUInt16BE(2);
        if (this.inbox.length < 4 + len) return;
        this.inbox = this.inbox.subarray(4 + len);
        continue;
      }
      const end = this.inbox.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.inbox.length > 64 * 1024) this.fail(new Error('RTSP answer too large'));
        return;
      }
      const head = this.inbox.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (this.inbox.length < end + 4 + len) return;
      this.inbox = this.inbox.subarray(end + 4 + len);
      const m = /^RTSP\/1\.0 (\d{3}) ?(.*)$/.exec(head[0] ?? '');
      if (!m) { this.fail(new Error(`not an RTSP answer: ${JSON.stringify((head[0] ?? '').slice(0, 80))}`)); return; }
      const w = this.waiting;
      this.waiting = null;
      w?.resolve({ status: Number(m[1]), reason: m[2] ?? '', headers });
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
    this.emit('error', err);
    this.close();
  }
}

interface RtspResponse { status: number; reason: string; headers: Record<string, string> }

/** Socket errors in the words FFmpeg used, which publishError (errors.ts) explains. */
function socketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'Connection refused';
    case 'ETIMEDOUT': return 'Connection timed out';
    case 'ECONNRESET': return 'Connection reset by peer';
    case 'EPIPE': return 'Broken pipe';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'Name or service not known';
    default: return err.message;
  }
}
