// `npm run bench [-- --quick | --full | --soak]`: runs every benchmark as a child process, writes
// bench/results/<date>.json and <date>.md, and rewrites the tables of docs/PERFORMANCE.md between
// `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` (each with the command, date, machine and load,
// and the goal beside each figure). --quick (default): 4 min 40-50 s on 2 cores as measured (goal: under 5).
// `--field`: bench/field.ts alone, the product over each emulated network profile (root only; its table is `field`).
// `--only a,b` runs a subset (names: video, audio, command, footprint, videopaths, mode, serial, relay, soak).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/stack.ts';
import { fieldTable } from './lib/field-table.ts';
import { describeBenchStack, SHARED_STACK_ENV, startBenchStack, type BenchStack } from './lib/stack.ts';
import { machine, type Dist } from './lib/util.ts';

const MODE = process.argv.includes('--field') ? 'field' : process.argv.includes('--soak') ? 'soak' : process.argv.includes('--full') ? 'full' : 'quick';
const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg >= 0 ? new Set((process.argv[onlyArg + 1] ?? '').split(',')) : null;
const COMMAND = `npm run bench -- --${MODE}${ONLY ? ` --only ${[...ONLY].join(',')}` : ''}`;

/** `shared`: runs on one stack started here (bench/lib/stack.ts), with the other shared benches; the rest start their own. */
interface Bench { name: string; script: string; args: Partial<Record<'quick' | 'full' | 'soak' | 'field', string[] | null>>; timeoutS: number; raw?: boolean; shared?: boolean }
const BENCHES: Bench[] = [
  { name: 'video', script: 'bench/video-latency.ts', args: { quick: ['--frames', '300'], full: ['--frames', '600', '--repeat', '3'], soak: null }, timeoutS: 400, shared: true },
  { name: 'audio', script: 'bench/audio-latency.ts', args: { quick: ['--seconds', '10'], full: ['--seconds', '60'], soak: null }, timeoutS: 300, shared: true },
  { name: 'command', script: 'bench/command-latency.ts', args: { quick: ['--count', '300', '--stops', '40'], full: ['--count', '3000', '--stops', '200'], soak: null }, timeoutS: 300, shared: true },
  { name: 'footprint', script: 'bench/footprint.ts', args: { quick: ['--seconds', '6'], full: ['--seconds', '60'], soak: null }, timeoutS: 300 },
  { name: 'serial', script: 'bench/serial-link.ts', args: { quick: ['--count', '300'], full: ['--count', '3000'], soak: null }, timeoutS: 120, raw: true },
  { name: 'mode', script: 'bench/mode-switch.ts', args: { quick: ['--cycles', '1'], full: ['--cycles', '3'], soak: null }, timeoutS: 240 },
  { name: 'relay', script: 'bench/relay/capacity.ts', args: { quick: ['--quick'], full: ['--full'], soak: null }, timeoutS: 1800, raw: true },
  { name: 'videopaths', script: 'bench/video-paths.ts', args: { quick: ['--seconds', '4'], full: ['--seconds', '20'], soak: null }, timeoutS: 400 },
  { name: 'field', script: 'bench/field.ts', args: { field: ['--seconds', '20'] }, timeoutS: 1500 },
  { name: 'soak', script: 'bench/soak.ts', args: { quick: null, full: null, soak: ['--minutes', '60'] }, timeoutS: 4200 },
];

interface Outcome { name: string; ok: boolean; seconds: number; result?: Record<string, unknown>; markdown?: string; error?: string }

