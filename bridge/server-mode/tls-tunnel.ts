// A loopback TCP listener whose every connection is carried to a TLS server, the server's
// certificate verified. FFmpeg 5.1 (Debian 12, Raspberry Pi OS) opens rtsps:// without verifying
// anything: its RTSP client passes no TLS options down (`-tls_verify`/`-ca_file` are "not found",
// `?verify=1&cafile=` on the URL is ignored; tried against a certificate from another CA, it read
// the stream). So the talk reader connects to rtsp://127.0.0.1:<port> here and Node does the TLS,
// refusing a server it cannot verify: nothing (credential included) is sent to an impostor.

import { createServer, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../../common/log.ts';

export interface TlsTunnelOptions {
  host: string;
  port: number;
  /** CA certificates to trust instead of the system's, read for each connection (a renewed file is used). */
  ca: () => Buffer | undefined;
  log: Logger;
}

export class TlsTunnel {
  private server: Server | null = null;
  private readonly open = new Set<Socket>();
  private portNow = 0;
  /** One log line per distinct failure in a row: a retrying reader does not flood the log. */
  private lastError = '';

  constructor(private readonly opts: TlsTunnelOptions) {}

  /** The loopback port to connect to; 0 before listen(). */
  get port(): number { return this.portNow; }

  async listen(): Promise<number> {
    if (this.server) return this.portNow;
    const server = createServer((local) => this.carry(local));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.portNow = typeof a === 'object' && a ? a.port : 0;
    return this.portNow;
  }

  close(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.server?.close();
    this.server = null;
    this.portNow = 0;
  }

  private carry(local: Socket): void {
    const { host, port } = this.opts;
    let ca: Buffer | undefined;
    try {
      ca = this.opts.ca();
    } catch (err) {
      this.say(`cannot read the CA file: ${(err as Error).message}`);
      local.destroy();
      return;
    }
    // Nothing from FFmpeg goes on until the certificate is verified: it is paused till then.
    local.pause();
    const remote = tlsConnect({ host, port, rejectUnauthorized: true, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) });
    this.open.add(local).add(remote);
    const end = () => { local.destroy(); remote.destroy(); this.open.delete(local); this.open.delete(remote); };
    remote.once('secureConnect', () => {
      this.lastError = '';
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
    remote.on('error', (err) => { this.say(`TLS to ${host}:${port} failed: ${err.message}`); end(); });
    local.on('error', end);
    local.on('close', end);
    remote.on('close', end);
  }

  private say(msg: string): void {
    if (msg === this.lastError) return;
    this.lastError = msg;
    this.opts.log.warn('talk tunnel', { error: msg });
  }
}
