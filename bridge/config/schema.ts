// The robot's configuration (avatar_tank_config.json): one typed tree with a default and a checker
// for every option. Unknown keys are refused (a typo must not silently do nothing), and every
// refusal names the field as a dotted path, e.g. `camera.fps`.

import { bool, int, isRecord, nullable, str, type Checker } from '../../protocol/check.ts';
import { DEFAULT_DEADMAN_MS, MAX_ID_CHARS } from '../../protocol/limits.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import { SERIAL_BAUD } from '../../protocol/serial.ts';
import { alsaDevice, cameraDevice, DEVICE_FIELDS, serialPort, tlsFile } from './devices.ts';

export interface Config {
  robot: { name: string };
  camera: { device: string; width: number; height: number; fps: number };
  audio: { enabled: boolean; mic_device: string; speaker_device: string };
  motors: { serial_port: string; baud: number };
  safety: { deadman_ms: number };
  tts: { voice: string; rate: number };
  https: { cert_path: string | null; key_path: string | null };
  server_mode: {
    enabled: boolean;
    server_url: string;
    stream_key: string;
    stream_password: string;
    fallback_to_local: boolean;
    /**
     * MediaMTX's RTSP address (rtsps://host:port; rtsp:// only to this machine); null: the
     * server_url's host, rtsps on 8322 (rtsp on 8554 when that host is this machine).
     */
    rtsp_url: string | null;
    /** PEM file of the CA(s) that sign MediaMTX's RTSPS certificate; null: the system's trusted CAs. */
    rtsp_ca_file: string | null;
    /** Largest picture published (a bigger capture is scaled down, never up). */
    video_width: number;
    video_height: number;
    video_fps: number;
    /** H.264 bitrate cap and Opus bitrate. */
    video_kbps: number;
    audio_kbps: number;
  };
}

export const DEFAULT_CONFIG: Config = {
  robot: { name: 'havatar' },
  camera: { device: 'sim', width: 640, height: 480, fps: 25 },
  audio: { enabled: true, mic_device: 'sim', speaker_device: 'sim' },
  motors: { serial_port: '/dev/ttyUSB0', baud: SERIAL_BAUD },
  safety: { deadman_ms: DEFAULT_DEADMAN_MS },
  tts: { voice: 'en', rate: 160 },
  https: { cert_path: null, key_path: null },
  server_mode: {
    enabled: false,
    server_url: 'https://your-server.com',
    stream_key: 'havatar_robot',
    stream_password: '',
    fallback_to_local: true,
    rtsp_url: null,
    rtsp_ca_file: null,
    video_width: 1280,
    video_height: 720,
    video_fps: 30,
    video_kbps: 1500,
    audio_kbps: 32,
  },
};

/** Dotted paths of values that are never logged and never returned in clear. */
export const SECRET_FIELDS = ['server_mode.stream_password'] as const;
export const SECRET_MASK = '********';

const url: Checker = (v) => {
  const p = str(1, 256)(v);
  if (p) return p;
  try {
    const u = new URL(v as string);
    return u.protocol === 'https:' || u.protocol === 'http:' ? null : 'must be an http(s) URL';
  } catch {
    return 'must be a URL';
  }
};

const rtspUrl: Checker = (v) => {
  const p = str(1, 256)(v);
  if (p) return p;
  try {
    const u = new URL(v as string);
    if (u.protocol !== 'rtsp:' && u.protocol !== 'rtsps:') return 'must be an rtsp:// or rtsps:// URL';
    // Credentials come from stream_key/stream_password, never from a URL that gets shown.
    if (u.username || u.password) return 'must not contain credentials';
    return u.pathname === '' || u.pathname === '/' ? null : 'must be only scheme, host and port (the path is robots/<stream_key>)';
  } catch {
    return 'must be a URL';
  }
};

const BAUDS = [9600, 57600, 115200, 230400];
const BAUD: Checker = (v) => (typeof v === 'number' && BAUDS.includes(v) ? null : `must be one of ${BAUDS.join(', ')}`);

type Spec = { [key: string]: Checker | Spec };

export const CONFIG_SPEC: Spec = {
  robot: { name: str(1, MAX_ID_CHARS) },
  camera: {
    // "sim" selects the synthetic camera ("sim-mjpeg", "sim-h264": one that encodes by itself),
    // "rpicam" the Pi camera; anything else is a V4L2 device such as /dev/video0.
    device: cameraDevice,
    width: int(160, 1920),
    height: int(120, 1080),
    fps: int(1, 60),
  },
  audio: { enabled: bool, mic_device: alsaDevice, speaker_device: alsaDevice },
  motors: { serial_port: serialPort, baud: BAUD },
  safety: { deadman_ms: int(100, 2000) },
  tts: { voice: str(1, 32, /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/), rate: int(80, 400) },
  https: { cert_path: nullable(tlsFile), key_path: nullable(tlsFile) },
  server_mode: {
    enabled: bool,
    server_url: url,
    // The robot id on the relay and the MediaMTX path segment (robots/<stream_key>).
    stream_key: str(1, 64, ROBOT_ID_PATTERN),
    stream_password: str(0, 128),
    fallback_to_local: bool,
    rtsp_url: nullable(rtspUrl),
    rtsp_ca_file: nullable(tlsFile),
    video_width: int(160, 1920),
    video_height: int(120, 1080),
    video_fps: int(5, 60),
    video_kbps: int(100, 20000),
    audio_kbps: int(6, 256),
  },
};