function runOne(b: Bench, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, b.script), ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    child.stderr!.on('data', (d: Buffer) => { err += d; process.stderr.write(`  [${b.name}] ${d}`.replace(/\n(?!$)/g, `\n  [${b.name}] `)); });
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ } setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000); }, b.timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const seconds = Math.round((Date.now() - t0) / 1000);
      const line = out.split('\n').reverse().find((l) => l.startsWith('BENCH_RESULT ') || (b.raw && l.startsWith('{')));
      let result: Record<string, unknown> | undefined;
      try { if (line) result = JSON.parse(line.replace(/^BENCH_RESULT /, '')) as Record<string, unknown>; } catch { /* not JSON */ }
      const markdown = b.name === 'relay' ? out.replace(/\nwritten:.*$/s, '').trim() : undefined;
      if (code === 0 && (result || markdown)) resolve({ name: b.name, ok: true, seconds, ...(result ? { result } : {}), ...(markdown ? { markdown } : {}) });
      else resolve({ name: b.name, ok: false, seconds, error: `exit ${code}: ${(err.trim().split('\n').slice(-4).join(' / ') || out.slice(-300)).slice(0, 600)}` });
    });
  });
}

// ---- Markdown ----------------------------------------------------------------------------------

type J = Record<string, any>; // the results' JSON, read field by field
const ms = (d: Dist | null | undefined, k: keyof Dist) => (d ? `${d[k]} ms` : '—');
const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? ' ✅' : ' ❌');

function videoTable(r: J): string {
  const P = r.paths as J;
  const row = (label: string, x: J, goal: string, ok: boolean | null) => `| ${label} | ${ms(x.latency, 'p50')} | ${ms(x.latency, 'p95')} | ${ms(x.latency, 'max')} | ${x.frames} (${x.decodeFailures} unreadable) | ${goal}${verdict(ok)} |`;
  const rw = P.webrtc as J, rm = P.mjpeg as J, rh = P.hls as J;
  // The goal: p95 ≤ 60 ms, or ≤ 1.1× the floor's p95 in the same run when the floor itself is above 60 ms here.
  const p95 = (x: J): number | null => x?.latency?.p95 ?? null;
  const p95Ratio = p95(rw.ours) !== null && p95(rw.floor) ? Math.round((p95(rw.ours)! / p95(rw.floor)!) * 100) / 100 : null;
  const p95Goal = p95(rw.floor) !== null && p95(rw.floor)! > 60
    ? { text: `p95 ≤ 60 ms or, the floor's p95 being ${p95(rw.floor)} ms, ≤ 1.1× it: **${p95Ratio}×**`, ok: p95Ratio !== null ? p95(rw.ours)! <= 60 || p95Ratio <= 1.1 : null }
    : { text: `p95 ≤ 60 ms (floor's p95 ${p95(rw.floor) ?? '—'} ms; ${p95Ratio ?? '—'}×)`, ok: p95(rw.ours) !== null ? p95(rw.ours)! <= 60 : null };
  const lines = [
    '| path | p50 | p95 | max | frames | goal |', '|---|---|---|---|---|---|',
    row('ours · local MJPEG (bridge /video, app `<img>`)', rm.ours, `p50 ≤ 1.25× floor: **${rm.ratioP50}×**`, rm.ratioP50 !== null ? rm.ratioP50 <= 1.25 : null),
    row('floor · MJPEG (FFmpeg -threads 1 → minimal server)', rm.floor, '—', null),
    row('ours · WebRTC (bridge → MediaMTX → app WhepPlayer)', rw.ours, `p50 ≤ 1.25× floor: **${rw.ratioP50}×**; ${p95Goal.text}`, rw.ratioP50 !== null && p95Goal.ok !== null ? rw.ratioP50 <= 1.25 && p95Goal.ok : null),
    row('floor · WebRTC (FFmpeg → own MediaMTX → plain WHEP)', rw.floor, '—', null),
    row('ours · LL-HLS (app HlsPlayer, hls.js)', rh.ours, `fallback only; p50 ≤ 1.1× floor: **${rh.ratioP50}×**`, rh.ratioP50 !== null ? rh.ratioP50 <= 1.1 : null),
    row('floor · LL-HLS (MediaMTX defaults, plain hls.js)', rh.floor, '—', null),
  ];
  const st = (x: J) => x.stages ? `capture→received ${x.stages.captureToReceiveP50} ms · received→displayed ${x.stages.receiveToDisplayP50} ms (jitter buffer ${x.stages.jitterBufferMsPerFrame} ms/frame, decode ${x.stages.decodeMsPerFrame} ms/frame) · displayed→callback ${x.stages.displayToCallbackP50} ms` : '—';
  lines.push('', `WebRTC stages (p50 per frame, from requestVideoFrameCallback receiveTime/expectedDisplayTime and getStats): ours: ${st(rw.ours)}; floor: ${st(rw.floor)}.`);
  const eg = rw.egress as J | undefined;
  const egLine = (d: J | null | undefined) => d ? `p50 ${d.p50} ms, p95 ${d.p95} ms (${d.n} frames)` : '—';
  if (eg) lines.push('', `Capture → MediaMTX's RTSP egress (bench/lib/rtsp-probe.ts: a bufferless FFmpeg reader, its own decode included on both sides, read during the HLS runs): ours ${egLine(eg.ours)}; floor ${egLine(eg.floor)}.`);
  return lines.join('\n');
}

