// The relay's small HTTP toolkit (node:http, no framework): the error a handler throws to answer
// with a status, the JSON body reader with its size bound, the JSON answer, and the client address
// that the failed-login brake counts by.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_HTTP_BODY_BYTES } from '../../protocol/limits.ts';

/** Thrown by a handler: answered as `{ok:false,error:code,msg}` with this status. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_HTTP_BODY_BYTES) throw new HttpError(413, 'too_large', `body larger than ${MAX_HTTP_BODY_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  if (!size) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* fall through */ }
  throw new HttpError(400, 'bad_json', 'body must be a JSON object');
}

export function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Behind Caddy (trustProxy) the peer is the proxy: the client is the first X-Forwarded-For hop. */
export function clientIp(req: IncomingMessage, trustProxy: boolean | undefined): string {
  const xff = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
  return xff || req.socket.remoteAddress || 'unknown';
}
