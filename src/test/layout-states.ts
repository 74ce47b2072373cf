// The app's states for layout tests and screenshots: every connection mode (local, server, auto on
// the server, auto fallen back to local) and what the robot says (driving, viewing, nobody driving,
// robot offline, link lost), built from the real services over fake links, so that the shell and
// its views render exactly what an operator would see. Each state fills the heads-up line and the
// banners as a real one does, with the longest texts that state can show.

import { msg, type LeaseStateMsg, type TalkStateMsg, type TelemetryMsg, type VideoNote } from '../../protocol/messages.ts';
import { createServices, setAppServices, type AppServices } from '../app/services.ts';
import type { ServerVideoLike } from '../lib/link/path-parts.ts';
import { FakeLink, FakeRelayLink, uniqueDbName } from './fake-link.ts';
import { waitFor } from '../../common/wait.ts';

export const LAYOUT_STATES = [
  'local-nobody', 'local-driving', 'local-viewing', 'local-robot-offline',
  'server-driving', 'server-viewing', 'server-robot-offline', 'server-no-session',
  'auto-server-driving', 'auto-server-lost',
] as const;
export type LayoutState = (typeof LAYOUT_STATES)[number];

export interface StateRig { s: AppServices; local: FakeLink; relay: FakeRelayLink }

const SESSION = { serverUrl: 'http://127.0.0.1:3000', sessionToken: 'hs_0123456789abcdef', sessionExpiresAt: Date.now() + 3_600_000, robotId: 'sim', sessionRole: 'driver' } as const;

/** A video that plays at once (no robot, no MediaMTX): an empty <video>, or `picture` as an image. */
function fakeVideo(kind: 'mjpeg' | 'whep', picture: string | null): ServerVideoLike {
  const element = picture ? Object.assign(document.createElement('img'), { src: picture, alt: 'Robot camera' }) : document.createElement('video');
  if (element instanceof HTMLVideoElement) element.muted = true;
  return {
    kind, state: 'playing', error: null, failure: null, hlsReason: null, pc: null, element,
    start() {}, stop() {}, onChange: () => () => {},
  };
}

/** A 4:3 test picture standing in for the camera in screenshots: a wall, a floor in perspective. */
export function testPicture(): string {
  const c = Object.assign(document.createElement('canvas'), { width: 640, height: 480 });
  const g = c.getContext('2d')!;
  const wall = g.createLinearGradient(0, 0, 0, 200);
  wall.addColorStop(0, '#4a6278');
  wall.addColorStop(1, '#9fb3c4');
  g.fillStyle = wall;
  g.fillRect(0, 0, 640, 200);
  g.fillStyle = '#8a9a5b';
  g.fillRect(0, 200, 640, 280);
  g.strokeStyle = '#dfe8c8';
  for (let x = -640; x <= 1280; x += 80) g.beginPath(), g.moveTo(320, 200), g.lineTo(x, 480), g.stroke();
  for (let i = 1; i < 8; i++) g.beginPath(), g.moveTo(0, 200 + i * i * 4.5), g.lineTo(640, 200 + i * i * 4.5), g.stroke();
  g.fillStyle = '#f0a030';
  g.fillRect(450, 110, 40, 50);
  g.fillStyle = '#fff';
  g.font = 'bold 22px sans-serif';
  g.fillText('test picture', 20, 36);
  return c.toDataURL('image/png');
}

/** A driver's name as long as the protocol allows (64 characters). */
const LONGEST_NAME = 'Alexandra Papadopoulou-Fitzgerald at the front desk, building 2';

const driving = (you: boolean, requestedBy?: string): LeaseStateMsg =>
  msg<LeaseStateMsg>({ type: 'lease', driver: you ? 'me' : 'other', driverName: you ? 'Operator' : LONGEST_NAME, you, ...(requestedBy ? { requestedBy } : {}) });

/** The longest "video lowered" note the robot sends (server mode: bridge/server-mode/uplink-policy.ts). */
const LONGEST_VIDEO_NOTE: VideoNote = { step: 4, of: 6, name: 'two-thirds size', reason: 'uplink congested: the uplink queue overflowed (packets dropped)' };

/** Everything the robot tells a connected operator: battery, speaker, who drives (and, in server mode, a lowered video). */
function robotTalks(link: FakeLink, lease: LeaseStateMsg | null, video?: VideoNote): void {
  link.heartbeatRttMs = 1234;
  link.receive(msg<TelemetryMsg>({ type: 'telemetry', battery: { voltage: 11.1, percentage: 18 }, motors: { left: 0, right: 0 }, serial: true, ts: Date.now(), ...(video ? { video } : {}) }));
  link.receive(msg<TalkStateMsg>({ type: 'talk_state', speaker: 'playing', by: 'other' }));
  if (lease) link.receive(lease);
}

/**
 * Services for `state`, installed as the app's (setAppServices), its settings saved. The app's
 * shell starts them (startServices); then `settle()` puts the links where the state has them.
 */
export async function layoutServices(state: LayoutState, picture: string | null = null): Promise<StateRig & { settle: () => Promise<void> }> {
  const local = new FakeLink();
  const relay = new FakeRelayLink();
  const health = { ok: true };
  const s = createServices(uniqueDbName(), local, {
    makeRelayLink: () => relay,
    makeServerVideo: async () => fakeVideo('whep', picture),
    ...(picture ? { makeLocalVideo: () => fakeVideo('mjpeg', picture) } : {}),
    health: async () => health.ok,
    timing: { probeBaseMs: 60_000, probeCapMs: 60_000 },
  });
  setAppServices(s);
  await s.settings.load();
  const [mode, what] = state.split(/-(.*)/s) as ['local' | 'server' | 'auto', string];
  await s.settings.save({ mode, operatorName: 'Operator', ...(what === 'no-session' ? {} : SESSION) });
  const rig = { s, local, relay };
  const settle = async (): Promise<void> => {
    await waitFor('the app to start its mode', () => s.mode.phase !== 'off' || s.mode.reason !== null, Boolean, 3000);
    await settleLinks(rig, mode, what, health);
  };
  return { ...rig, settle };
}

async function settleLinks({ s, local, relay }: StateRig, mode: string, what: string, health: { ok: boolean }): Promise<void> {
  if (mode === 'local') {
    if (what === 'robot-offline') return local.setState('lost', 'Connection closed (1006): the robot does not answer. Retrying in 8.0 s.');
    local.setState('live');
    return robotTalks(local, what === 'driving' ? driving(true, 'viewer-2') : what === 'viewing' ? driving(false) : null);
  }
  if (what === 'no-session') {
    s.inviteError = 'Invite link not accepted: the invite has expired or was already used (410).';
    return;
  }
  relay.setState('live');
  relay.online(what !== 'robot-offline');
  if (what === 'server-lost') {
    health.ok = false;
    local.setState('live');
    relay.setState('lost', 'Connection closed (1006). Retrying in 4.0 s.');
    await waitFor('auto falls back to local', () => s.mode.fallback, Boolean, 2000);
    return robotTalks(local, driving(true));
  }
  robotTalks(relay, what === 'viewing' ? driving(false) : driving(true, 'viewer-2'), LONGEST_VIDEO_NOTE);
}