function audioTable(r: J): string {
  const g = (d: Dist | null) => (d ? d.p50 <= 60 : null);
  const w = r.micToAppWebrtc as J;
  return [
    '| direction | p50 | p95 | max | markers | goal |', '|---|---|---|---|---|---|',
    `| robot mic → app, WebRTC (sim mic → bridge → publisher Opus → MediaMTX → app WhepPlayer → ${w.playout ? 'its fixed-buffer playout → ' : ''}AudioWorklet) | ${ms(w.latency, 'p50')} | ${ms(w.latency, 'p95')} | ${ms(w.latency, 'max')} | ${w.latency?.n ?? 0} | ≤ 60 ms${verdict(g(w.latency))} |`,
    `| · stage: robot mic → MediaMTX (RTSP reader, timed on arrival) | ${ms(r.micToRtspReader?.latency, 'p50')} | ${ms(r.micToRtspReader?.latency, 'p95')} | ${ms(r.micToRtspReader?.latency, 'max')} | ${r.micToRtspReader?.latency?.n ?? 0} | — |`,
    w.playout
      ? `| · stage: the app's playout instead of NetEq (src/lib/audio/playout-buffer.js; buffer at the end; audio dropped late / cut back / filled with silence) | ${Math.round(w.playout.depthMs)} ms | | | ${w.playout.frames} frames | target ${w.playout.targetMs} ms; ${w.playout.latePercent} / ${w.playout.trimmedPercent} / ${w.playout.concealedPercent} % |`
      : `| · stage: browser audio jitter buffer (getStats jitterBufferDelay/emitted; target) | ${w.audioJitterBufferMs ?? '—'} ms | | | | target ${w.audioJitterTargetMs ?? '—'} ms |`,
    ...(w.start ? [`| · the first ${w.startSeconds} s after joining (not in the row above); settled (every later marker at most 20 ms above the steady p50) ${w.settledAfterS === undefined ? '—' : w.settledAfterS === null ? `not within ${w.startSeconds} s` : `from the marker ${w.settledAfterS} s after joining (first heard: ${w.startSeries[0].atS} s)`} | ${ms(w.start, 'p50')} | ${ms(w.start, 'p95')} | ${ms(w.start, 'max')} | ${w.start.n} | settled ≤ 1 s after the first${verdict(w.settledAfterS === undefined ? null : w.settledAfterS !== null && w.settledAfterS - w.startSeries[0].atS <= 1)} |`] : []),
    `| robot mic → app, local mode (bridge /ws?audio=1 PCM, Node client) | ${ms(r.micToAppLocal.latency, 'p50')} | ${ms(r.micToAppLocal.latency, 'p95')} | ${ms(r.micToAppLocal.latency, 'max')} | ${r.micToAppLocal.latency?.n ?? 0} | ≤ 60 ms${verdict(g(r.micToAppLocal.latency))} |`,
    `| talk → robot speaker (WHIP → MediaMTX → robot's talk reader args, timed on arrival) | ${ms(r.talkToSpeaker.latency, 'p50')} | ${ms(r.talkToSpeaker.latency, 'p95')} | ${ms(r.talkToSpeaker.latency, 'max')} | ${r.talkToSpeaker.latency?.n ?? 0} (+${r.talkToSpeaker.unassigned} ≥ 900 ms) | ≤ 60 ms${verdict(g(r.talkToSpeaker.latency))} |`,
    ...(r.talkStageNoBrowser ? [`| · stage: FFmpeg publishing the marker → MediaMTX → talk reader (no browser) | ${ms(r.talkStageNoBrowser.latency, 'p50')} | ${ms(r.talkStageNoBrowser.latency, 'p95')} | ${ms(r.talkStageNoBrowser.latency, 'max')} | ${r.talkStageNoBrowser.latency?.n ?? 0} | — |`] : []),
  ].join('\n');
}

