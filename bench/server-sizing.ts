// Server sizing: what one robot and one viewer cost the server (the relay + MediaMTX v1.20.1), in
// CPU, memory and bandwidth, measured on loopback with the real processes:
//   node --import tsx bench/server-sizing.ts [--seconds 15] [--robots 1,2,4] [--viewers 4,8,16]
// Each simulated robot is what the bridge is to the server: a relay link (/ws/robot/<id>, its
// publish credential, telemetry at 5 Hz) and an RTSP publish of H.264 1280x720 30 fps at the
// bridge's default 1500 kbps cap + Opus 32 kbps (a clip encoded once with the bridge's x264
// settings, sent with `-c copy -re`, so the robots' FFmpegs cost next to nothing here). Each viewer
// is what the app is: a relay session from an invite, a client socket with heartbeats at 2 Hz, and
// a WHEP read of the robot's stream (a pion WebRTC reader in bench/server-sizing/whep/: no browser,
// which would take the CPU being measured). Steps: 1, 2, 4 robots without viewers, then the largest
// robot count with 4, 8, 16 viewers spread over the robots. Per step, over --seconds after a settle:
// the CPU of the relay and of MediaMTX (from /proc/<pid>/stat, % of one core), their RSS, and the
// bytes MediaMTX received and sent (its API). Per robot and per viewer = least-squares slope over
// the loaded steps. Prints Markdown and a BENCH_RESULT JSON line; writes bench/results/server-sizing-<date>.json.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Peer, api, admin, launch, mediamtxPorts, mtxApiAuth, registerRobot, robotAuth, startMediamtx, startRelay, stopAll, tempDir,
  type MediamtxProc, type Proc, type RelayProc,
} from '../server/test/helpers.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' }, settle: { type: 'string', default: '4' },
    robots: { type: 'string', default: '1,2,4' }, viewers: { type: 'string', default: '4,8,16' },
  },
});
const WINDOW_S = Number(values.seconds);
const SETTLE_S = Number(values.settle);
const ROBOT_STEPS = values.robots.split(',').map(Number);
const VIEWER_STEPS = values.viewers.split(',').map(Number);
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

// ---- the WHEP reader (Go, built once per source change, like bench/relay/loadgen.ts) -----------

