// Service worker registration with workbox-window (bundled: robots often have no internet).
// Resolves `onReady` when a new version waits; `apply()` activates it and reloads once it controls
// the page. Loaded after first paint so it never weighs on start-up.

import { Workbox } from 'workbox-window';

export interface SwUpdate { apply(): void }

export function registerServiceWorker(onReady: (u: SwUpdate) => void): void {
  if (!('serviceWorker' in navigator)) return;
  const wb = new Workbox('/sw.js', { scope: '/' });
  wb.addEventListener('waiting', () => {
    onReady({
      apply: () => {
        wb.addEventListener('controlling', () => location.reload());
        wb.messageSkipWaiting();
      },
    });
  });
  void wb.register().catch(() => {
    // No service worker (e.g. plain http on a LAN address): the app still works online.
  });
}