function commandTable(r: J): string {
  const a = r.relayAdded as J | null;
  return [
    '| path | p50 | p99 | max | ESP32 serial p50 | goal |', '|---|---|---|---|---|---|',
    `| local (bridge /ws) | ${ms(r.local.rtt, 'p50')} | ${ms(r.local.rtt, 'p99')} | ${ms(r.local.rtt, 'max')} | ${ms(r.local.serialRtt, 'p50')} | — |`,
    `| through the relay (/ws/client/<id>) | ${ms(r.relay.rtt, 'p50')} | ${ms(r.relay.rtt, 'p99')} | ${ms(r.relay.rtt, 'max')} | ${ms(r.relay.serialRtt, 'p50')} | — |`,
    `| relay's added share (relay − local) | ${a?.p50 ?? '—'} ms | ${a?.p99 ?? '—'} ms | | | ≤ 1 ms p50, ≤ 5 ms p99${verdict(a ? a.p50 <= 1 && a.p99 <= 5 : null)} |`,
    '', `${r.count} drive commands each way, one in flight, 50/s; ${r.local.notApplied + r.relay.notApplied} not applied.`,
    ...(r.deadmanStop ? deadmanStopRows(r.deadmanStop as J) : []),
  ].join('\n');
}

/** The deadman stop: from the silent driver's last command (its t) to the simulator's $S. */
function deadmanStopRows(d: J): string[] {
  const goal = d.deadmanMs + d.stopFrameMs;
  const ok = (x: J | null) => verdict(x ? x.p99 <= goal && x.min >= d.deadmanMs - 1 : null);
  return [
    '', '| deadman stop after the last command | p50 | p99 | min | max | n | goal |', '|---|---|---|---|---|---|---|',
    ...(['local', 'relay'] as const).map((k) => `| ${k === 'local' ? 'local (bridge /ws)' : 'through the relay'} | ${ms(d[k].stop, 'p50')} | ${ms(d[k].stop, 'p99')} | ${ms(d[k].stop, 'min')} | ${ms(d[k].stop, 'max')} | ${d[k].stop?.n ?? 0}${d[k].missed ? ` (+${d[k].missed} never stopped)` : ''} | ≥ ${d.deadmanMs} ms, p99 ≤ ${d.deadmanMs} + ${d.stopFrameMs} ms (one $S frame)${ok(d[k].stop)} |`),
    '', `A driver at the app's ${d.intervalMs} ms pace goes silent; measured from its last command's stamp to the simulator receiving $S.`,
  ];
}

