// The operator's settings: one versioned record, validated field by field with a message a person
// can act on. Nothing here touches IndexedDB (see settings-store.ts), so it is trivially testable.

import { MAX_ID_CHARS } from '../../../protocol/limits.ts';

/** Bump when a field changes meaning; migrateSettings() must then read every older shape. */
export const SETTINGS_SCHEMA = 1;

export const VIDEO_SIZES = ['auto', '320x240', '640x480', '1280x720'] as const;
export type VideoSize = (typeof VIDEO_SIZES)[number];

export interface Settings {
  /** Where the bridge is; empty = the page's own origin (the bridge serves this app). */
  robotUrl: string;
  /** Operator token (from `#token=` or typed in). */
  token: string;
  /** The name other operators see. */
  operatorName: string;
  videoSize: VideoSize;
  /** Ask the robot for its microphone audio. */
  audioEnabled: boolean;
  /** 10-100 %: 100 = linear stick, lower = finer near the centre. */
  joystickSensitivity: number;
  /** 10-100 % of full track speed. */
  speedLimit: number;
}

export interface StoredSettings extends Settings { schema: number; savedAt: number }

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  robotUrl: '',
  token: '',
  operatorName: 'operator',
  videoSize: 'auto',
  audioEnabled: true,
  joystickSensitivity: 70,
  speedLimit: 60,
});

export type SettingsErrors = Partial<Record<keyof Settings, string>>;
export type Validation = { ok: true; value: Settings } | { ok: false; errors: SettingsErrors };

const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]*$/;
const MAX_TOKEN_CHARS = 256;

type FieldCheck<K extends keyof Settings> = (v: unknown) => { value: Settings[K] } | { error: string };

const checks: { [K in keyof Settings]: FieldCheck<K> } = {
  robotUrl: (v) => {
    if (typeof v !== 'string') return { error: 'Robot address must be text.' };
    const s = v.trim().replace(/\/+$/, '');
    if (s === '') return { value: '' };
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      return { error: 'Robot address must be a full address such as https://192.168.1.20:5443 (or empty for this page).' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'Robot address must start with http:// or https://.' };
    if (url.username || url.password) return { error: 'Put the token in the token field, not in the address.' };
    if (url.search || url.hash) return { error: 'Robot address must not contain ? or #.' };
    return { value: url.origin + url.pathname.replace(/\/+$/, '') };
  },
  token: (v) => {
    if (typeof v !== 'string') return { error: 'Token must be text.' };
    const s = v.trim();
    if (s.length > MAX_TOKEN_CHARS) return { error: `Token is too long (at most ${MAX_TOKEN_CHARS} characters).` };
    if (!TOKEN_PATTERN.test(s)) return { error: 'Token has characters a token never has (spaces or punctuation). Paste it again.' };
    return { value: s };
  },
  operatorName: (v) => {
    if (typeof v !== 'string') return { error: 'Name must be text.' };
    const s = v.trim();
    if (s === '') return { error: 'Give a name others will see, e.g. "Ana".' };
    if (s.length > MAX_ID_CHARS) return { error: `Name is too long (at most ${MAX_ID_CHARS} characters).` };
    return { value: s };
  },
  videoSize: (v) =>
    (VIDEO_SIZES as readonly unknown[]).includes(v) ? { value: v as VideoSize } : { error: `Video size must be one of ${VIDEO_SIZES.join(', ')}.` },
  audioEnabled: (v) => (typeof v === 'boolean' ? { value: v } : { error: 'Audio must be on or off.' }),
  joystickSensitivity: percent('Joystick sensitivity'),
  speedLimit: percent('Speed limit'),
};

function percent(label: string): (v: unknown) => { value: number } | { error: string } {
  return (v) => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) return { error: `${label} must be a number.` };
    if (n < 10 || n > 100) return { error: `${label} must be between 10 and 100 %.` };
    return { value: Math.round(n) };
  };
}

/** Checks a whole draft (e.g. a form); every wrong field gets its own message. */
export function validateSettings(draft: Partial<Record<keyof Settings, unknown>>): Validation {
  const value = { ...DEFAULT_SETTINGS } as Settings;
  const errors: SettingsErrors = {};
  for (const key of Object.keys(checks) as (keyof Settings)[]) {
    const r = (checks[key] as FieldCheck<typeof key>)(key in draft ? draft[key] : DEFAULT_SETTINGS[key]);
    if ('error' in r) errors[key] = r.error;
    else (value as unknown as Record<string, unknown>)[key] = r.value;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value };
}

/**
 * Reads whatever an older (or damaged) version stored: each valid field is kept, each missing or
 * invalid one falls back to its default. An app update must never lose what the operator saved.
 */
export function migrateSettings(raw: unknown): Settings {
  const out = { ...DEFAULT_SETTINGS } as Settings;
  if (typeof raw !== 'object' || raw === null) return out;
  const rec = raw as Record<string, unknown>;
  // Schema 0 (before versioning) called the robot address `robot`.
  if (rec.robotUrl === undefined && typeof rec.robot === 'string') rec.robotUrl = rec.robot;
  for (const key of Object.keys(checks) as (keyof Settings)[]) {
    if (!(key in rec)) continue;
    const r = (checks[key] as FieldCheck<typeof key>)(rec[key]);
    if (!('error' in r)) (out as unknown as Record<string, unknown>)[key] = r.value;
  }
  return out;
}
