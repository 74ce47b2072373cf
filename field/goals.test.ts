// The field bench's goals are judged from the figures: each check flips with the figure it reads,
// and a figure not measured is never counted as met.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dist } from '../bench/lib/util.ts';
import { fieldGoals, goalNote, type FieldFigures, type Goal } from './goals.ts';

const d = (p50: number, tail = p50 + 20): Dist => ({ n: 100, p50, p95: tail, p99: tail, max: tail, min: p50, mean: p50 });
const rule = { deadmanMs: 250, stopFrameMs: 1.3 };

function figures(name: string, over: Partial<FieldFigures> = {}): FieldFigures {
  return {
    name, videoOneWayMs: 50, glass: d(60), mjpeg: d(50), audioIn: d(100), audioOut: d(80), command: d(40),
    frames: 500, freezes: { count: 0, longestMs: 100 }, driveShare: 100, falseDeadmanStops: 0, departureStop: d(240, 250), outage: null, ...over,
  };
}
const okOf = (goals: Goal[], figure: Goal['figure']) => goals.filter((g) => g.figure === figure).map((g) => g.ok);

test('good-wifi: every latency within 10 ms of wired, p50 and the tail alike', () => {
  const wired = figures('wired');
  const close = fieldGoals(figures('good-wifi', { glass: d(70, 80), command: d(49, 69) }), wired, rule);
  assert.deepEqual(close.map((g) => g.ok), [true, true, true, true, true]);
  const far = fieldGoals(figures('good-wifi', { glass: d(60, 91), audioOut: d(91) }), wired, rule);
  assert.deepEqual(okOf(far, 'glass'), [false], 'the p95 11 ms over wired fails');
  assert.deepEqual(okOf(far, 'audioOut'), [false]);
  assert.deepEqual(okOf(far, 'mjpeg'), [true]);
  assert.match(far.find((g) => g.figure === 'glass')!.text, /\+0 \/ \+11 ms/);
});

test('good-wifi without a wired run, or a figure missing: not judged', () => {
  assert.ok(fieldGoals(figures('good-wifi'), undefined, rule).every((g) => g.ok === null));
  assert.deepEqual(okOf(fieldGoals(figures('good-wifi', { mjpeg: null }), figures('wired'), rule), 'mjpeg'), [null]);
});

test('4g: p50 bound is wired p50 + the one-way delays + 30 ms; freezes, drive and false stops', () => {
  const wired = figures('wired');
  const at = (over: Partial<FieldFigures>) => fieldGoals(figures('4g', over), wired, rule);
  assert.ok(at({ glass: d(140) }).every((g) => g.ok === true), '60 + 50 + 30 = 140 meets it');
  assert.deepEqual(okOf(at({ glass: d(141) }), 'glass'), [false]);
  assert.match(at({}).find((g) => g.figure === 'glass')!.text, /p50 ≤ 140 ms/);
  assert.deepEqual(okOf(at({ mjpeg: d(131) }), 'mjpeg'), [false], '50 + 50 + 30 = 130');
  assert.deepEqual(okOf(at({ freezes: { count: 1, longestMs: 501 } }), 'freezes'), [false]);
  assert.deepEqual(okOf(at({ driveShare: 97.9 }), 'drive'), [false]);
  assert.deepEqual(okOf(at({ falseDeadmanStops: 1 }), 'falseStops'), [false]);
  assert.deepEqual(okOf(at({ frames: 0 }), 'freezes'), [null], 'no frame at all is not "no freeze"');
});

test('bad-4g: video plays, drive ≥ 90 %, the departure stop p99 within the deadman plus one frame', () => {
  const at = (over: Partial<FieldFigures>) => fieldGoals(figures('bad-4g', over), undefined, rule);
  assert.ok(at({ freezes: { count: 3, longestMs: 1000 }, driveShare: 90, departureStop: d(240, 251.3) }).every((g) => g.ok === true));
  assert.deepEqual(okOf(at({ freezes: { count: 3, longestMs: 1001 } }), 'freezes'), [false]);
  assert.deepEqual(okOf(at({ driveShare: 89.9 }), 'drive'), [false]);
  assert.deepEqual(okOf(at({ departureStop: d(240, 251.4) }), 'departureStop'), [false]);
  assert.deepEqual(okOf(at({ departureStop: null }), 'departureStop'), [null]);
});

test('outage-10s: stop within the deadman, video and control back within 2 s', () => {
  const at = (outage: FieldFigures['outage']) => fieldGoals(figures('outage-10s', { outage }), undefined, rule);
  assert.deepEqual(at({ stopMs: 251, videoBackMs: 2000, controlBackMs: 1999 }).map((g) => g.ok), [true, true, true]);
  assert.deepEqual(at({ stopMs: 252, videoBackMs: 2001, controlBackMs: null }).map((g) => g.ok), [false, false, null]);
});

test('profiles without goals get none; goalNote prints the verdict beside its figure only', () => {
  assert.deepEqual(fieldGoals(figures('busy-wifi'), figures('wired'), rule), []);
  const goals = fieldGoals(figures('4g', { driveShare: 50 }), figures('wired'), rule);
  assert.equal(goalNote(goals, 'drive'), ' · goal ≥ 98 % ❌');
  assert.equal(goalNote(goals, 'audioIn'), '');
});
