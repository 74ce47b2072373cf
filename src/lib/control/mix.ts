// Input in pure steps: raw stick vector → dead zone → expo → differential mix → speed limit.
// Every input source (touch joystick, keyboard, gamepad) ends here, so they all feel the same.

/** A stick position: x right positive, y forward positive, each in [-1, 1]. */
export interface Vec { x: number; y: number }
/** Differential drive: each track's speed in [-1, 1] (protocol DriveMsg left/right). */
export interface Tracks { left: number; right: number }

export interface Calibration {
  /** Radius in [0, 1) below which the stick counts as centred. */
  deadZone: number;
  /** 0 = linear, 1 = fully cubic: fine control near the centre, full speed at the rim. */
  expo: number;
  /** Fraction of full speed the tracks may reach, in (0, 1]. */
  speedLimit: number;
}

export const ZERO: Vec = Object.freeze({ x: 0, y: 0 });
export const STOPPED: Tracks = Object.freeze({ left: 0, right: 0 });

export const clampUnit = (n: number): number => (Number.isFinite(n) ? Math.max(-1, Math.min(1, n)) : 0);

/** Limits a vector to the unit circle (a square stick reaches |v| = √2 in the corners). */
export function clampToCircle(v: Vec): Vec {
  const x = clampUnit(v.x);
  const y = clampUnit(v.y);
  const m = Math.hypot(x, y);
  return m > 1 ? { x: x / m, y: y / m } : { x, y };
}

/**
 * Radial dead zone, rescaled so the output starts at 0 at the zone's edge and still reaches 1 at
 * the rim: no jump when the stick leaves the zone, and no lost top speed.
 */
export function applyDeadZone(v: Vec, deadZone: number): Vec {
  const c = clampToCircle(v);
  const m = Math.hypot(c.x, c.y);
  const dz = Math.max(0, Math.min(0.95, deadZone));
  if (m <= dz || m === 0) return ZERO;
  const scaled = (m - dz) / (1 - dz);
  return { x: (c.x / m) * scaled, y: (c.y / m) * scaled };
}

/** Expo curve on the magnitude, keeping the direction. */
export function applyExpo(v: Vec, expo: number): Vec {
  const e = Math.max(0, Math.min(1, expo));
  const m = Math.hypot(v.x, v.y);
  if (m === 0) return ZERO;
  const curved = (1 - e) * m + e * m * m * m;
  return { x: (v.x / m) * curved, y: (v.y / m) * curved };
}

/**
 * Arcade-style differential mix: forward adds to both tracks, turning adds to one and subtracts
 * from the other. Scaled back into [-1, 1] so turning at full speed keeps the ratio between tracks.
 */
export function mixDifferential(v: Vec): Tracks {
  const left = v.y + v.x;
  const right = v.y - v.x;
  const peak = Math.max(1, Math.abs(left), Math.abs(right));
  return { left: tidy(left / peak), right: tidy(right / peak) };
}

export function limitSpeed(t: Tracks, limit: number): Tracks {
  const k = Math.max(0, Math.min(1, limit));
  return { left: tidy(t.left * k), right: tidy(t.right * k) };
}

/** The whole chain, raw stick to track speeds. */
export function stickToTracks(raw: Vec, cal: Calibration): Tracks {
  return limitSpeed(mixDifferential(applyExpo(applyDeadZone(raw, cal.deadZone), cal.expo)), cal.speedLimit);
}

/** Settings speak in percent; the chain speaks in fractions. Sensitivity 100 % = linear. */
export function calibrationFrom(settings: { joystickSensitivity: number; speedLimit: number }, deadZone = 0.08): Calibration {
  return {
    deadZone,
    expo: 1 - Math.max(0, Math.min(100, settings.joystickSensitivity)) / 100,
    speedLimit: Math.max(0, Math.min(100, settings.speedLimit)) / 100,
  };
}

// Rounds to 3 decimals (plenty for a motor; keeps frames short) and turns -0 into 0.
function tidy(n: number): number {
  const r = Math.round(clampUnit(n) * 1000) / 1000;
  return r === 0 ? 0 : r;
}