function whepReaderBinary(): string {
  const dir = join(ROOT, 'bench/server-sizing/whep');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) hash.update(f).update(readFileSync(join(dir, f)));
  const cache = process.env.HAVATAR_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'havatar');
  const bin = join(cache, `whep-readers-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  process.stderr.write(`# building the WHEP readers into ${bin}\n`);
  // MediaMTX's own dependencies (pion) are in Go's module cache once scripts/build-mediamtx.sh ran.
  const r = spawnSync('go', ['build', '-trimpath', '-o', `${bin}.${process.pid}.tmp`, '.'], { cwd: dir, env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the WHEP readers failed (needs Go and MediaMTX's modules: bash scripts/build-mediamtx.sh): ${r.error?.message ?? r.stderr}`);
  renameSync(`${bin}.${process.pid}.tmp`, bin);
  return bin;
}

// ---- measuring a process -------------------------------------------------------------------------

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface MtxBytes { received: number; sent: number }
async function mediamtxBytes(mtx: MediamtxProc): Promise<MtxBytes> {
  const r = await fetch(`http://127.0.0.1:${mtx.api}/v3/paths/list`, { headers: mtxApiAuth });
  const body = (await r.json()) as { items: { bytesReceived?: number; bytesSent?: number }[] };
  return body.items.reduce((a, p) => ({ received: a.received + (p.bytesReceived ?? 0), sent: a.sent + (p.bytesSent ?? 0) }), { received: 0, sent: 0 });
}

// ---- the load -------------------------------------------------------------------------------------

/** The bridge's x264 settings (bridge/media/ffmpeg-args.ts publishVideoArgs) at its defaults, encoded once. */
async function makeClip(dir: string): Promise<string> {
  const clip = join(dir, 'robot.mkv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0',
    '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '750k',
    '-c:a', 'libopus', '-b:a', '32k', '-ac', '1', clip], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not make the clip: ${r.stderr}`);
  return clip;
}

interface Robot { id: string; link: Peer; telemetry: NodeJS.Timeout; publisher: Proc }

async function startRobot(relay: RelayProc, mtx: MediamtxProc, clip: string, id: string): Promise<Robot> {
  const password = await registerRobot(relay.url, id);
  const link = await Peer.open(`${relay.ws}/ws/robot/${id}`, robotAuth(id, password));
  const cred = (await link.next((f) => f.type === 'publish_credential', 5000)) as { user: string; password: string };
  const telemetry = setInterval(() => link.send({ v: 1, type: 'telemetry', battery: { voltage: 12, percentage: 90 }, motors: { left: 0, right: 0 }, serial: true, ts: Date.now() }), 200);
  const url = `rtsp://${cred.user}:${cred.password}@127.0.0.1:${mtx.rtsp}/robots/${id}`;
  const publisher = await launch('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy',
    '-f', 'rtsp', '-rtsp_transport', 'tcp', '-pkt_size', '1400', url], null);
  return { id, link, telemetry, publisher };
}

interface Viewer { socket: Peer; beat: NodeJS.Timeout; token: string; robot: string }

async function startViewer(relay: RelayProc, robot: string, n: number): Promise<Viewer> {
  const inv = await api(relay.url, 'POST', '/api/invites', { robot, role: 'viewer', ttl: '1h' }, admin);
  const s = await api(relay.url, 'POST', '/api/session', { invite: (inv.json.invite as { token: string }).token });
  if (s.status !== 201) throw new Error(`session ${s.status} ${s.text}`);
  const token = s.json.token as string;
  const socket = await Peer.open(`${relay.ws}/ws/client/viewer-${n}?token=${token}`);
  const beat = setInterval(() => socket.send({ v: 1, type: 'heartbeat', t: Date.now() }), 500);
  return { socket, beat, token, robot };
}

interface Step { robots: number; viewers: number; relayCpu: number; mtxCpu: number; relayRssMb: number; mtxRssMb: number; inKbps: number; outKbps: number; readersOk: number; load1: number }

async function measure(relay: RelayProc, mtx: MediamtxProc, robots: number, viewers: Viewer[], whepBin: string): Promise<Step> {
  let readers: Promise<{ readers: { ok: boolean; error?: string }[] }> | null = null;
  if (viewers.length) {
    const args = ['-duration', `${SETTLE_S + WINDOW_S + 1}s`];
    for (const v of viewers) args.push('-url', `http://127.0.0.1:${mtx.webrtc}/robots/${v.robot}/whep`, '-token', v.token);
    const child = spawn(whepBin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += String(d); });
    readers = new Promise((resolve, reject) => child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { readers: { ok: boolean }[] }) : reject(new Error(`whep-readers exited ${code}`)))));
  }
  // Settle (connect, first keyframes), then the window.
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const pids = { relay: relay.child.pid!, mtx: mtx.child.pid! };
  const t0 = performance.now();
  const c0 = { relay: cpuTicks(pids.relay), mtx: cpuTicks(pids.mtx) };
  const b0 = await mediamtxBytes(mtx);
  const rss: { relay: number[]; mtx: number[] } = { relay: [], mtx: [] };
  for (let i = 0; i < WINDOW_S; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.relay.push(rssMb(pids.relay));
    rss.mtx.push(rssMb(pids.mtx));
  }
  const seconds = (performance.now() - t0) / 1000;
  const c1 = { relay: cpuTicks(pids.relay), mtx: cpuTicks(pids.mtx) };
  const b1 = await mediamtxBytes(mtx);
  const ok = readers ? (await readers).readers : [];
  const failed = ok.filter((r) => !r.ok);
  if (failed.length) process.stderr.write(`# ${failed.length} reader(s) failed: ${failed.map((r) => r.error).slice(0, 3).join('; ')}\n`);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pct = (d: number) => Math.round(((d / CLK_TCK) / seconds) * 1000) / 10;
  return {
    robots, viewers: viewers.length,
    relayCpu: pct(c1.relay - c0.relay), mtxCpu: pct(c1.mtx - c0.mtx),
    relayRssMb: Math.round(avg(rss.relay) * 10) / 10, mtxRssMb: Math.round(avg(rss.mtx) * 10) / 10,
    inKbps: Math.round(((b1.received - b0.received) * 8) / seconds / 1000), outKbps: Math.round(((b1.sent - b0.sent) * 8) / seconds / 1000),
    readersOk: ok.filter((r) => r.ok).length, load1: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? num / den : NaN;
}

