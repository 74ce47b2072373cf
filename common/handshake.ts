// Refusing a WebSocket upgrade: both servers authenticate the HTTP handshake before speaking
// WebSocket, so a refused client gets a plain HTTP answer (status + JSON body) on the raw socket
// and never an open socket. Connection: close, because nothing more will be read from it.
import type { Duplex } from 'node:stream';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** The HTTP answer that refuses an upgrade, as bytes on the wire. */
export function refusalResponse(status: number, body: object, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`;
}

/** Answers the handshake with `status` and `body` and ends the socket. */
export function refuseHandshake(socket: Duplex, status: number, body: object, headers?: Record<string, string>): void {
  socket.end(refusalResponse(status, body, headers));
}
