// How Auto judges the server, for the path selector: the health rules of the server path in use,
// and the probe that builds a new one beside the running local path (relay /health → relay socket
// live with the robot online → server video playing, when a view shows video).
//
// The health rules: relay socket lost/closed · the relay says the robot is offline · the server
// video failed (unreachable, nothing published, refused, stalled, HLS error; an ICE failure is not
// one: it goes to HLS) · not live within connectDeadlineMs of entering · no picture within
// videoDeadlineMs.

import { isUsable } from './link.ts';
import type { PathDeps, PathTiming, ServerPath } from './path-parts.ts';

/** The first broken health rule of the server path in use, `sinceMs` after entering it; null when none. */
export function serverProblem(path: ServerPath, sinceMs: number, t: PathTiming): string | null {
  const st = path.link.status.state;
  if (st === 'lost' || st === 'closed') return `Relay connection lost${path.link.status.reason ? ` (${path.link.status.reason})` : ''}.`;
  if (path.link.robotOnline === false) return 'The robot is not connected to the server.';
  const v = path.video;
  if (v?.failure) return `Server video failed: ${v.error ?? v.failure}`;
  if (sinceMs > t.connectDeadlineMs && !(isUsable(st) && path.link.robotOnline)) return 'The server did not answer in time.';
  if (v && sinceMs > t.videoDeadlineMs && v.state !== 'playing') return 'No video from the server in time.';
  return null;
}

export interface ProbeContext {
  deps: Pick<PathDeps, 'settings' | 'health' | 'makeServerVideo'>;
  timing: PathTiming;
  /** A view shows video: the probe must see the server video play too. */
  wantVideo: () => boolean;
  /** A new server path, kept by the selector as its probe (stop() drops it). */
  newPath: () => ServerPath;
  /** Still the same run, still probing (with this path, once there is one). */
  current: (path?: ServerPath) => boolean;
  waitFor: (cond: () => boolean, timeoutMs: number) => Promise<boolean>;
}

/**
 * The whole server path, or why not (`unanswered`: /health got no answer for
 * timing.probeUnansweredMs or more); null when the run ended in the meantime.
 */
export async function probeServer(c: ProbeContext): Promise<{ path: ServerPath } | { why: string; unanswered?: boolean } | null> {
  const s = c.deps.settings();
  let healthy = false;
  const asked = performance.now();
  try {
    healthy = await c.deps.health(s.serverUrl);
  } catch {
    healthy = false;
  }
  if (!c.current()) return null;
  if (!healthy) return { why: 'The server does not answer.', unanswered: performance.now() - asked >= c.timing.probeUnansweredMs };

  const path = c.newPath();
  path.link.start();
  const linkOk = await c.waitFor(() => isUsable(path.link.status.state) && path.link.robotOnline === true, c.timing.connectDeadlineMs);
  if (!c.current(path)) return null;
  if (!linkOk) return { why: path.link.robotOnline === false ? 'The robot is not connected to the server.' : 'The relay did not answer.' };

  if (c.wantVideo()) {
    const video = await c.deps.makeServerVideo(s);
    if (!c.current(path)) return void video.stop(), null;
    path.video = video;
    video.start(s.whepUrl);
    const videoOk = await c.waitFor(() => video.state === 'playing' || video.failure !== null, c.timing.videoDeadlineMs);
    if (!c.current(path)) return null;
    if (!videoOk || video.failure) return { why: `Server video: ${video.error ?? 'no picture in time'}` };
  }
  return { path };
}
