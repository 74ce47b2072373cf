// The app's one IndexedDB database. Versioned: each upgrade step runs once, in order, so a phone
// that skipped releases still ends at the current shape without losing stores.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StoredSettings } from './settings.ts';

/** A non-drive action made while offline, waiting to be sent once when the link returns. */
export interface OutboxItem {
  id: string;
  kind: 'tts';
  text: string;
  createdAt: number;
  expiresAt: number;
}

export interface HavatarDB extends DBSchema {
  settings: { key: string; value: StoredSettings };
  outbox: { key: string; value: OutboxItem; indexes: { byCreated: number } };
}

export const DB_NAME = 'havatar';
export const DB_VERSION = 1;
export const SETTINGS_KEY = 'current';

export type HavatarDb = IDBPDatabase<HavatarDB>;

export function openHavatarDb(name: string = DB_NAME): Promise<HavatarDb> {
  return openDB<HavatarDB>(name, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('settings');
        db.createObjectStore('outbox', { keyPath: 'id' }).createIndex('byCreated', 'createdAt');
      }
      // Version 2 goes here: `if (oldVersion < 2) { ... }`.
    },
  });
}