function footprintTables(r: J): { footprint: string; bandwidth: string } {
  const p = (x: J) => `${x.cpuPct} % CPU, ${x.rssMbMean} MB RSS (max ${x.rssMbMax}), ${x.fds} fds`;
  const L = r.local.procs as J, S = r.server.procs as J;
  // Older results have no idle phase and no RSS split: those rows and lines are left out.
  const mem = (x: J | undefined) => (x ? `${x.rssMb} MB: ${x.anonMb} MB anonymous (heap, buffers) + ${x.fileMb} MB file-backed (node's executable, libraries)` : '—');
  const idle = (r.idle as J | undefined)?.procs?.bridge as J | undefined;
  const cmd = (r.bridge as J | undefined)?.command as string | undefined;
  const env = ((r.bridge as J | undefined)?.env as string[] | undefined) ?? [];
  const footprint = [
    '| process | local: 2 MJPEG viewers | server: publishing + 1 WHEP viewer (+ 1 RTSP bitrate probe) | goal |', '|---|---|---|---|',
    `| bridge (the build/bridge.mjs bundle under plain node, with the simulated camera in-process) | ${p(L.bridge)} | ${p(S.bridge)} | < 60 MB RSS${verdict(Math.max(L.bridge.rssMbMax, S.bridge.rssMbMax) < 60)} |`,
    ...(r.local.bridgeMem || r.server.bridgeMem ? [`| bridge RSS at the end of the phase (/proc/<pid>/smaps_rollup) | ${mem(r.local.bridgeMem as J | undefined)} | ${mem(r.server.bridgeMem as J | undefined)} | — |`] : []),
    `| FFmpeg (bridge's children) | ${p(L.ffmpeg)} | ${p(S.ffmpeg)} | — |`,
    `| simulated ESP32 | ${p(L.simulator)} | ${p(S.simulator)} | — |`,
    `| MediaMTX | ${p(L.mediamtx)} | ${p(S.mediamtx)} | — |`,
    `| relay | ${p(L.relay)} | ${p(S.relay)} | — |`,
    '', `CPU: 100 % = one core, over ${r.seconds} s; 1280x720@30 simulated camera.`,
    ...(idle ? ['', `Bridge idle afterwards (no viewer, not publishing, the capture stopped): ${p(idle)}; at the end ${mem((r.idle as J).bridgeMem as J | undefined)}.`] : []),
    ...(cmd ? ['', `Bridge command: \`${cmd.replace(`${ROOT}/`, '').replace(/ --(port|https-port|data-dir|serial|host) \S+/g, '')}\`${env.length ? ` with ${env.map((e) => `\`${e}\``).join(', ')}` : ''}.`] : []),
  ].join('\n');
  const b = r.bandwidth as J;
  const bandwidth = [
    '| stream | measured | seed figure |', '|---|---|---|',
    `| robot upstream, video payload (ffprobe packet sizes, H.264 720p30) | ${b.upstreamPayload.videoKbps ?? '—'} kbps | 1-2 Mbps${verdict(b.upstreamPayload.videoKbps !== null ? b.upstreamPayload.videoKbps >= 1000 && b.upstreamPayload.videoKbps <= 2000 : null)} |`,
    `| robot upstream, audio payload (Opus mono) | ${b.upstreamPayload.audioKbps ?? '—'} kbps | 64 kbps (ours is set to 32)${verdict(b.upstreamPayload.audioKbps !== null ? b.upstreamPayload.audioKbps <= 64 : null)} |`,
    `| robot upstream on the wire (MediaMTX bytesReceived, RTSP/TCP) | ${b.upstreamWireKbps} kbps | — |`,
    `| one WebRTC viewer downstream (getStats bytesReceived) | video ${b.viewerDownstream.videoKbps} kbps + audio ${b.viewerDownstream.audioKbps} kbps | 1-2 Mbps + 64 kbps |`,
    `| local MJPEG, per viewer (1280x720@30, q 5) | ${r.local.mjpegKbpsPerViewer} kbps | — |`,
  ].join('\n');
  return { footprint, bandwidth };
}

function serialTable(r: J): string {
  const d = r.rttMs as J;
  return ['| measure | p50 | p95 | p99 | max |', '|---|---|---|---|---|', `| serial $M → $A round trip (pty) | ${d.p50} ms | ${d.p95} ms | ${d.p99} ms | ${d.max} ms |`, '', `Board watchdog stop after silence: ${r.watchdogStopMs} ms (firmware: 500 ms).`].join('\n');
}

function modeTable(r: J): string {
  const d = (x: Dist | null) => (x ? `${x.p50} ms (max ${x.max}, n ${x.n})` : '—');
  return ['| transition | time | goal |', '|---|---|---|',
    `| MediaMTX SIGKILL → local MJPEG video playing in the app | ${d(r.toLocal)} | ≤ 3 s${verdict(r.toLocal ? r.toLocal.max <= 3000 : null)} |`,
    `| MediaMTX back (ready) → server WebRTC video playing in the app | ${d(r.toServer)} | ≤ 5 s${verdict(r.toServer ? r.toServer.max <= 5000 : null)} |`,
    ...(r.note ? ['', String(r.note)] : [])].join('\n');
}

