// The goals for each network profile, judged from the field bench's figures (bench/field.ts),
// so every ✅/❌ in docs/PERFORMANCE.md is computed, never typed:
// - good-wifi: every latency figure within 10 ms of wired's (p50 and p95; the command's p50 and p99);
// - 4g: glass-to-glass p50 ≤ wired's p50 + the profile's one-way delays on the video's way + 30 ms,
//   no freeze over 500 ms, drive smooth ≥ 98 % of stick-held time, 0 false deadman stops;
// - bad-4g: video keeps playing (frames shown, the longest freeze ≤ 1 s), drive smooth ≥ 90 %, and
//   the robot still stops within the deadman when its driver really goes (p99 of the departures);
// - outage-10s: the robot stops within the deadman, video and control back ≤ 2 s after the link returns.
// "Within the deadman" is the command bench's rule: the deadman time plus one $S frame on the UART,
// counted from the driver's last command's send.
import type { Dist } from '../bench/lib/util.ts';

/** A profile's figures as bench/field.ts reports them (only what the goals read). */
export interface FieldFigures {
  name: string;
  /** The profile's one-way delays on the video's way: the robot's uplink and the phone's downlink. */
  videoOneWayMs: number;
  glass: Dist | null;
  mjpeg: Dist | null;
  audioIn: Dist | null;
  audioOut: Dist | null;
  command: Dist | null;
  frames: number;
  freezes: { count: number; longestMs: number };
  driveShare: number | null;
  falseDeadmanStops: number;
  /** The driver's phone gone (its link down): last command's send → the simulator's stop. */
  departureStop: Dist | null;
  outage: { stopMs: number | null; videoBackMs: number | null; controlBackMs: number | null } | null;
}

/** Which figure a goal stands beside. */
export type FigureKey = 'glass' | 'mjpeg' | 'audioIn' | 'audioOut' | 'command' | 'freezes' | 'drive' | 'falseStops' | 'departureStop' | 'outageStop' | 'videoBack' | 'controlBack';

/** ok null: the figure was not measured, so the goal cannot be judged (shown as such, not as met). */
export interface Goal { figure: FigureKey; text: string; ok: boolean | null }

export interface StopRule { deadmanMs: number; stopFrameMs: number }

const GOOD_WIFI_MARGIN_MS = 10;
const FOUR_G_SLACK_MS = 30;

function withinOfWired(figure: FigureKey, x: Dist | null, w: Dist | null | undefined, tail: 'p95' | 'p99'): Goal {
  if (!x || !w) return { figure, text: `p50 and ${tail} ≤ wired + ${GOOD_WIFI_MARGIN_MS} ms (not measured on both)`, ok: null };
  const d50 = Math.round(x.p50 - w.p50);
  const dTail = Math.round(x[tail] - w[tail]);
  const sign = (v: number) => (v >= 0 ? `+${v}` : `${v}`);
  return { figure, text: `≤ wired + ${GOOD_WIFI_MARGIN_MS} ms: ${sign(d50)} / ${sign(dTail)} ms`, ok: d50 <= GOOD_WIFI_MARGIN_MS && dTail <= GOOD_WIFI_MARGIN_MS };
}

function stopWithin(figure: FigureKey, ms: number | null | undefined, rule: StopRule, what: string): Goal {
  const bound = Math.round((rule.deadmanMs + rule.stopFrameMs) * 10) / 10;
  return { figure, text: `${what} ≤ ${rule.deadmanMs} + ${rule.stopFrameMs} ms`, ok: ms === null || ms === undefined ? null : ms <= bound };
}

const atMost = (figure: FigureKey, v: number | null | undefined, bound: number, text: string): Goal => ({ figure, text, ok: v === null || v === undefined ? null : v <= bound });
const atLeast = (figure: FigureKey, v: number | null | undefined, bound: number, text: string): Goal => ({ figure, text, ok: v === null || v === undefined ? null : v >= bound });

/** The goals of one profile, each beside its figure; [] for a profile the issue sets none for. */
export function fieldGoals(x: FieldFigures, wired: FieldFigures | undefined, rule: StopRule): Goal[] {
  switch (x.name) {
    case 'good-wifi':
      return [
        withinOfWired('glass', x.glass, wired?.glass, 'p95'),
        withinOfWired('mjpeg', x.mjpeg, wired?.mjpeg, 'p95'),
        withinOfWired('audioIn', x.audioIn, wired?.audioIn, 'p95'),
        withinOfWired('audioOut', x.audioOut, wired?.audioOut, 'p95'),
        withinOfWired('command', x.command, wired?.command, 'p99'),
      ];
    case '4g': {
      const bound = (w: Dist | null | undefined) => (w ? Math.round(w.p50 + x.videoOneWayMs + FOUR_G_SLACK_MS) : null);
      const p50Goal = (figure: FigureKey, d: Dist | null, w: Dist | null | undefined): Goal => {
        const b = bound(w);
        return b === null ? { figure, text: `p50 ≤ wired p50 + ${x.videoOneWayMs} + ${FOUR_G_SLACK_MS} ms (no wired figure)`, ok: null }
          : atMost(figure, d?.p50, b, `p50 ≤ ${b} ms (wired ${w!.p50} + ${x.videoOneWayMs} + ${FOUR_G_SLACK_MS})`);
      };
      return [
        p50Goal('glass', x.glass, wired?.glass),
        p50Goal('mjpeg', x.mjpeg, wired?.mjpeg),
        atMost('freezes', x.frames ? x.freezes.longestMs : null, 500, 'none > 500 ms'),
        atLeast('drive', x.driveShare, 98, '≥ 98 %'),
        atMost('falseStops', x.falseDeadmanStops, 0, '0'),
      ];
    }
    case 'bad-4g':
      return [
        atMost('freezes', x.frames ? x.freezes.longestMs : null, 1000, 'video plays, longest ≤ 1 s'),
        atLeast('drive', x.driveShare, 90, '≥ 90 %'),
        stopWithin('departureStop', x.departureStop?.p99, rule, 'p99'),
      ];
    case 'outage-10s':
      return [
        stopWithin('outageStop', x.outage?.stopMs, rule, 'stop'),
        atMost('videoBack', x.outage?.videoBackMs, 2000, '≤ 2 s'),
        atMost('controlBack', x.outage?.controlBackMs, 2000, '≤ 2 s'),
      ];
    default:
      return [];
  }
}

/** The goals beside one figure, as table text: " (goal ✅)" or "". */
export function goalNote(goals: readonly Goal[], figure: FigureKey): string {
  const mine = goals.filter((g) => g.figure === figure);
  return mine.map((g) => ` · goal ${g.text} ${g.ok === null ? '(not judged)' : g.ok ? '✅' : '❌'}`).join('');
}
