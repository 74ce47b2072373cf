// A scripted RTSP server on loopback for the server-mode tests (rtsp-push, uplink-monitor):
// answers each request as the test says, records the requests and the interleaved RTP it reads,
// and closes with the test file.
import { createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';

export interface Req { method: string; url: string; headers: Record<string, string>; body: string }

/** A server that answers each request with `answer(req)` and records what it got. */
export async function fakeServer(answer: (r: Req) => { status: number; headers?: Record<string, string> }): Promise<{ port: number; reqs: Req[]; frames: Array<{ ch: number; data: Buffer }>; server: Server; conns: Socket[] }> {
  const reqs: Req[] = [];
  const frames: Array<{ ch: number; data: Buffer }> = [];
  const conns: Socket[] = [];
  const server = createServer((sock) => {
    conns.push(sock);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length && buf[0] === 0x24) {
          if (buf.length < 4) return;
          const len = buf.readUInt16BE(2);
          if (buf.length < 4 + len) return;
          frames.push({ ch: buf[1]!, data: buf.subarray(4, 4 + len) });
          buf = buf.subarray(4 + len);
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString().split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
        const len = Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + len) return;
        const [method, url] = lines[0]!.split(' ');
        const req = { method: method!, url: url!, headers, body: buf.subarray(end + 4, end + 4 + len).toString() };
        buf = buf.subarray(end + 4 + len);
        reqs.push(req);
        const a = answer(req);
        const extra = Object.entries(a.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        // Interleaved data from the server (an RTCP receiver report) before the answer: skipped by the client.
        if (req.method === 'RECORD') sock.write(Buffer.from([0x24, 1, 0, 2, 0xaa, 0xbb]));
        sock.write(`RTSP/1.0 ${a.status} ${a.status === 200 ? 'OK' : 'Unauthorized'}\r\nCSeq: ${headers.cseq}\r\n${extra}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  after(() => { for (const c of conns) c.destroy(); server.close(); });
  return { port: (server.address() as { port: number }).port, reqs, frames, server, conns };
}
