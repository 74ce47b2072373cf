// The talk reader's TLS tunnel against a real TLS server: bytes pass when the server's certificate
// verifies against the CA given, and nothing at all reaches a server signed by another CA.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { createLogger } from '../../common/log.ts';
import { makeCertificates } from '../test/test-certs.ts';
import { TlsTunnel } from './tls-tunnel.ts';

let dir = '';
let server: Server;
let port = 0;
const received: Buffer[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'havatar-tunnel-'));
  const certs = makeCertificates(dir);
  server = createServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) }, (s) => {
    s.on('data', (d: Buffer) => { received.push(d); s.write(Buffer.concat([Buffer.from('echo:'), d])); });
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `msg` through the tunnel: what came back before the socket closed (or 2 s). */
async function through(caFile: string, msg: string): Promise<string> {
  const tunnel = new TlsTunnel({ host: '127.0.0.1', port, ca: () => readFileSync(join(dir, caFile)), log: createLogger('test') });
  const local = await tunnel.listen();
  try {
    return await new Promise<string>((resolve) => {
      const s = connect(local, '127.0.0.1', () => s.write(msg));
      let got = '';
      s.on('data', (d) => { got += String(d); if (got.startsWith('echo:')) s.end(); });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      s.setTimeout(2000, () => s.destroy());
    });
  } finally {
    tunnel.close();
  }
}

test('a server whose certificate the CA signed gets the bytes and answers', async () => {
  assert.equal(await through('ca.pem', 'OPTIONS rtsp://x RTSP/1.0'), 'echo:OPTIONS rtsp://x RTSP/1.0');
});

test('a server signed by another CA gets nothing: the tunnel closes before sending', async () => {
  received.length = 0;
  assert.equal(await through('other.pem', 'Authorization: Basic secret'), '');
  assert.equal(received.length, 0);
});
