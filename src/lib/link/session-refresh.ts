// Keeps the server session alive for the path selector: halfway to expiry (at least 5 s away),
// over the relay socket when one is live (the answer comes back as a `session` frame), otherwise
// with POST /api/session/refresh — so a long fallback does not let the session lapse before the
// server returns. Its one timer lives in the selector's timer set, which stop() clears.

import type { Settings } from '../storage/settings.ts';
import { hasServerSession } from '../storage/settings.ts';
import type { Timers } from '../../../common/state-machine.ts';
import { isUsable, type LinkState } from './link.ts';

export interface SessionRefreshDeps {
  settings: () => Settings;
  /** Saves a refreshed session token (settings); the links read it at their next connect. */
  saveSession?: (token: string, expiresAt: number) => Promise<void>;
  /** POST /api/session/refresh with the current token. */
  refreshHttp?: () => Promise<{ token: string; expiresAt: number }>;
  log?: (line: string) => void;
}

/** The relay link in use, if any: refreshes go over it when it is live. */
interface RefreshLink {
  readonly status: { readonly state: LinkState };
  refresh(): boolean;
}

export class SessionRefresh {
  constructor(
    private readonly deps: SessionRefreshDeps,
    private readonly timers: Timers,
    /** The selector's run generation: an answer from an older run is dropped. */
    private readonly gen: () => number,
    private readonly link: () => RefreshLink | null,
  ) {}

  schedule(): void {
    this.timers.clear('refresh');
    const s = this.deps.settings();
    if (!hasServerSession(s) || !this.deps.refreshHttp) return;
    const delay = Math.max(5000, (s.sessionExpiresAt - Date.now()) / 2);
    const gen = this.gen();
    this.timers.after(Math.min(delay, 2 ** 31 - 1), () => {
      if (gen === this.gen()) void this.refreshNow(gen);
    }, 'refresh');
  }

  /** The relay sent a fresh session token. */
  async onSession(token: string, expiresAt: number): Promise<void> {
    const gen = this.gen();
    await this.deps.saveSession?.(token, expiresAt);
    this.deps.log?.(`Server session refreshed (valid until ${new Date(expiresAt).toLocaleTimeString()}).`);
    if (gen === this.gen()) this.schedule();
  }

  private async refreshNow(gen: number): Promise<void> {
    const link = this.link();
    if (link && isUsable(link.status.state) && link.refresh()) {
      this.deps.log?.('Refreshing the server session over the relay socket.');
    } else if (this.deps.refreshHttp) {
      try {
        const next = await this.deps.refreshHttp();
        if (gen !== this.gen()) return;
        await this.deps.saveSession?.(next.token, next.expiresAt);
        this.deps.log?.('Server session refreshed.');
      } catch (e) {
        this.deps.log?.(`Server session refresh failed: ${(e as Error).message}`);
      }
    }
    if (gen === this.gen()) this.schedule();
  }
}
