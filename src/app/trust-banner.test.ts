// An untrusted robot certificate makes the service worker registration fail, which browsers report
// only in the console: the app must say what to do instead. The registration is stubbed to fail
// the way Chromium fails it (a SecurityError naming the SSL certificate), and any other failure
// (plain http, a missing script) must not raise the banner.

import { expect } from '@open-wc/testing';
import { registerServiceWorker } from './sw-update.ts';
import { caCertUrl, isCertificateError } from './trust-banner.ts';

const CERT_ERROR = 'Failed to register a ServiceWorker for scope (\'https://192.168.1.23:5443/\') with script (\'https://192.168.1.23:5443/sw.js\'): An SSL certificate error occurred when fetching the script.';

const container = navigator.serviceWorker;
let attempts = 0;

function failRegistrationWith(err: Error): void {
  Object.defineProperty(container, 'register', { configurable: true, value: () => { attempts++; return Promise.reject(err); } });
}

afterEach(() => {
  delete (container as unknown as Record<string, unknown>).register;
  document.querySelectorAll('hv-trust-banner').forEach((b) => b.remove());
  attempts = 0;
});

it('a registration refused for the certificate shows how to trust the robot, with the link to /ca.crt', async () => {
  failRegistrationWith(new DOMException(CERT_ERROR, 'SecurityError'));
  await registerServiceWorker(() => {});
  const banner = document.querySelector('hv-trust-banner');
  if (!banner) throw new Error('no trust banner after the failed registration');
  await banner.updateComplete;
  const root = banner.shadowRoot!;
  const text = root.textContent ?? '';
  expect(text).to.match(/does not trust the robot's certificate/);
  expect(text).to.contain('docs/SETUP_ROBOT.md');
  const link = root.querySelector('a')!;
  expect(link.href).to.equal(`${location.origin}/ca.crt`);
  expect(link.href).to.equal(caCertUrl());
  expect(root.querySelector('[role="alert"]')).to.exist;
  root.querySelector('button')!.click();
  await banner.updateComplete;
  expect(root.querySelector('[role="alert"]')).to.equal(null, 'Later hides it');
});

it('other registration failures stay quiet (the app works online without a service worker)', async () => {
  failRegistrationWith(new TypeError('Failed to register a ServiceWorker: A bad HTTP response code (404) was received when fetching the script.'));
  await registerServiceWorker(() => {});
  expect(attempts).to.equal(1);
  expect(document.querySelector('hv-trust-banner')).to.equal(null);
  expect(isCertificateError(new DOMException(CERT_ERROR, 'SecurityError'))).to.equal(true);
});
