// Turns a robot's avatar_tank_config.json from a v1 (Python/Flask) robot — or an older
// or already-v2 file — into a config the v2 bridge accepts, and applies the devices install.sh
// detected. Pure function + CLI:
//   node --import tsx deploy/pi/migrate-config.ts --data-dir /var/lib/havatar
//        [--from OLD.json] [--camera /dev/video0] [--mic plughw:1,0] [--speaker plughw:2,0]
//        [--serial /dev/havatar-esp32] [--dry-run]
// Reads --from (else the data dir's own file, else starts from defaults), writes the data dir's
// avatar_tank_config.json atomically (keeping the old one as .bak) and prints one JSON report line.
//
// The v2 schema refuses unknown keys (a typo must not silently do nothing), so fields the bridge
// does not know — and known fields whose v1 value the v2 checker refuses — cannot stay in the
// config itself. They are kept, unchanged and under their original path, in
// avatar_tank_config.v1-preserved.json beside it, and each is named in the report's notes.

import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isRecord, type Checker } from '../../protocol/check.ts';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { CONFIG_SPEC, DEFAULT_CONFIG, validateConfig, type Config } from '../../bridge/config/schema.ts';
import { CONFIG_FILE } from '../../bridge/config/store.ts';

export const PRESERVED_FILE = 'avatar_tank_config.v1-preserved.json';

/**
 * v1 keys (flat, as the Flask robot's modules named them) → v2 dotted paths. v1's documented
 * contract is its server_mode block, which v2 keeps as is; the flat names are the ones its
 * device_detector/motor/tts modules used. v2-shaped sections map onto themselves, so running the
 * migration on a v2 file changes nothing.
 */
export const V1_FIELDS: Readonly<Record<string, string>> = {
  robot_name: 'robot.name',
  name: 'robot.name',
  camera_device: 'camera.device',
  CAMERA_DEVICE: 'camera.device',
  camera_width: 'camera.width',
  camera_height: 'camera.height',
  camera_fps: 'camera.fps',
  fps: 'camera.fps',
  mic_device: 'audio.mic_device',
  MIC_PLUG: 'audio.mic_device',
  speaker_device: 'audio.speaker_device',
  SPK_PLUG: 'audio.speaker_device',
  audio_enabled: 'audio.enabled',
  serial_port: 'motors.serial_port',
  SERIAL_PORT: 'motors.serial_port',
  baud: 'motors.baud',
  baud_rate: 'motors.baud',
  BAUD_RATE: 'motors.baud',
  deadman_ms: 'safety.deadman_ms',
  tts_voice: 'tts.voice',
  tts_rate: 'tts.rate',
};

/** Devices install.sh chose; each one given replaces what the file said. */
export interface DeviceChoices {
  camera?: string;
  mic?: string;
  speaker?: string;
  serial?: string;
}

export interface MigrationResult {
  config: Config;
  /** Fields that could not go into the config, by their original dotted path, values unchanged. */
  preserved: Record<string, unknown>;
  /** One line per decision worth telling the person installing (mapped, kept, refused). */
  notes: string[];
  /** Whether the input already was a complete, valid v2 config (then config equals it). */
  wasV2: boolean;
}

type Spec = { [key: string]: Checker | Spec };

function checkerAt(path: string): Checker | null {
  let node: Checker | Spec = CONFIG_SPEC;
  for (const key of path.split('.')) {
    if (typeof node === 'function' || !Object.hasOwn(node, key)) return null;
    node = node[key]!;
  }
  return typeof node === 'function' ? node : null;
}

function setAt(config: Config, path: string, value: unknown): void {
  const [section, key] = path.split('.') as [string, string];
  (config as unknown as Record<string, Record<string, unknown>>)[section]![key] = value;
}

/** v1 wrote numbers as strings now and then ("115200"); only exact integers are read as numbers. */
function coerce(value: unknown, checker: Checker): unknown {
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim()) && checker(value) !== null) {
    const n = Number(value.trim());
    if (checker(n) === null) return n;
  }
  return value;
}

/**
 * Maps an old config (any JSON value) to a valid v2 config. Known fields go where v2 keeps them
 * when v2's checker accepts the value; everything else is preserved, never dropped.
 */
