// FFmpeg's and the relay's failures in words an operator can act on. FFmpeg's own last error line
// (already stripped of credentials by the supervisor) is kept after the explanation.

export function publishError(raw: string | null, where: string): string {
  const line = raw ?? 'stopped';
  const why =
    /certificate|altnames|self[- ]signed/i.test(line) ? `the TLS certificate of MediaMTX at ${where} is not trusted (a CA the robot trusts must sign it for that host: set server_mode.rtsp_ca_file to that CA)` :
    /401|unauthori[sz]ed/i.test(line) ? `MediaMTX at ${where} refused the robot's credentials (check stream_key / stream_password)` :
    /403|forbidden/i.test(line) ? `MediaMTX at ${where} does not allow this robot to publish there` :
    /connection refused/i.test(line) ? `MediaMTX not reachable at ${where} (connection refused)` :
    /broken pipe|connection reset|end of file|eof/i.test(line) ? `MediaMTX at ${where} closed the connection` :
    /timed out|timeout/i.test(line) ? `MediaMTX at ${where} did not answer in time` :
    /stalled/i.test(line) ? `the stream to ${where} stalled` :
    /name or service not known|resolve/i.test(line) ? `cannot resolve the MediaMTX host ${where}` :
    `publishing to ${where} failed`;
  return `${why}: ${line}`.slice(0, 300);
}

export function relayError(err: { code?: string; message?: string; status?: number }, where: string): string {
  if (err.status === 401) return `the relay at ${where} refused the robot's credentials (check stream_key / stream_password)`;
  if (err.status === 404) return `the relay at ${where} has no robot endpoint there (check server_url)`;
  if (err.status === 429) return `the relay at ${where} is slowing down our logins (too many failures)`;
  if (err.status) return `the relay at ${where} refused the connection (HTTP ${err.status})`;
  if (err.code === 'ECONNREFUSED') return `relay not reachable at ${where} (connection refused)`;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `cannot resolve the relay host ${where}`;
  return `relay at ${where}: ${err.message ?? 'connection failed'}`.slice(0, 300);
}
