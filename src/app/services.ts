// The app's long-lived objects, made once and shared by the shell and every view: the settings
// store, the link to the robot (a SwitchLink over the local and server paths), the path selector
// that picks the path, the command queue, the robot's last known state and the log.
// Views get them through reactive controllers; tests can install their own with setAppServices().
// Server-mode video/talk code is imported lazily (first use), so local mode stays light.

import { CommandQueue, idbOutbox } from '../lib/link/command-queue.ts';
import { ConnectionLog } from '../lib/link/connection-log.ts';
import type { Link } from '../lib/link/link.ts';
import type { PathDeps, ServerVideoLike } from '../lib/link/path-parts.ts';
import { PathSelector } from '../lib/link/path-selector.ts';
import { RelayLink } from '../lib/link/relay-link.ts';
import { RobotState } from '../lib/link/robot-state.ts';
import { videoUrl, wsUrl } from '../lib/link/robot-urls.ts';
import { redeemInvite, refreshSession, serverHealthy } from '../lib/link/server-api.ts';
import { SwitchLink } from '../lib/link/switch-link.ts';
import { WsLink } from '../lib/link/ws-link.ts';
import { openHavatarDb, type HavatarDb } from '../lib/storage/db.ts';
import { SettingsStore } from '../lib/storage/settings-store.ts';
import type { Settings } from '../lib/storage/settings.ts';
import { MjpegSource } from '../lib/video/mjpeg-source.ts';

export interface AppServices {
  db: Promise<HavatarDb>;
  settings: SettingsStore;
  /** The one link everything talks through (forwards to the active path). */
  link: SwitchLink;
  /** Local mode's link to the bridge. */
  local: Link;
  /** The path selector (local or server path; Auto's fallback and return). */
  mode: PathSelector;
  queue: CommandQueue;
  robot: RobotState;
  log: ConnectionLog;
  /** Set when an invite link could not be redeemed (shown on the drive view). */
  inviteError: string | null;
}

let current: AppServices | null = null;

export function appServices(): AppServices {
  return (current ??= createServices());
}

export function setAppServices(s: AppServices | null): void {
  current = s;
}

/** Test knob: `?video=hls` starts server video on HLS (the e2e tests' "WebRTC blocked"). */
const preferHls = (): boolean => typeof location !== 'undefined' && new URLSearchParams(location.search).get('video') === 'hls';

export function createServices(dbName?: string, localLink?: Link, pathDeps?: Partial<PathDeps>): AppServices {
  const db = openHavatarDb(dbName);
  const settings = new SettingsStore(db);
  const hello = () => ({ name: settings.value.operatorName });
  const local = localLink ?? new WsLink({ url: () => wsUrl(settings.value), hello });
  const link = new SwitchLink(local);
  const robot = new RobotState(link);
  const log = new ConnectionLog();
  // A switch of path looks like a drop to the robot state (it forgets the recording state) and
  // replays only the new link's welcome: the recording state is read back from the link (the
  // relay's, or the one the bridge passed on).
  link.on('status', () => {
    const kept = link.active.recording;
    if (kept && robot.recording !== kept) robot.recordingChanged(kept);
  });
  link.on('log', (text) => log.add(text));
  const mode = new PathSelector({
    link,
    local,
    settings: () => settings.value,
    makeRelayLink: () => {
      const r = new RelayLink({ target: () => ({ serverUrl: settings.value.serverUrl, token: settings.value.sessionToken }), hello });
      r.on('log', (text) => log.add(`relay: ${text}`));
      // A relay link built beside the local one (a probe) is not the robot's state until it is used.
      r.onRelay('recording', (m) => { if (link.active === r) robot.recordingChanged(m); });
      return r;
    },
    makeLocalVideo: () => new MjpegSource(),
    localVideoUrl: () => videoUrl(settings.value),
    makeServerVideo: async (s: Settings): Promise<ServerVideoLike> => {
      const { ServerVideo } = await import('../lib/video/server-video.ts');
      return new ServerVideo({ token: () => settings.value.sessionToken, hlsUrl: s.hlsUrl, preferHls: preferHls(), log: (l) => log.add(l) });
    },
    health: (url) => serverHealthy(url),
    saveSession: async (token, expiresAt) => void (await settings.save({ sessionToken: token, sessionExpiresAt: expiresAt })),
    refreshHttp: async () => {
      const p = await refreshSession(settings.value.serverUrl, settings.value.sessionToken);
      return { token: p.sessionToken, expiresAt: p.sessionExpiresAt };
    },
    log: (l) => log.add(l),
    ...pathDeps,
  });
  return { db, settings, link, local, mode, queue: new CommandQueue(link, idbOutbox(db)), robot, log, inviteError: null };
}

/** Trades an invite for a session, saves it and switches to Auto. Errors are kept for the view. */
export async function acceptInvite(s: AppServices, invite: { invite: string; server: string }, fetchImpl?: typeof fetch): Promise<boolean> {
  try {
    const patch = await redeemInvite(invite.server, invite.invite, fetchImpl);
    const r = await s.settings.save({ ...patch, mode: 'auto' });
    if (!r.ok) throw new Error(Object.values(r.errors).join(' '));
    s.inviteError = null;
    s.log.add(`Invite accepted: ${patch.sessionRole} of robot ${patch.robotId} via ${patch.serverUrl}.`);
    return true;
  } catch (e) {
    s.inviteError = `Invite link not accepted: ${(e as Error).message}`;
    s.log.add(s.inviteError);
    return false;
  }
}

/** Loads settings, starts the chosen path, and restarts what a changed setting affects. */
export async function startServices(s: AppServices): Promise<void> {
  await s.settings.load();
  let localKey = linkKey(s.settings.value);
  let modeKey = serverKey(s.settings.value);
  let videoKey = videoUrl(s.settings.value);
  s.settings.subscribe((v) => {
    const nextMode = serverKey(v);
    const nextLocal = linkKey(v);
    const nextVideo = videoUrl(v);
    if (nextMode !== modeKey) {
      modeKey = nextMode;
      localKey = nextLocal;
      videoKey = nextVideo;
      s.log.add(`Connection settings changed: mode ${v.mode}.`);
      s.mode.start();
      return;
    }
    if (nextLocal !== localKey) {
      localKey = nextLocal;
      // Only matters while the local link is in use; a refreshed session token never restarts anything.
      if (s.mode.path === 'local' && s.mode.phase !== 'off') {
        s.log.add('Settings changed: reconnecting.');
        s.local.stop('Reconnecting with new settings.');
        s.local.start();
      }
    }
    if (nextVideo !== videoKey) {
      videoKey = nextVideo;
      s.mode.reloadLocalVideo();
    }
  });
  s.mode.start();
  await s.queue.restore();
}

const linkKey = (v: Settings): string => JSON.stringify([v.robotUrl, v.token, v.audioEnabled, v.operatorName]);
/** What the path selector must restart for; not the session token (refreshed in place). */
const serverKey = (v: Settings): string => JSON.stringify([v.mode, v.serverUrl, v.robotId, v.sessionRole, v.whepUrl, v.whipUrl, v.hlsUrl]);
