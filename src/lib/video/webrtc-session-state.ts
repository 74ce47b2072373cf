// The WHEP/WHIP session's states and every transition between them, listed once (RtcSession in
// webrtc-session.ts moves only along these; docs/ARCHITECTURE.md draws them).

import type { Transitions } from '../../../common/state-machine.ts';

export type RtcState = 'idle' | 'offering' | 'connecting' | 'connected' | 'restarting' | 'failed' | 'closed';

/** Every allowed transition, listed once. */
export const RTC_TRANSITIONS: Transitions<RtcState> = {
  idle: ['offering', 'closed'],
  offering: ['connecting', 'restarting', 'failed', 'closed'],
  connecting: ['connected', 'restarting', 'failed', 'closed'],
  connected: ['restarting', 'failed', 'closed'],
  restarting: ['offering', 'closed'],
  failed: ['offering', 'closed'],
  closed: ['offering'],
};

/**
 * Why a session failed, so owners can choose: unreachable (no HTTP answer: server down),
 * not_found (404: nothing published), refused (401/403), bad_request (400/other HTTP), ice (answer
 * received but no media path within the deadline: UDP blocked), dropped (was connected, then the
 * peer connection failed or the owner saw the media stall).
 */
export type RtcFailure = 'unreachable' | 'not_found' | 'refused' | 'bad_request' | 'ice' | 'dropped';
