// The operator's settings: one versioned record, validated field by field with a message a person
// can act on. Nothing here touches IndexedDB (see settings-store.ts), so it is trivially testable.

import { MAX_ID_CHARS } from '../../../protocol/limits.ts';

/** Bump when a field changes meaning; migrateSettings() must then read every older shape. */
export const SETTINGS_SCHEMA = 1;

export const VIDEO_SIZES = ['auto', '320x240', '640x480', '1280x720'] as const;
export type VideoSize = (typeof VIDEO_SIZES)[number];

/** local: straight to the bridge · server: relay + MediaMTX only · auto: server, local while it is down. */
export const CONNECTION_MODES = ['local', 'server', 'auto'] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];
export const SESSION_ROLES = ['driver', 'viewer', ''] as const;
export type SessionRole = (typeof SESSION_ROLES)[number];

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
  /** Which path the app takes to the robot (see lib/link/path-selector.ts). */
  mode: ConnectionMode;
  /** The relay's public URL (from an invite link's `server=`), e.g. https://havatar.example.org. */
  serverUrl: string;
  /** Relay session token (`hs_…`), from redeeming an invite; refreshed before `sessionExpiresAt`. */
  sessionToken: string;
  /** When the session token stops working (ms since epoch; 0 = no session). */
  sessionExpiresAt: number;
  /** The robot the session is for (MediaMTX path `robots/<id>`). */
  robotId: string;
  sessionRole: SessionRole;
  /** Media URLs the relay handed out with the session (empty: derived from serverUrl). */
  whepUrl: string;
  whipUrl: string;
  hlsUrl: string;
  /** MediaMTX's playback server (recordings: /list and /get), handed out with the session. */
  playbackUrl: string;
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
  mode: 'local',
  serverUrl: '',
  sessionToken: '',
  sessionExpiresAt: 0,
  robotId: '',
  sessionRole: '',
  whepUrl: '',
  whipUrl: '',
  hlsUrl: '',
  playbackUrl: '',
});

export type SettingsErrors = Partial<Record<keyof Settings, string>>;
export type Validation = { ok: true; value: Settings } | { ok: false; errors: SettingsErrors };

const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]*$/;
const MAX_TOKEN_CHARS = 256;

type FieldCheck<K extends keyof Settings> = (v: unknown) => { value: Settings[K] } | { error: string };

/** An http(s) base address without credentials, query or fragment; '' allowed. */
export function checkBaseUrl(v: unknown, label: string, example: string): { value: string } | { error: string } {
  if (typeof v !== 'string') return { error: `${label} must be text.` };
  const s = v.trim().replace(/\/+$/, '');
  if (s === '') return { value: '' };
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { error: `${label} must be a full address such as ${example}.` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `${label} must start with http:// or https://.` };
  if (url.username || url.password) return { error: 'Put the token in the token field, not in the address.' };
  if (url.search || url.hash) return { error: `${label} must not contain ? or #.` };
  return { value: url.origin + url.pathname.replace(/\/+$/, '') };
}

/** A full media URL (WHEP/WHIP/HLS) as handed out by the relay; '' allowed. */
function mediaUrl(label: string): (v: unknown) => { value: string } | { error: string } {
  return (v) => {
    if (typeof v !== 'string') return { error: `${label} must be text.` };
    const s = v.trim();
    if (s === '') return { value: '' };
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `${label} must start with http:// or https://.` };
      return { value: u.href };
    } catch {
      return { error: `${label} must be a full address.` };
    }
  };
}

const checks: { [K in keyof Settings]: FieldCheck<K> } = {
  robotUrl: (v) => checkBaseUrl(v, 'Robot address', 'https://192.168.1.20:5443 (or empty for this page)'),
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
  mode: (v) =>
    (CONNECTION_MODES as readonly unknown[]).includes(v) ? { value: v as ConnectionMode } : { error: `Mode must be one of ${CONNECTION_MODES.join(', ')}.` },
  serverUrl: (v) => checkBaseUrl(v, 'Server address', 'https://havatar.example.org'),
  sessionToken: (v) => {
    if (typeof v !== 'string') return { error: 'Session must be text.' };
    const s = v.trim();
    if (s.length > MAX_TOKEN_CHARS || !TOKEN_PATTERN.test(s)) return { error: 'The server session is damaged: open the invite link again.' };
    return { value: s };
  },
  sessionExpiresAt: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? { value: v } : { error: 'Session expiry must be a time.' }),
  robotId: (v) => (typeof v === 'string' && /^[A-Za-z0-9_-]{0,64}$/.test(v) ? { value: v } : { error: 'Robot id must be 1-64 of A-Z a-z 0-9 _ -.' }),
  sessionRole: (v) => ((SESSION_ROLES as readonly unknown[]).includes(v) ? { value: v as SessionRole } : { error: 'Role must be driver or viewer.' }),
  whepUrl: mediaUrl('WHEP address'),
  whipUrl: mediaUrl('WHIP address'),
  hlsUrl: mediaUrl('HLS address'),
  playbackUrl: mediaUrl('Recordings address'),
};

/** True when the settings hold a relay session that can still be used. */
export function hasServerSession(s: Settings, now: number = Date.now()): boolean {
  return s.serverUrl !== '' && s.sessionToken !== '' && s.robotId !== '' && s.sessionExpiresAt > now;
}

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
