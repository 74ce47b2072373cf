// Battery charge from voltage for the robot's 2S Li-ion pack. Voltage under light load is a poor
// but usable gauge; the curve follows a typical 18650 discharge (flat in the middle, steep at the
// ends), so a linear map would read 50 % when the pack is nearly flat.

import type { Battery } from '../../protocol/messages.ts';

/** [pack millivolts, percent], ascending. 3.2 V per cell is empty, 4.2 V full. */
export const LIION_2S_CURVE: readonly (readonly [number, number])[] = [
  [6400, 0], [6900, 5], [7200, 10], [7400, 20], [7500, 30], [7600, 40],
  [7740, 50], [7860, 60], [7980, 70], [8080, 80], [8200, 90], [8400, 100],
];

/** Percent (0-100, one decimal) for a 2S pack voltage in millivolts. */
export function batteryPercent2S(mv: number): number {
  if (!Number.isFinite(mv)) return 0;
  const curve = LIION_2S_CURVE;
  if (mv <= curve[0]![0]) return 0;
  if (mv >= curve[curve.length - 1]![0]) return 100;
  for (let i = 1; i < curve.length; i++) {
    const [v1, p1] = curve[i]!;
    if (mv <= v1) {
      const [v0, p0] = curve[i - 1]!;
      return Math.round((p0 + ((mv - v0) / (v1 - v0)) * (p1 - p0)) * 10) / 10;
    }
  }
  return 100;
}

export function batteryFromMillivolts(mv: number): Battery {
  return { voltage: Math.round(mv) / 1000, percentage: batteryPercent2S(mv) };
}
