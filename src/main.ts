// Entry point: take a `#token=` out of the address bar (saved into settings), start the shell,
// and register the service worker after the first paint.

import { appServices } from './app/services.ts';
import './app/havatar-app.ts';
import { takeTokenFromLocation } from './lib/storage/token-from-url.ts';

const token = takeTokenFromLocation();
if (token) {
  const { settings } = appServices();
  // Saved before the shell starts the link, so the first connection already uses it; loaded
  // first so the token is merged into what was saved, not over defaults.
  await settings.load();
  await settings.save({ token });
}

const shell = document.createElement('havatar-app');
document.body.append(shell);

if (import.meta.env?.PROD) {
  window.addEventListener('load', () => {
    void import('./app/sw-update.ts').then(({ registerServiceWorker }) => registerServiceWorker((u) => shell.updateReady(u)));
  });
}
