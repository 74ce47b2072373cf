// Short link-state words for the header (the heads-up line has its own, longer ones).
import type { LinkState } from '../lib/link/link.ts';

export const LINK_LABEL_SHORT: Record<LinkState, string> = {
  idle: 'offline', connecting: 'connecting', live: 'live', degraded: 'weak', lost: 'lost', closed: 'off',
};

/** The header's mode indicator: the chosen mode and, in Auto, the path in use. */
export function modeLabel(mode: 'local' | 'server' | 'auto', path: 'local' | 'server', fallback: boolean): string {
  if (mode === 'local') return 'Local';
  if (mode === 'server') return 'Server';
  return fallback ? 'Auto · local (fallback)' : `Auto · ${path}`;
}
