// Entry point: take a `#token=` (the bridge's operator token) and an invite (`?invite=…&server=…`
// or `#invite=…`) out of the address bar, save what they give into settings, start the shell, and
// register the service worker after the first paint. An invite is redeemed before the shell
// starts, so the first connection already uses the session (and Auto mode).

import { appServices } from './app/services.ts';
import { redeemInviteLink } from './app/invite-flow.ts';
import './app/havatar-app.ts';
import { takeInviteFromLocation } from './lib/storage/invite-from-url.ts';
import { takeTokenFromLocation } from './lib/storage/token-from-url.ts';

const token = takeTokenFromLocation();
const invite = takeInviteFromLocation();
if (token || invite) {
  const services = appServices();
  // Loaded first so what the link brings is merged into what was saved, not over defaults.
  await services.settings.load();
  if (token) await services.settings.save({ token });
  // A server other than the one in use is asked about first (app/invite-flow.ts).
  if (invite) await redeemInviteLink(services, invite);
}

const shell = document.createElement('havatar-app');
document.body.append(shell);

if (import.meta.env?.PROD) {
  const register = () =>
    void import('./app/sw-update.ts').then(({ registerServiceWorker }) => registerServiceWorker((u) => shell.updateReady(u)));
  // The awaits above can outlast the load event (a link with #token= waits for IndexedDB): then
  // a 'load' listener would never fire and the app would never become installable or offline.
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