export interface ConfigProblem { error: string; field: string }

/** Checks a complete config: every field present and valid, nothing unknown. */
export function validateConfig(value: unknown, spec: Spec = CONFIG_SPEC, prefix = ''): ConfigProblem | null {
  if (!isRecord(value)) return { error: 'must be an object', field: prefix.replace(/\.$/, '') || '(root)' };
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(spec, key)) return { error: 'is not a known field', field: prefix + key };
  }
  for (const [key, entry] of Object.entries(spec)) {
    const field = prefix + key;
    if (!Object.hasOwn(value, key)) return { error: 'is required', field };
    const v = value[key];
    if (typeof entry === 'function') {
      const problem = entry(v);
      if (problem) return { error: problem, field };
    } else {
      const problem = validateConfig(v, entry, field + '.');
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * Applies a partial update onto a config, section by section. Returns the merged candidate (not
 * yet validated) or the first structural problem (unknown key, a section that is not an object).
 */
export function mergePatch(base: Config, patch: unknown): { value: Config } | { problem: ConfigProblem } {
  if (!isRecord(patch)) return { problem: { error: 'must be a JSON object', field: '(root)' } };
  const merged = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [section, body] of Object.entries(patch)) {
    if (!Object.hasOwn(CONFIG_SPEC, section)) return { problem: { error: 'is not a known field', field: section } };
    if (!isRecord(body)) return { problem: { error: 'must be an object', field: section } };
    const target = merged[section] as Record<string, unknown>;
    for (const [key, v] of Object.entries(body)) {
      if (!Object.hasOwn(CONFIG_SPEC[section] as Spec, key)) return { problem: { error: 'is not a known field', field: `${section}.${key}` } };
      target[key] = v;
    }
  }
  return { value: merged as unknown as Config };
}

/** Fills the sections and keys a file leaves out with defaults (older files, a v1 robot's file: docs/MIGRATION.md). */
export function withDefaults(fromFile: unknown): unknown {
  if (!isRecord(fromFile)) return fromFile;
  const out = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  for (const [section, body] of Object.entries(fromFile)) {
    if (isRecord(body) && isRecord(out[section])) out[section] = { ...(out[section] as object), ...body };
    else out[section] = body;
  }
  return out;
}

const getPath = (obj: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), obj);
const setPath = (obj: Record<string, unknown>, path: string, value: unknown): void => {
  const keys = path.split('.');
  let o: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
};

/** A device field a saved file held that the allow-list now refuses, reset to its default. */
export interface ResetField { field: string; problem: string; default: unknown }

/**
 * Resets the device and path fields of a file's config (after withDefaults) that the allow-lists
 * refuse, so a file saved before they existed still loads with everything else the user saved.
 */
export function resetRefusedDevices(candidate: unknown): { value: unknown; reset: ResetField[] } {
  if (!isRecord(candidate)) return { value: candidate, reset: [] };
  const value = structuredClone(candidate);
  const reset: ResetField[] = [];
  for (const field of DEVICE_FIELDS) {
    const [section, key] = field.split('.') as [string, string];
    const check = (CONFIG_SPEC[section] as Spec)[key] as Checker;
    if (!isRecord(value[section]) || !Object.hasOwn(value[section], key)) continue;
    const problem = check(getPath(value, field));
    if (!problem) continue;
    const fallback = getPath(DEFAULT_CONFIG, field);
    setPath(value, field, fallback);
    reset.push({ field, problem, default: fallback });
  }
  return { value, reset };
}

/** A copy safe to return or log: secrets that are set become the mask, empty ones stay empty. */
export function maskSecrets(config: Config): Config {
  const out = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of SECRET_FIELDS) if (getPath(out, path)) setPath(out, path, SECRET_MASK);
  return out as unknown as Config;
}

/** A patch that sends the mask back for a secret means "keep what is stored": drop those keys. */
export function dropMaskedSecrets(patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out = structuredClone(patch);
  for (const path of SECRET_FIELDS) {
    const [section, key] = path.split('.') as [string, string];
    const body = out[section];
    if (isRecord(body) && body[key] === SECRET_MASK) delete body[key];
  }
  return out;
}
