// Keeps the screen on while driving. The browser drops the lock whenever the page is hidden, so
// sync() is called again on visibility changes; unsupported browsers simply do nothing.

export class WakeLockHolder {
  private sentinel: WakeLockSentinel | null = null;
  private pending = false;
  wanted = false;

  async sync(want: boolean): Promise<void> {
    this.wanted = want;
    const wl = typeof navigator !== 'undefined' ? navigator.wakeLock : undefined;
    if (!wl) return;
    if (want && !this.sentinel && !this.pending && document.visibilityState === 'visible') {
      this.pending = true;
      try {
        const s = await wl.request('screen');
        // Re-checked after the await: driving may have ended meanwhile.
        if (!this.wanted) await s.release();
        else {
          this.sentinel = s;
          s.addEventListener('release', () => {
            if (this.sentinel === s) this.sentinel = null;
          });
        }
      } catch {
        // Denied (e.g. battery saver): the screen may dim; nothing else depends on it.
      } finally {
        this.pending = false;
      }
    } else if (!want && this.sentinel) {
      const s = this.sentinel;
      this.sentinel = null;
      await s.release().catch(() => {});
    }
  }

  get held(): boolean {
    return this.sentinel !== null;
  }
}
