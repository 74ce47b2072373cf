// Service worker registration with workbox-window (bundled: robots often have no internet).
// Resolves `onReady` when a new version waits; `apply()` activates it and reloads once it controls
// the page. Loaded after first paint so it never weighs on start-up. A registration refused for
// an untrusted certificate shows what to do (trust-banner.ts).

import { Workbox } from 'workbox-window';
import { isCertificateError, showTrustBanner } from './trust-banner.ts';

export interface SwUpdate { apply(): void }

/** Resolves once the registration succeeded or its failure was handled. */
export async function registerServiceWorker(onReady: (u: SwUpdate) => void): Promise<void> {
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
  await wb.register().catch((err: unknown) => {
    // The app still works online. A certificate this device does not trust is the one failure
    // the operator can fix (trust the robot's CA), and browsers tell it only to the console.
    if (isCertificateError(err)) showTrustBanner();
  });
}
