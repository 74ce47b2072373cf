// Gamepad driving. Polled from the drive timer (Gamepad API events are unreliable in Chromium);
// mapping is pure: standard layout, left stick drives, B / circle (button 1) stops.

import { applyDeadZone, type Vec } from './mix.ts';

export const GAMEPAD_DEAD_ZONE = 0.15;
const STOP_BUTTON = 1;

export interface GamepadReading {
  /** Stick after the dead zone; zero when centred. */
  vector: Vec;
  /** The stick is outside its dead zone. */
  active: boolean;
  stop: boolean;
}

export interface PadLike {
  axes: readonly number[];
  buttons: readonly { pressed: boolean }[];
  connected?: boolean;
}

/** One gamepad's state → reading. The Gamepad API's y axis points down; ours points forward. */
export function readPad(pad: PadLike, deadZone = GAMEPAD_DEAD_ZONE): GamepadReading {
  const raw = { x: pad.axes[0] ?? 0, y: -(pad.axes[1] ?? 0) };
  const vector = applyDeadZone(raw, deadZone);
  return {
    vector,
    active: vector.x !== 0 || vector.y !== 0,
    stop: pad.buttons[STOP_BUTTON]?.pressed === true,
  };
}

/** First connected pad with the stick moved wins; a stop on any pad counts. */
export function readPads(pads: readonly (PadLike | null)[], deadZone = GAMEPAD_DEAD_ZONE): GamepadReading | null {
  let found: GamepadReading | null = null;
  let stop = false;
  for (const pad of pads) {
    if (!pad || pad.connected === false) continue;
    const r = readPad(pad, deadZone);
    stop ||= r.stop;
    if (!found || (!found.active && r.active)) found = r;
  }
  return found ? { ...found, stop } : null;
}

export function pollGamepads(): GamepadReading | null {
  if (typeof navigator === 'undefined' || typeof navigator.getGamepads !== 'function') return null;
  return readPads(navigator.getGamepads());
}
