// Owns avatar_tank_config.json in the data dir: loads it (falling back to the last good copy when
// the file is corrupt), applies validated partial updates, and writes atomically, keeping the
// previous good file as avatar_tank_config.json.bak.

import { copyFile, mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.ts';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import {
  DEFAULT_CONFIG,
  dropMaskedSecrets,
  maskSecrets,
  mergePatch,
  resetRefusedDevices,
  validateConfig,
  withDefaults,
  type Config,
  type ConfigProblem,
  type ResetField,
} from './schema.ts';
import { hostChangeProblem } from './password-hosts.ts';

export const CONFIG_FILE = 'avatar_tank_config.json';
export const BACKUP_SUFFIX = '.bak';

/** Where the running config came from, and what was wrong with the file if it was not used. */
export interface ConfigLoadReport {
  source: 'file' | 'backup' | 'defaults';
  ok: boolean;
  problem?: string;
  /** Device fields of the file the allow-lists refuse: running on their defaults instead. */
  reset?: string[];
}

/** `storage` marks a valid update the disk refused (full, read-only): nothing changed either way. */
export type UpdateResult = { ok: true; config: Config } | { ok: false; problem: ConfigProblem; storage?: boolean };

const serialize = (c: Config): string => JSON.stringify(c, null, 2) + '\n';

type Parsed = { config: Config; reset: ResetField[] } | { problem: string } | { missing: true };

async function readConfigFile(path: string): Promise<Parsed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { problem: `cannot read: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not valid JSON' };
  }
  const candidate = resetRefusedDevices(withDefaults(value));
  const problem = validateConfig(candidate.value);
  return problem ? { problem: `${problem.field} ${problem.error}` } : { config: candidate.value as Config, reset: candidate.reset };
}

/** Says loudly which saved device values are not used, and reports them. */
function reportResets(report: ConfigLoadReport, reset: ResetField[], path: string, log: Logger): ConfigLoadReport {
  for (const r of reset) {
    log.warn(`config ${r.field} ${r.problem}: reset to the default`, { path, field: r.field, default: r.default });
  }
  return reset.length ? { ...report, reset: reset.map((r) => r.field) } : report;
}

export class ConfigStore {
  readonly path: string;
  private current: Config;
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(readonly dataDir: string, config: Config, readonly report: ConfigLoadReport, private log: Logger) {
    this.path = join(dataDir, CONFIG_FILE);
    this.current = config;
  }

  /** Loads (or creates) the config in dataDir. Never throws for a bad file: it reports and falls back. */
  static async open(dataDir: string, log: Logger): Promise<ConfigStore> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Temp files of a write that was cut short (crash, power loss) are never the real config.
    for (const name of await readdir(dataDir)) {
      if (name.startsWith(`.${CONFIG_FILE}`) && name.endsWith('.tmp')) await unlink(join(dataDir, name)).catch(() => {});
    }
    const path = join(dataDir, CONFIG_FILE);
    const main = await readConfigFile(path);
    if ('config' in main) return new ConfigStore(dataDir, main.config, reportResets({ source: 'file', ok: true }, main.reset, path, log), log);

    if ('missing' in main) {
      const backup = await readConfigFile(path + BACKUP_SUFFIX);
      const config = 'config' in backup ? backup.config : structuredClone(DEFAULT_CONFIG);
      const report = reportResets({ source: 'config' in backup ? 'backup' : 'defaults', ok: true }, 'config' in backup ? backup.reset : [], path, log);
      const store = new ConfigStore(dataDir, config, report, log);
      await writeFileAtomic(path, serialize(config));
      log.info('config file created', { path, source: store.report.source });
      return store;
    }

    // Corrupt: keep the bad file for inspection, run on the last good one, and say so loudly.
    const problem = `${CONFIG_FILE}: ${main.problem}`;
    await copyFile(path, path + '.corrupt').catch(() => {});
    const backup = await readConfigFile(path + BACKUP_SUFFIX);
    if ('config' in backup) {
      log.error('config file is corrupt; using the last good copy', { path, problem, corruptCopy: path + '.corrupt' });
      const store = new ConfigStore(dataDir, backup.config, reportResets({ source: 'backup', ok: false, problem }, backup.reset, path, log), log);
      await writeFileAtomic(path, serialize(backup.config));
      return store;
    }
    log.error('config file is corrupt and there is no good backup; using defaults', { path, problem });
    const store = new ConfigStore(dataDir, structuredClone(DEFAULT_CONFIG), { source: 'defaults', ok: false, problem }, log);
    await writeFileAtomic(path, serialize(store.current));
    return store;
  }

  /** The live config, secrets in clear: for the bridge's own use only. */
  get(): Config {
    return structuredClone(this.current);
  }

  /** The config as the API shows it: secrets masked. */
  masked(): Config {
    return maskSecrets(this.current);
  }

  /**
   * Validates a partial update against the whole resulting config; when valid, writes it
   * atomically (previous file kept as .bak) and makes it current. When invalid nothing changes.
   * A new relay or RTSP host needs the password in the same update (password-hosts.ts).
   */
  update(patch: unknown): Promise<UpdateResult> {
    const run = async (): Promise<UpdateResult> => {
      const applied = dropMaskedSecrets(patch);
      const merged = mergePatch(this.current, applied);
      if ('problem' in merged) return { ok: false, problem: merged.problem };
      const problem = validateConfig(merged.value) ?? hostChangeProblem(this.current, merged.value, applied);
      if (problem) return { ok: false, problem };
      const previous = this.current;
      try {
        await writeFileAtomic(this.path + BACKUP_SUFFIX, serialize(previous));
        await writeFileAtomic(this.path, serialize(merged.value));
      } catch (err) {
        // The atomic write leaves the old file in place; the live config stays the old one too,
        // so what runs and what is on disk never disagree.
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        this.log.error('config not saved', { path: this.path, code, err });
        const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EROFS' ? 'the disk is read-only' : `the write failed (${code})`;
        return { ok: false, storage: true, problem: { field: '(file)', error: `not saved: ${why}; nothing changed` } };
      }
      this.current = merged.value;
      this.log.info('config updated', { sections: Object.keys(patch as object) });
      return { ok: true, config: this.get() };
    };
    // One write at a time: two POSTs racing must not interleave their .bak and main writes.
    const next = this.writing.then(run, run);
    this.writing = next.catch(() => {});
    return next;
  }
}
