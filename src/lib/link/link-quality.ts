// The link's quality as the operator sees it, in four steps, from the link's state and its last
// heartbeat round trip. Pure: the heads-up line draws it. The thresholds sit under the link's own
// "degraded" line (600 ms, ws-link.ts), so the bar drops before driving is halted.

import type { LinkState } from './link.ts';

export type LinkQuality = 'good' | 'fair' | 'poor' | 'none';

/** Round trips up to this are good (Wi-Fi, 4G). */
export const GOOD_RTT_MS = 150;
/** Up to this fair (a busy cell, a far server); above it poor. */
export const FAIR_RTT_MS = 400;

export function linkQuality(state: LinkState, rttMs: number | null): LinkQuality {
  if (state === 'degraded') return 'poor';
  if (state !== 'live') return 'none';
  if (rttMs === null || rttMs <= GOOD_RTT_MS) return 'good';
  return rttMs <= FAIR_RTT_MS ? 'fair' : 'poor';
}

/** Bars lit for each quality (of three). */
export const QUALITY_BARS: Record<LinkQuality, number> = { good: 3, fair: 2, poor: 1, none: 0 };
