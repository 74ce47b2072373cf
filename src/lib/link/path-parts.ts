// What the path selector (path-selector.ts) is built from: its phases and their allowed moves, the
// server path (made and dropped here), its dependencies and its timing.

import type { Transitions } from '../../../common/state-machine.ts';
import type { Settings } from '../storage/settings.ts';
import type { RtcFailure } from '../video/webrtc-session.ts';
import type { VideoSource } from '../video/video-source.ts';
import type { Link } from './link.ts';
import type { RelayEvents } from './relay-link.ts';
import type { SessionRefreshDeps } from './session-refresh.ts';
import type { SwitchLink } from './switch-link.ts';

export type PathPhase = 'off' | 'local' | 'server' | 'fallback' | 'probing';

/** Every allowed phase change, listed once (stop() goes to 'off' from anywhere). */
export const PATH_TRANSITIONS: Transitions<PathPhase> = {
  off: ['local', 'server'],
  local: ['off'],
  server: ['fallback', 'off'],
  fallback: ['probing', 'off'],
  probing: ['server', 'fallback', 'off'],
};

/** What the server path's link must offer beyond Link (RelayLink does; tests fake it). */
export interface ServerLink extends Link {
  readonly robotOnline: boolean | null;
  onRelay<K extends keyof RelayEvents>(type: K, fn: (value: RelayEvents[K]) => void): () => void;
  refresh(): boolean;
  /** Asks the relay to start or stop recording (RelayLink; absent on links that cannot). */
  record?(action: 'start' | 'stop'): boolean;
}

/** What the server path's video must offer beyond VideoSource (ServerVideo does). */
export interface ServerVideoLike extends VideoSource {
  readonly failure: RtcFailure | 'hls' | null;
  readonly hlsReason: string | null;
  readonly pc: RTCPeerConnection | null;
}

export interface PathDeps extends SessionRefreshDeps {
  link: SwitchLink;
  local: Link;
  settings: () => Settings;
  makeRelayLink: () => ServerLink;
  makeLocalVideo: () => VideoSource;
  localVideoUrl: () => string;
  makeServerVideo: (s: Settings) => Promise<ServerVideoLike>;
  /** GET <server>/health: true when the relay (and MediaMTX behind it) answer. */
  health: (serverUrl: string) => Promise<boolean>;
  timing?: Partial<PathTiming>;
}

export interface PathTiming {
  /** Auto: the relay must be live with the robot online this soon after entering server. */
  connectDeadlineMs: number;
  /** Auto: the server video must play this soon (covers WebRTC → HLS). */
  videoDeadlineMs: number;
  probeBaseMs: number;
  /** Probing backoff ceiling: the server is back in use at most this long after it returns. */
  probeCapMs: number;
  /**
   * A probe whose /health got no answer for this long met a network that carries nothing (the
   * phone's outage), not a server that refuses: the next probe follows after a pause of at most
   * probeRecoverMs rather than the backoff, for probeRecoverForMs after falling back.
   */
  probeUnansweredMs: number;
  probeRecoverMs: number;
  probeRecoverForMs: number;
  /** How often the server path's health is looked at besides events. */
  checkEveryMs: number;
}

export const DEFAULT_PATH_TIMING: PathTiming = {
  connectDeadlineMs: 3000,
  videoDeadlineMs: 8000,
  probeBaseMs: 500,
  probeCapMs: 3000,
  // Half the health check's 1.5 s timeout: a refusal comes far sooner. A probe cycle in an outage is
  // then ≤ 1.5 s + 250 ms, and the server is back in use ≤ ~2 s after the network.
  probeUnansweredMs: 750,
  probeRecoverMs: 250,
  probeRecoverForMs: 30_000,
  checkEveryMs: 250,
};

/** One server path: its relay link, its video once a view asked for one, and what to undo. */
export interface ServerPath {
  link: ServerLink;
  video: ServerVideoLike | null;
  unsubs: (() => void)[];
}

/** A server path over `link`; a `session` frame from the relay goes to `onSession`. */
export function newServerPath(link: ServerLink, onSession: (token: string, expiresAt: number) => void): ServerPath {
  const path: ServerPath = { link, video: null, unsubs: [] };
  path.unsubs.push(link.onRelay('session', (m) => onSession(m.token, m.expiresAt)));
  return path;
}

/** Stops a server path's link and video and drops its listeners. */
export function dropServerPath(path: ServerPath | null): void {
  if (!path) return;
  for (const u of path.unsubs) u();
  path.link.stop('Leaving server mode.');
  path.video?.stop();
  path.video = null;
}
