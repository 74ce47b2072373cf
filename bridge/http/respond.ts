// Response helpers: v1's {ok, msg} JSON shape (docs/MIGRATION.md), CORS for bearer-token callers on other
// origins (never with credentials: cookies must not cross sites), and security headers on all
// (the CSP itself is built in csp.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.ts';
import { contentSecurityPolicy } from './csp.ts';

export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  // The microphone for the app itself (talk); the camera and every other device stay off.
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=(), display-capture=(), usb=(), serial=(), payment=()',
};

/**
 * Security headers on every answer (the app shell, its files and the API alike), with the
 * Content-Security-Policy of the config as it is now (http/csp.ts).
 */
export function applyCommonHeaders(req: IncomingMessage, res: ServerResponse, config: Pick<Config, 'server_mode'>, secure: boolean): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(config, req.headers.host, secure));
  // '*' and no Allow-Credentials: bearer-token calls from the server-hosted app work, cookies do not.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Type');
  if (req.headers['access-control-request-private-network'] === 'true') {
    // Chrome's Private Network Access preflight: the robot lives on the LAN on purpose.
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
}

export function preflight(res: ServerResponse): void {
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
    'Content-Length': '0',
  });
  res.end();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export const ok = (res: ServerResponse, msg: string, extra: Record<string, unknown> = {}, headers: Record<string, string | string[]> = {}) =>
  sendJson(res, 200, { ok: true, msg, ...extra }, headers);

export const fail = (res: ServerResponse, status: number, msg: string, extra: Record<string, unknown> = {}, headers: Record<string, string | string[]> = {}) =>
  sendJson(res, status, { ok: false, msg, ...extra }, headers);