/** CPU per video path, with the Pi 4 / Pi 5 estimate scaled by the published per-core figures. */
function videoPathsTable(r: J): string {
  const rows = r.results as J[];
  const sizes = [...new Set(rows.map((x) => x.size as string))];
  const f = (r.sysbench as J | undefined)?.factors as J | null | undefined;
  const cell = (x: J | undefined) => (x ? `${x.cpuMsPerS} ms (${x.fps} fps out)` : '—');
  const est = (x: J | undefined, k: 'pi4' | 'pi5') => (x && f ? `≥ ${Math.round(x.cpuMsPerS * f[k])} ms (${Math.round(x.cpuMsPerS * f[k]) / 10} % of a core)` : '—');
  const lines = [
    `| path | ${sizes.map((s) => `this machine ${s}`).join(' | ')} | ${sizes.map((s) => `Pi 4 ${s} (on paper)`).join(' | ')} | ${sizes.map((s) => `Pi 5 ${s} (on paper)`).join(' | ')} |`,
    `|---|${sizes.map(() => '---|').join('').repeat(3)}`,
    ...[...new Set(rows.map((x) => x.id as string))].map((id) => {
      const by = (s: string) => rows.find((x) => x.id === id && x.size === s);
      return `| ${by(sizes[0]!)?.label ?? id} | ${sizes.map((s) => cell(by(s))).join(' | ')} | ${sizes.map((s) => est(by(s), 'pi4')).join(' | ')} | ${sizes.map((s) => est(by(s), 'pi5')).join(' | ')} |`;
    }),
    '', `ms of CPU per second of 30 fps video, of the FFmpeg the bridge runs for the path (/proc/<pid>/stat utime+stime over ${r.seconds} s, 10 ms ticks: ±${Math.ceil(10 / r.seconds)} ms); 100 ms = 10 % of one core; a Pi has 4 cores (4000 ms per second).`,
    ...(f ? ['', `On paper: \`sysbench cpu --threads=1\` does ${r.sysbench.thisMachinePerCpuSecond} events per CPU-second on this machine against ${r.sysbench.pi4} on a Pi 4 and ${r.sysbench.pi5} on a Pi 5 (published, ${r.sysbench.source}): a Pi 4 core needs ×${f.pi4} the CPU time, a Pi 5 core ×${f.pi5}. A lower bound: sysbench is scalar integer work, and the encoders' hot loops are SIMD (AVX2/AVX-512 here, 128-bit NEON on the Pi).`] : []),
  ];
  return lines.join('\n');
}

function soakTable(r: J): string {
  return ['| process | RSS start → end | RSS slope (2nd half) | fds start → end | verdict |', '|---|---|---|---|---|',
    ...Object.entries(r.procs as J).map(([n, x]) => `| ${n} | ${x.rssStartMb} → ${x.rssEndMb} MB | ${x.slopeMbPerHour} MB/h | ${x.fdsStart} → ${x.fdsEnd} | ${x.flat ? 'flat ✅' : 'growing ❌'} |`),
    '', `${r.minutes} min of driving (20 Hz) + 1 WHEP viewer + 1 MJPEG viewer; ${r.acks} acks, ${r.errors} errors.`].join('\n');
}

function header(o: Outcome, m: ReturnType<typeof machine>, date: string): string {
  const load = (o.result?.machine as J | undefined)?.load ?? m.load;
  return `_\`${COMMAND}\` · ${date} · ${m.cores} cores (${m.cpu}), load ${load.join(' / ')} at start · ${o.seconds} s_`;
}

