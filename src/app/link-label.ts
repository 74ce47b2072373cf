// Short link-state words for the header (the heads-up line has its own, longer ones).
import type { LinkState } from '../lib/link/link.ts';

export const LINK_LABEL_SHORT: Record<LinkState, string> = {
  idle: 'offline', connecting: 'connecting', live: 'live', degraded: 'weak', lost: 'lost', closed: 'off',
};