async function main(): Promise<void> {
  const whepBin = whepReaderBinary();
  const ports = await mediamtxPorts();
  const relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}`, env: { HAVATAR_LOG_LEVEL: 'warn' } });
  const mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
  const clip = await makeClip(tempDir('havatar-sizing-'));
  const robots: Robot[] = [];
  const viewers: Viewer[] = [];
  const steps: Step[] = [];
  try {
    steps.push(await measure(relay, mtx, 0, [], whepBin));
    for (const n of ROBOT_STEPS) {
      while (robots.length < n) robots.push(await startRobot(relay, mtx, clip, `robot${robots.length + 1}`));
      steps.push(await measure(relay, mtx, n, [], whepBin));
      process.stderr.write(`# ${JSON.stringify(steps.at(-1))}\n`);
    }
    for (const m of VIEWER_STEPS) {
      while (viewers.length < m) viewers.push(await startViewer(relay, robots[viewers.length % robots.length]!.id, viewers.length + 1));
      steps.push(await measure(relay, mtx, robots.length, viewers, whepBin));
      process.stderr.write(`# ${JSON.stringify(steps.at(-1))}\n`);
    }
  } finally {
    for (const r of robots) { clearInterval(r.telemetry); r.link.close(); }
    for (const v of viewers) { clearInterval(v.beat); v.socket.close(); }
    await stopAll();
  }
  // Slopes over the loaded steps: the idle relay still holds its start-up garbage, which its first GC frees.
  const byRobot = steps.filter((s) => s.viewers === 0 && s.robots > 0);
  const byViewer = steps.filter((s) => s.robots === robots.length);
  const per = (pick: (s: Step) => number, over: Step[], x: (s: Step) => number) => Math.round(slope(over.map((s) => [x(s), pick(s)])) * 100) / 100;
  const perRobot = {
    relayCpu: per((s) => s.relayCpu, byRobot, (s) => s.robots), mtxCpu: per((s) => s.mtxCpu, byRobot, (s) => s.robots),
    relayRssMb: per((s) => s.relayRssMb, byRobot, (s) => s.robots), mtxRssMb: per((s) => s.mtxRssMb, byRobot, (s) => s.robots),
    inKbps: per((s) => s.inKbps, byRobot, (s) => s.robots),
  };
  const perViewer = {
    relayCpu: per((s) => s.relayCpu, byViewer, (s) => s.viewers), mtxCpu: per((s) => s.mtxCpu, byViewer, (s) => s.viewers),
    relayRssMb: per((s) => s.relayRssMb, byViewer, (s) => s.viewers), mtxRssMb: per((s) => s.mtxRssMb, byViewer, (s) => s.viewers),
    outKbps: per((s) => s.outKbps, byViewer, (s) => s.viewers),
  };
  const cpu = cpus();
  const result = {
    date: new Date().toISOString(), machine: `${cpu.length} × ${cpu[0]?.model ?? '?'}`, windowS: WINDOW_S, steps, perRobot, perViewer,
    command: `node --import tsx bench/server-sizing.ts --seconds ${WINDOW_S} --robots ${ROBOT_STEPS.join(',')} --viewers ${VIEWER_STEPS.join(',')}`,
  };
  const rows = steps.map((s) => `| ${s.robots} | ${s.viewers}${s.viewers ? ` (${s.readersOk} reading)` : ''} | ${s.relayCpu} | ${s.mtxCpu} | ${s.relayRssMb} | ${s.mtxRssMb} | ${s.inKbps} | ${s.outKbps} | ${s.load1} |`);
  process.stdout.write([
    `Command: \`${result.command}\` · ${result.date} · ${result.machine}`, '',
    '| robots | viewers | relay CPU % | MediaMTX CPU % | relay RSS MB | MediaMTX RSS MB | MediaMTX in kbps | MediaMTX out kbps | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|', ...rows, '',
    `Per robot: relay ${perRobot.relayCpu} % CPU, ${perRobot.relayRssMb} MB; MediaMTX ${perRobot.mtxCpu} % CPU, ${perRobot.mtxRssMb} MB; ${perRobot.inKbps} kbps in.`,
    `Per viewer: relay ${perViewer.relayCpu} % CPU, ${perViewer.relayRssMb} MB; MediaMTX ${perViewer.mtxCpu} % CPU, ${perViewer.mtxRssMb} MB; ${perViewer.outKbps} kbps out.`,
    '',
  ].join('\n'));
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `server-sizing-${result.date.replace(/[:.]/g, '-').slice(0, 19)}Z.json`), JSON.stringify(result, null, 1));
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

await main();
