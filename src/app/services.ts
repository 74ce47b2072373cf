// The app's long-lived objects, made once and shared by the shell and every view: the settings
// store, the link to the robot, the command queue, the robot's last known state and the log.
// Views get them through reactive controllers; tests can install their own with setAppServices().

import { CommandQueue, idbOutbox } from '../lib/link/command-queue.ts';
import { ConnectionLog } from '../lib/link/connection-log.ts';
import type { Link } from '../lib/link/link.ts';
import { RobotState } from '../lib/link/robot-state.ts';
import { wsUrl } from '../lib/link/robot-urls.ts';
import { WsLink } from '../lib/link/ws-link.ts';
import { openHavatarDb, type HavatarDb } from '../lib/storage/db.ts';
import { SettingsStore } from '../lib/storage/settings-store.ts';
import type { Settings } from '../lib/storage/settings.ts';

export interface AppServices {
  db: Promise<HavatarDb>;
  settings: SettingsStore;
  link: Link;
  queue: CommandQueue;
  robot: RobotState;
  log: ConnectionLog;
}

let current: AppServices | null = null;

export function appServices(): AppServices {
  return (current ??= createServices());
}

export function setAppServices(s: AppServices | null): void {
  current = s;
}

export function createServices(dbName?: string, link?: Link): AppServices {
  const db = openHavatarDb(dbName);
  const settings = new SettingsStore(db);
  const l = link ?? new WsLink({ url: () => wsUrl(settings.value), hello: () => ({ name: settings.value.operatorName }) });
  const log = new ConnectionLog();
  l.on('log', (text) => log.add(text));
  return { db, settings, link: l, queue: new CommandQueue(l, idbOutbox(db)), robot: new RobotState(l), log };
}

/** Loads settings, starts the link, and reconnects when a setting the link depends on changes. */
export async function startServices(s: AppServices): Promise<void> {
  await s.settings.load();
  let key = linkKey(s.settings.value);
  s.settings.subscribe((v) => {
    const next = linkKey(v);
    if (next === key) return;
    key = next;
    s.log.add('Settings changed: reconnecting.');
    s.link.stop('Reconnecting with new settings.');
    s.link.start();
  });
  s.link.start();
  await s.queue.restore();
}

const linkKey = (v: Settings): string => JSON.stringify([v.robotUrl, v.token, v.audioEnabled, v.operatorName]);
