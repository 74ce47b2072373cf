// Reads a JSON request body with a hard size limit: the limit is checked against Content-Length
// up front and against the bytes as they arrive, so a huge body is refused without buffering it.

import type { IncomingMessage } from 'node:http';
import { MAX_HTTP_BODY_BYTES } from '../../protocol/limits.ts';

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; msg: string };

export function readJsonBody(req: IncomingMessage, limit = MAX_HTTP_BODY_BYTES, opts: { allowEmpty?: boolean } = {}): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve({ ok: false, status: 413, msg: `body larger than ${limit} bytes` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        finish({ ok: false, status: 413, msg: `body larger than ${limit} bytes` });
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish({ ok: false, status: 400, msg: 'body could not be read' }));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        finish(opts.allowEmpty ? { ok: true, value: {} } : { ok: false, status: 400, msg: 'a JSON body is required' });
        return;
      }
      // Any Content-Type is read as JSON: v1's clients (fetch without headers, curl -d) send
      // text/plain or form types; what counts is that the body parses and validates.
      try {
        finish({ ok: true, value: JSON.parse(text) });
      } catch {
        finish({ ok: false, status: 400, msg: 'body is not valid JSON' });
      }
    });
  });
}
