import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { refuseHandshake, refusalResponse } from './handshake.ts';

/** Splits a raw HTTP answer into status line, headers and body. */
function parse(raw: string) {
  const [head, body] = raw.split('\r\n\r\n') as [string, string];
  const [status, ...lines] = head.split('\r\n');
  return { status, headers: Object.fromEntries(lines.map((l) => l.split(': ') as [string, string])), body };
}

test('a refusal is a complete HTTP answer: status text, JSON body with its byte length, connection closed', () => {
  const r = parse(refusalResponse(401, { ok: false, msg: 'operator token required (é)' }, { 'WWW-Authenticate': 'Bearer' }));
  assert.equal(r.status, 'HTTP/1.1 401 Unauthorized');
  assert.equal(r.headers.Connection, 'close');
  assert.equal(r.headers['Content-Type'], 'application/json');
  assert.equal(r.headers['WWW-Authenticate'], 'Bearer');
  assert.equal(Number(r.headers['Content-Length']), Buffer.byteLength(r.body), 'bytes, not characters');
  assert.deepEqual(JSON.parse(r.body), { ok: false, msg: 'operator token required (é)' });
});

test('an unknown status still gets a status line', () => {
  assert.match(refusalResponse(418, {}), /^HTTP\/1\.1 418 Error\r\n/);
});

test('refuseHandshake writes the answer and ends the socket', async () => {
  const socket = new PassThrough();
  let written = '';
  socket.on('data', (c: Buffer) => { written += c.toString(); });
  const ended = new Promise((r) => socket.on('end', r));
  refuseHandshake(socket, 503, { ok: false, msg: 'too many operators connected' });
  await ended;
  assert.equal(parse(written).status, 'HTTP/1.1 503 Service Unavailable');
  assert.equal(socket.writableEnded, true);
});