export function migrateConfig(input: unknown, devices: DeviceChoices = {}): MigrationResult {
  const config = structuredClone(DEFAULT_CONFIG);
  const preserved: Record<string, unknown> = {};
  const notes: string[] = [];
  const wasV2 = validateConfig(input) === null;

  const place = (from: string, to: string, value: unknown): void => {
    const checker = checkerAt(to);
    if (!checker) {
      preserved[from] = value;
      notes.push(`${from}: not a v2 field, preserved`);
      return;
    }
    const v = coerce(value, checker);
    const problem = checker(v);
    if (problem) {
      preserved[from] = value;
      notes.push(`${from}: ${problem} in v2, kept the default for ${to} and preserved the old value`);
      return;
    }
    setAt(config, to, v);
    if (from !== to) notes.push(`${from} → ${to}`);
  };

  if (input !== undefined && !isRecord(input)) {
    preserved['(root)'] = input;
    notes.push('(root): not a JSON object, started from defaults and preserved it');
  } else if (isRecord(input)) {
    for (const [key, value] of Object.entries(input)) {
      if (Object.hasOwn(CONFIG_SPEC, key) && isRecord(value)) {
        // A v2-shaped section (v1 already had server_mode in this shape).
        for (const [field, v] of Object.entries(value)) place(`${key}.${field}`, `${key}.${field}`, v);
      } else if (Object.hasOwn(V1_FIELDS, key)) {
        place(key, V1_FIELDS[key]!, value);
      } else {
        preserved[key] = value;
        notes.push(`${key}: not a v2 field, preserved`);
      }
    }
  }

  const chosen: [keyof DeviceChoices, string][] = [
    ['camera', 'camera.device'], ['mic', 'audio.mic_device'], ['speaker', 'audio.speaker_device'], ['serial', 'motors.serial_port'],
  ];
  for (const [name, path] of chosen) {
    const value = devices[name];
    if (value === undefined) continue;
    const problem = checkerAt(path)!(value);
    if (problem) throw new Error(`--${name} ${JSON.stringify(value)}: ${path} ${problem}`);
    setAt(config, path, value);
  }

  // The result is always a config the bridge loads; anything else is a bug here, not bad input.
  const problem = validateConfig(config);
  if (problem) throw new Error(`migration produced an invalid config: ${problem.field} ${problem.error}`);
  return { config, preserved, notes, wasV2 };
}

// ---- CLI ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      from: { type: 'string' },
      camera: { type: 'string' },
      mic: { type: 'string' },
      speaker: { type: 'string' },
      serial: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  if (!values['data-dir']) {
    console.error('usage: migrate-config.ts --data-dir DIR [--from OLD.json] [--camera DEV] [--mic DEV] [--speaker DEV] [--serial PATH] [--dry-run]');
    process.exit(2);
  }
  const dataDir = resolve(values['data-dir']);
  const target = join(dataDir, CONFIG_FILE);
  const source = values.from ? resolve(values.from) : existsSync(target) ? target : null;

  let input: unknown;
  if (source) {
    try {
      input = JSON.parse(readFileSync(source, 'utf8'));
    } catch (err) {
      console.error(`cannot read ${source} as JSON: ${(err as Error).message}`);
      process.exit(1);
    }
  }
  const devices: DeviceChoices = {};
  for (const name of ['camera', 'mic', 'speaker', 'serial'] as const) if (values[name] !== undefined) devices[name] = values[name];

  let result: MigrationResult;
  try {
    result = migrateConfig(input, devices);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const preservedCount = Object.keys(result.preserved).length;
  const report = {
    event: 'config_migrated', source, target, dryRun: values['dry-run'], wasV2: result.wasV2,
    preserved: preservedCount ? join(dataDir, PRESERVED_FILE) : null, notes: result.notes,
  };
  if (!values['dry-run']) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (existsSync(target)) await copyFile(target, `${target}.bak`);
    if (preservedCount) {
      // Merge with what an earlier run preserved: a second run must not lose the first one's fields.
      const path = join(dataDir, PRESERVED_FILE);
      let earlier: Record<string, unknown> = {};
      try { earlier = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>; } catch { /* none yet */ }
      await writeFileAtomic(path, JSON.stringify({ ...earlier, ...result.preserved }, null, 2) + '\n');
    }
    await writeFileAtomic(target, JSON.stringify(result.config, null, 2) + '\n');
  }
  console.log(JSON.stringify(report));
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) await main();
