// Structured logs for the Node processes (bridge, relay, simulator): one JSON object per line on
// stderr. Secrets never reach the log: keys that look like credentials are redacted, and URLs
// lose their query strings (tokens travel there).

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|password|passwd|secret|authorization|cookie|api_?key|credential/i;

let threshold: Level = (process.env.HAVATAR_LOG_LEVEL as Level) in ORDER ? (process.env.HAVATAR_LOG_LEVEL as Level) : 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void { threshold = level; }
/** Tests capture log lines to check that no secret is ever written. */
export function setLogSink(fn: (line: string) => void): void { sink = fn; }

/** Removes query strings (where tokens travel) from anything that looks like a URL or path. */
export function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : url.slice(0, i) + '?…';
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 4) return '…';
  if (typeof value === 'string') return value.includes('?') && /^(\/|\w+:\/\/)/.test(value) ? stripQuery(value) : value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function createLogger(component: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const extra = fields ? (redact(fields) as Record<string, unknown>) : {};
    sink(JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...extra }));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (sub) => createLogger(`${component}.${sub}`),
  };
}
