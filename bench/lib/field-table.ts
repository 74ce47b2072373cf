// The field bench's tables for docs/PERFORMANCE.md (bench/run.ts --field writes them between the
// `bench:field` markers), from bench/field.ts's result.
import { fieldGoals, goalNote, type FieldFigures, type FigureKey, type StopRule } from '../../field/goals.ts';
import type { Dist } from './util.ts';

type J = Record<string, any>; // the result's JSON, read field by field
const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? ' ✅' : ' ❌');

/**
 * bench/field.ts: per network profile, two tables (video and audio; drive, outage and bytes), the
 * issue's goal beside each figure, judged by field/goals.ts from the figures.
 */
export function fieldTable(r: J): string {
  const P = r.profiles as J[];
  const wired = P.find((x) => x.name === 'wired') as FieldFigures | undefined;
  const rule = r.stopRule as StopRule;
  const goals = new Map(P.map((x) => [x.name as string, fieldGoals(x as FieldFigures, wired, rule)]));
  const g = (x: J, f: FigureKey) => goalNote(goals.get(x.name)!, f);
  const two = (d: Dist | null | undefined, tail: 'p95' | 'p99' = 'p95') => (d ? `${d.p50} / ${d[tail]} ms` : '—');
  const kb = (b: number) => `${Math.round(b / 1024)}`;
  const verdicts = (x: J) => {
    const gs = goals.get(x.name)!;
    if (!gs.length) return '—';
    const judged = gs.filter((v) => v.ok !== null);
    return `${judged.filter((v) => v.ok).length} of ${gs.length} met${judged.length < gs.length ? ` (${gs.length - judged.length} not measured)` : ''}${verdict(judged.length === gs.length ? judged.every((v) => v.ok) : null)}`;
  };
  const notDeadman = (x: J) => { const n = (x.departures as J[]).filter((d) => d.stopMs !== null && !d.deadman).length; return n ? `, ${n} not by the deadman` : ''; };
  const label = (x: J) => `${x.name} (${x.about})`;
  const outage = (x: J) => (x.outage ? `${x.outage.stopMs ?? '—'} ms${x.outage.deadman === false ? ' (not the deadman)' : ''}${g(x, 'outageStop')} · link ${x.outage.linkBackMs ?? 'never'} ms · video ${x.outage.videoBackMs ?? 'never'} ms${g(x, 'videoBack')} · control ${x.outage.controlBackMs ?? 'never'} ms${g(x, 'controlBack')}` : '—');
  const departure = (x: J) => (x.departureStop ? `${x.departureStop.p50} / ${x.departureStop.max} ms (n ${x.departureStop.n}${notDeadman(x)})${g(x, 'departureStop')}` : '—');
  return [
    '| profile | glass-to-glass WebRTC p50 / p95 | glass-to-glass MJPEG (local mode through the server) p50 / p95 | freezes > 200 ms (longest) | audio robot mic → app p50 / p95 | audio app talk → robot p50 / p95 |',
    '|---|---|---|---|---|---|',
    ...P.map((x) => `| ${label(x)} | ${two(x.glass)}${g(x, 'glass')} | ${two(x.mjpeg)}${g(x, 'mjpeg')} | ${x.freezes.count} (${x.freezes.longestMs} ms)${g(x, 'freezes')} | ${two(x.audioIn)}${g(x, 'audioIn')} | ${two(x.audioOut)}${g(x, 'audioOut')} |`),
    '',
    '| profile | command p50 / p99 | drive smooth | false deadman stops | driver leaves: stop after its last message p50 / max | outage: stop after the last message · back after the link returns | KiB robot up / down · phone up / down (lost pkts) | goals |',
    '|---|---|---|---|---|---|---|---|',
    ...P.map((x) => `| ${x.name} | ${two(x.command, 'p99')}${g(x, 'command')} | ${x.driveShare ?? '—'} %${g(x, 'drive')} | ${x.falseDeadmanStops}${g(x, 'falseStops')} | ${departure(x)} | ${outage(x)} | ${kb(x.bytes.robotUp)} / ${kb(x.bytes.robotDown)} · ${kb(x.bytes.phoneUp)} / ${kb(x.bytes.phoneDown)} (${x.lost.robotUp + x.lost.robotDown + x.lost.phoneUp + x.lost.phoneDown}) | ${verdicts(x)} |`),
    '',
    `WebRTC stages, p50 per frame (requestVideoFrameCallback receiveTime / expectedDisplayTime): ${P.filter((x) => x.glassStages).map((x) => `${x.name} capture → received ${x.glassStages.captureToReceiveP50 ?? '—'} ms, → displayed +${x.glassStages.receiveToDisplayP50 ?? '—'} ms`).join('; ')}. `
    + `The robot's uplink during MJPEG: ${P.filter((x) => x.mjpegRobotUpKbps !== undefined).map((x) => `${x.name} ${x.mjpegRobotUpKbps} kbit/s`).join(', ')}.`,
    '',
    `Each profile ${r.seconds} s on a fresh field network (bench/field.ts): robot, server and phone in network namespaces joined by field/wire, the server forwarding between the two links (a VPN whose hub is the server). `
    + 'WebRTC through the app\'s WhepPlayer; MJPEG last, with the robot\'s server mode stopped, the app\'s MjpegSource reading the bridge\'s /video from the phone through both wires '
    + `(${r.mjpegSeconds} s). Audio as bench/audio-latency.ts measures it: the simulated mic\'s marker heard on the WhepPlayer\'s track (markers in the first ${r.audioSettleMs / 1000} s after joining left out: Chromium\'s buffer starts high), and the page\'s marker talked over WHIP, read inside the robot\'s namespace with the robot\'s own talk arguments. `
    + 'Driving is the app\'s own code in the page (RelayLink, CommandQueue, DriveController at its 40 ms pace); its simulated hand presses Take control when the lease is free and, after a halt, lets go of the stick and presses again, as the app asks of an operator. '
    + `Wheels sampled every 50 ms; outages take the phone\'s link down ${r.outageAtS} s in and the run goes on 10 s after it returns; a deadman stop inside an outage (or 3 s after it) is the rule working, not counted. `
    + `"Driver leaves": after the measured window, the driving phone drops off its network for ${r.departureMs} ms, ${r.departureCount} times (profiles without an outage); the stop is counted from the send of the driver\'s last message before its link went (drive, motor or heartbeat: what the deadman counts from) to the simulator\'s stop, as is the outage\'s. `
    + `"Within the deadman" is ${rule.deadmanMs} ms + one $S frame (${rule.stopFrameMs} ms). Every process of the three namespaces shares this machine\'s cores: at the load in the header the wired row is the floor the others compare with.`,
  ].join('\n');
}