function updateDoc(sections: Record<string, string>): void {
  const file = join(ROOT, 'docs/PERFORMANCE.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n\nMeasured numbers only; every table below is rewritten by `npm run bench` (bench/run.ts).\n';
  for (const [name, body] of Object.entries(sections)) {
    const open = `<!-- bench:${name} -->`;
    const close = `<!-- /bench:${name} -->`;
    const block = `${open}\n${body}\n${close}`;
    const a = doc.indexOf(open);
    const b = doc.indexOf(close);
    if (a >= 0 && b > a) doc = doc.slice(0, a) + block + doc.slice(b + close.length);
    else doc += `\n## ${name}\n\n${block}\n`;
  }
  writeFileSync(file, doc);
}

// ---- main ---------------------------------------------------------------------------------------

const m = machine();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
console.error(`bench ${MODE} on ${m.cores} cores, load ${m.load.join(' ')}`);
const outcomes: Outcome[] = [];
const selected = BENCHES.filter((b) => b.args[MODE] && (!ONLY || ONLY.has(b.name)));
let shared: { bs: BenchStack; file: string } | null = null;
const stopShared = async () => {
  const s = shared;
  shared = null;
  if (s) { await s.bs.stop(); rmSync(s.file, { force: true }); }
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopShared().finally(() => process.exit(130)));
for (const b of selected) {
  const args = b.args[MODE]!;
  if (!existsSync(join(ROOT, b.script))) { outcomes.push({ name: b.name, ok: false, seconds: 0, error: `${b.script} does not exist` }); continue; }
  if (b.shared && !shared) {
    const t0 = Date.now();
    const bs = await startBenchStack({ fresh: true });
    await bs.waitLive();
    const file = join(bs.dataDir, '..', `havatar-bench-stack-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(describeBenchStack(bs)), { mode: 0o600 });
    shared = { bs, file };
    console.error(`▶ one stack for ${selected.filter((x) => x.shared).map((x) => x.name).join(', ')}: live in ${Math.round((Date.now() - t0) / 1000)} s`);
  } else if (!b.shared) {
    await stopShared();
  }
  console.error(`▶ ${b.name}: ${b.script} ${args.join(' ')}`);
  const o = await runOne(b, args, shared ? { [SHARED_STACK_ENV]: shared.file } : {});
  console.error(`  ${o.ok ? 'done' : 'FAILED'} in ${o.seconds} s${o.error ? `: ${o.error}` : ''}`);
  outcomes.push(o);
}
await stopShared();

const sections: Record<string, string> = {};
for (const o of outcomes) {
  if (!o.ok) { sections[o.name] = `${header(o, m, date)}\n\nNot measured in this run: ${o.error}`; continue; }
  const r = o.result as J;
  const h = header(o, m, date);
  try {
    if (o.name === 'video') sections.video = `${h}\n\n${videoTable(r)}`;
    else if (o.name === 'audio') sections.audio = `${h}\n\n${audioTable(r)}`;
    else if (o.name === 'command') sections.command = `${h}\n\n${commandTable(r)}`;
    else if (o.name === 'footprint') { const t = footprintTables(r); sections.footprint = `${h}\n\n${t.footprint}`; sections.bandwidth = `${h}\n\n${t.bandwidth}`; }
    else if (o.name === 'serial') sections.serial = `${h}\n\n${serialTable(r)}`;
    else if (o.name === 'mode') sections.mode = `${h}\n\n${modeTable(r)}`;
    else if (o.name === 'videopaths') sections.videopaths = `${h}\n\n${videoPathsTable(r)}`;
    else if (o.name === 'soak') sections.soak = `${h}\n\n${soakTable(r)}`;
    else if (o.name === 'field') sections.field = `${h}\n\n${fieldTable(r)}`;
    else if (o.name === 'relay') sections.relay = `${h}\n\n${o.markdown ?? ''}`;
  } catch (err) {
    sections[o.name] = `${h}\n\nResult could not be tabulated: ${(err as Error).message}`;
  }
}

mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const stem = join(ROOT, 'bench/results', date.replace(/:/g, '-'));
writeFileSync(`${stem}.json`, JSON.stringify({ command: COMMAND, mode: MODE, date, machine: m, loadAtEnd: machine().load, outcomes }, null, 2));
const md = Object.entries(sections).map(([n, s]) => `## ${n}\n\n${s}\n`).join('\n');
writeFileSync(`${stem}.md`, md);
updateDoc(sections);
console.log(md);
console.error(`written: ${stem.slice(ROOT.length + 1)}.json, .md; docs/PERFORMANCE.md updated`);
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
