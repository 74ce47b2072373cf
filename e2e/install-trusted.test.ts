// The app installs from the robot over HTTPS once the phone trusts the robot's CA, trusted the way
// a user trusts it: downloaded from GET /ca.crt and added to Chromium's NSS database (Debian's
// certutil) in a fresh HOME. No certificate switch in the trusted case (never
// --ignore-certificate-errors): without the CA in that database the page does not even load. Only
// accepted past the warning, the page loads but the service worker is refused, and the app shows
// how to trust the robot. The trusted CA's name constraints hold: a certificate it signed for
// another name is refused. With the CA trusted, the service worker registers and controls the page,
// the manifest is installable (CDP's own check), and with the bridge stopped a reload starts the
// app from the service worker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { buildAppIfStale, stopProc } from '../scripts/stack.ts';
import { startRig, type Rig } from '../bridge/test/harness.ts';
import { waitFor, within } from '../common/wait.ts';
import { CHROMIUM, nssHome } from './browser.ts';
import { CA_CERT, CA_KEY, issueServerCert, SERVER_CERT, SERVER_KEY } from '../bridge/http/ca.ts';

let rig: Rig;
let tmp: string;
const contexts: BrowserContext[] = [];

/** A HOME with an empty NSS database, as a fresh Chromium profile on Linux has; the CA added when given. */
const homeWith = (ca: Buffer | null): string => nssHome(tmp, ca);

/** A persistent profile (an incognito context is never installable), Chromium's own certificate checks. */
async function chromiumAt(home: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(join(home, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], env: { ...process.env, HOME: home },
    viewport: { width: 390, height: 844 },
  });
  contexts.push(context);
  return context;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'havatar-e2e-trust-'));
  await buildAppIfStale();
  rig = await startRig();
});

after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await rig?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('without the robot CA trusted, Chromium refuses the robot\'s HTTPS certificate', async () => {
  const context = await chromiumAt(homeWith(null));
  const page = await context.newPage();
  await assert.rejects(page.goto(`${rig.https}/`), /ERR_CERT_AUTHORITY_INVALID/);
  await context.close();
});

test('the certificate only accepted (as past the browser\'s warning), not trusted: the app says how to trust the robot', async () => {
  // ignoreHTTPSErrors stands for the operator typing past the warning; the service worker is
  // still refused, which the page learns only as a rejected registration.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], env: { ...process.env, HOME: homeWith(null) } });
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(m.text()));
    await page.goto(`${rig.https}/`);
    await page.locator('hv-trust-banner [role="alert"]').waitFor({ timeout: 15_000 });
    assert.ok(consoleLines.some((l) => /SSL certificate error occurred when fetching the script/.test(l)), consoleLines.join('\n'));
    assert.equal(await page.locator('hv-trust-banner a').getAttribute('href'), `${rig.https}/ca.crt`);
    assert.equal(await page.evaluate('navigator.serviceWorker.getRegistration().then((r) => r?.active ?? null)'), null);
  } finally {
    await browser.close();
  }
});

/** An HTTPS server on loopback with a certificate the robot's CA signed for `names`. */
async function signedServer(dns: string[]): Promise<Server> {
  const dir = mkdtempSync(join(tmp, 'signed-'));
  for (const f of [CA_CERT, CA_KEY]) copyFileSync(join(rig.dataDir, 'tls', f), join(dir, f));
  await issueServerCert(dir, { dns, ips: [] });
  const server = createServer({ cert: readFileSync(join(dir, SERVER_CERT)), key: readFileSync(join(dir, SERVER_KEY)) }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('the trusted CA vouches only for the robot: a certificate it signed for another name is refused', async () => {
  const ca = Buffer.from(await (await fetch(`${rig.http}/ca.crt`)).arrayBuffer());
  const own = await signedServer(['localhost']);
  const other = await signedServer(['bank.example']);
  // The resolver rule only points bank.example at loopback; certificates are checked as usual.
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--host-resolver-rules=MAP bank.example 127.0.0.1'], env: { ...process.env, HOME: homeWith(ca) },
  });
  try {
    const page = await browser.newPage();
    await page.goto(`https://localhost:${(own.address() as AddressInfo).port}/`);
    assert.equal(await page.textContent('body'), 'ok');
    await assert.rejects(page.goto(`https://bank.example:${(other.address() as AddressInfo).port}/`), /ERR_CERT_INVALID/);
  } finally {
    await browser.close();
    own.close();
    other.close();
  }
});

test('with the CA from /ca.crt trusted: the service worker controls the page, the app is installable and starts offline', async () => {
  const res = await fetch(`${rig.http}/ca.crt`);
  assert.equal(res.status, 200, 'served without a token');
  assert.equal(res.headers.get('content-type'), 'application/x-x509-ca-cert');
  const ca = Buffer.from(await res.arrayBuffer());
  const context = await chromiumAt(homeWith(ca));
  const page = await context.newPage();
  await page.goto(`${rig.https}/`);
  assert.equal(await page.evaluate('window.isSecureContext'), true);
  // The first load installs the worker; it controls pages from the next load on (no clients.claim).
  await within('a service worker to register', page.evaluate('navigator.serviceWorker.ready.then(() => true)'), 15_000);
  await waitFor('the service worker to activate', () => page.evaluate('navigator.serviceWorker.getRegistration().then((r) => r?.active?.state ?? null)'), (s) => s === 'activated', 10_000);
  await page.reload();
  await waitFor('the service worker to control the page', () => page.evaluate('navigator.serviceWorker.controller?.state ?? null'), (s) => s === 'activated', 10_000);

  const cdp = await context.newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest') as { url: string; errors: unknown[] };
  assert.match(manifest.url, /\/manifest\.webmanifest$/);
  assert.deepEqual(manifest.errors, []);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, [], 'Chromium finds the app installable');

  // The installed app's link to the CA (for the next phone) downloads it: the worker leaves it to the network.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.goto(`${rig.https}/ca.crt`).catch(() => null)]);
  assert.deepEqual(readFileSync((await download.path())!), ca);
  await page.goto(`${rig.https}/`);

  await stopProc(rig.bridge, 3000);
  await assert.rejects(fetch(`${rig.http}/health`), 'the robot is down');
  await page.reload();
  await page.locator('havatar-app').waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate('navigator.serviceWorker.controller?.state ?? null'), 'activated', 'the app started from the service worker');
});
