// The robot's stream password is sent to two places: the relay (server_url) and MediaMTX's RTSP
// listener (rtsp_url, or server_url's host on the default port). Whoever holds the operator token
// could otherwise point either at a host of their own and collect the stored password there; so a
// change of where it goes needs the password again in the same update, and the stored one never
// travels to the new host.

import { isRecord } from '../../protocol/check.ts';
import { rtspBase } from '../server-mode/endpoints.ts';
import type { Config, ConfigProblem } from './schema.ts';

type ServerMode = Config['server_mode'];

/** scheme://host:port of each place the password is sent (a path does not change where it goes). */
export function passwordHosts(c: ServerMode): [relay: string, rtsp: string] {
  const rtsp = new URL(rtspBase(c));
  return [new URL(c.server_url).origin, `${rtsp.protocol}//${rtsp.host.toLowerCase()}`];
}

/**
 * Refuses an update that sends a stored password to a host it was not sent to before, unless the
 * update carries the password itself (an empty one clears it). `patch` is the update as applied,
 * the mask (which means "keep the stored one") already taken out.
 */
export function hostChangeProblem(previous: Config, next: Config, patch: unknown): ConfigProblem | null {
  if (!previous.server_mode.stream_password) return null;
  const [relayBefore, rtspBefore] = passwordHosts(previous.server_mode);
  const [relayAfter, rtspAfter] = passwordHosts(next.server_mode);
  if (relayBefore === relayAfter && rtspBefore === rtspAfter) return null;
  const block = isRecord(patch) ? patch.server_mode : undefined;
  if (isRecord(block) && typeof block.stream_password === 'string') return null;
  const moved = relayBefore !== relayAfter ? 'server_url' : 'rtsp_url';
  return {
    field: 'server_mode.stream_password',
    error: `must be given again in the same request when the ${moved} host changes (scheme, host or port): the stored password is never sent to a new host`,
  };
}
