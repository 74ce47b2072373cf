// The relay's CPU per message with no batching: P robots, each with one driver that sends a drive
// and waits for its ack before the next, so every message crosses the relay alone whatever else
// runs on the machine (capacity.ts's µs/msg falls when the relay falls behind and batches). The
// relay's CPU (user + system, /proc/<pid>/stat) over N messages, five times after a warm-up; the
// best and the median are printed. --relay-root runs another checkout's relay (an A/B of a change).
//   node --import tsx bench/relay/cpu-per-message.ts [--robots 4] [--messages 30000] [--relay-root DIR]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { jsonEvent, launchCommand, ROOT, stopProc } from '../../scripts/stack.ts';

const { values } = parseArgs({ options: { robots: { type: 'string', default: '4' }, messages: { type: 'string', default: '30000' }, 'relay-root': { type: 'string', default: ROOT } } });
const P = Math.max(1, Number(values.robots) || 4);
const N = Math.max(1000, Number(values.messages) || 30000);
const KEY = randomBytes(18).toString('base64url');
const dataDir = mkdtempSync(join(tmpdir(), 'havatar-cpu-msg-'));
const relay = await launchCommand('relay', process.execPath, ['--import', 'tsx', join(values['relay-root'], 'server/relay/main.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], jsonEvent('listening'), {
  // No rate limit: a closed loop sends as fast as the relay answers (the bucket is still taken per frame).
  env: { ADMIN_API_KEY: KEY, MEDIAMTX_API_URL: 'none', HAVATAR_LOG_LEVEL: 'warn', RELAY_LIMITS: JSON.stringify({ messagesPerSecond: 1e6, messageBurst: 1e6 }) }, timeoutMs: 30_000,
});
const port = Number(relay.ready.port);
const post = async (path: string, body: unknown, admin = true) => (await (await fetch(`http://127.0.0.1:${port}${path}`, {
  method: 'POST', headers: { 'Content-Type': 'application/json', ...(admin ? { Authorization: `Bearer ${KEY}` } : {}) }, body: JSON.stringify(body),
})).json()) as Record<string, unknown>;
const open = (path: string, headers: Record<string, string> = {}) => new Promise<WebSocket>((resolve, reject) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});
const cpuTicks = () => { const s = readFileSync(`/proc/${relay.child.pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return Number(f[11]) + Number(f[12]); };

let done = 0, target = 0, finished = () => {};
const starts: (() => void)[] = [];
for (let i = 0; i < P; i++) {
  const id = `r${i}`;
  const pw = (await post('/api/robot/register', { robot: id })).password as string;
  const robot = await open(`/ws/robot/${id}`, { Authorization: `Basic ${Buffer.from(`${id}:${pw}`).toString('base64')}` });
  robot.on('message', (d) => {
    const f = JSON.parse(String(d)) as { type: string; client: string; msg: { type: string; seq: number; t: number } };
    if (f.type === 'forward' && f.msg.type === 'drive') robot.send(JSON.stringify({ v: 1, type: 'to', client: f.client, msg: { v: 1, type: 'ack', seq: f.msg.seq, t: f.msg.t, result: 'applied' } }));
  });
  const invite = (await post('/api/invites', { robot: id, role: 'driver', ttl: '1h' })).invite as { token: string };
  const token = (await post('/api/session', { invite: invite.token }, false)).token as string;
  const driver = await open(`/ws/client/d${i}?token=${token}`);
  let seq = 0;
  const send = () => driver.send(`{"v":1,"type":"drive","seq":${++seq},"left":0.5,"right":0.5,"ttl":300,"t":${Date.now()}}`);
  const leased = new Promise<void>((resolve) => driver.on('message', (d) => {
    const s = String(d);
    if (s.startsWith('{"v":1,"type":"ack"')) { if (++done >= target) finished(); else send(); return; }
    const f = JSON.parse(s) as { type: string; you?: boolean; message?: string };
    if (f.type === 'lease' && f.you) resolve();
    if (f.type === 'error') process.stderr.write(`# driver d${i}: ${f.message}\n`);
  }));
  driver.send('{"v":1,"type":"lease","action":"take"}');
  await leased;
  starts.push(send);
}

const runs: number[] = [];
for (let r = 0; r < 6; r++) {
  const n = r === 0 ? N / 4 : N; // the first is the warm-up
  done = 0; target = n;
  const t0 = cpuTicks();
  await new Promise<void>((resolve) => { finished = resolve; for (const s of starts) s(); });
  if (r > 0) runs.push(((cpuTicks() - t0) * 10_000) / n); // clock ticks are 10 ms
}
runs.sort((a, b) => a - b);
console.log(`relay CPU per message, ${P} drivers in closed loop, ${N} messages a run: best ${runs[0]!.toFixed(1)} µs, median ${runs[2]!.toFixed(1)} µs (${runs.map((x) => x.toFixed(1)).join(' ')})`);
await stopProc(relay, 1000);
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
