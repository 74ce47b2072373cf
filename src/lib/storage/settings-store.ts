// Settings kept in IndexedDB, shared by every view through one observable store.

import { SETTINGS_KEY, type HavatarDb } from './db.ts';
import { DEFAULT_SETTINGS, SETTINGS_SCHEMA, migrateSettings, validateSettings, type Settings, type Validation } from './settings.ts';

type Listener = (s: Settings) => void;

export class SettingsStore {
  private current: Settings = { ...DEFAULT_SETTINGS };
  private readonly listeners = new Set<Listener>();
  loaded = false;

  constructor(private readonly db: Promise<HavatarDb>) {}

  get value(): Settings {
    return this.current;
  }

  async load(): Promise<Settings> {
    const db = await this.db;
    const raw = await db.get('settings', SETTINGS_KEY);
    this.current = migrateSettings(raw);
    this.loaded = true;
    this.emit();
    return this.current;
  }

  /** Validates, then saves; on a bad value nothing changes and the errors name the fields. */
  async save(draft: Partial<Record<keyof Settings, unknown>>): Promise<Validation> {
    const checked = validateSettings({ ...this.current, ...draft });
    if (!checked.ok) return checked;
    const db = await this.db;
    await db.put('settings', { ...checked.value, schema: SETTINGS_SCHEMA, savedAt: Date.now() }, SETTINGS_KEY);
    this.current = checked.value;
    this.emit();
    return checked;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.current);
  }
}
