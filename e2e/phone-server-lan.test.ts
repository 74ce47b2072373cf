// Server mode from a phone on the LAN, as `npm start -- --lan` offers it: the launcher runs in a
// network namespace of its own ("server", 10.88.0.2, so the LAN address it finds and advertises is
// the test's, never this machine's), and the "phone" is Chromium in a second namespace (10.88.0.1)
// joined to it by a veth pair: it reaches nothing but that address. The phone trusts the robot's
// CA the way a user does (its NSS database; no certificate switch) and opens the server-mode link
// the launcher printed. Through the HTTPS front, the relay and MediaMTX it plays the robot over
// WHEP (WebRTC media to the advertised LAN address), talks over WHIP (the robot's speaker plays
// it) and drives (the simulated ESP32's motors turn, and stop when the stick is let go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor, within } from '../common/wait.ts';
import { ROOT } from '../scripts/stack.ts';
import { confirmRelay, onServerVideo, screen } from './app-page.ts';
import { launchChromium, nssHome } from './browser.ts';
import { pushStick, talkToRobot, toneFile } from './operator.ts';
import { StackLog } from './stack-log.ts';
import { createTestLan, getIn, testLanUnavailable } from './test-lan.ts';

const stackLog = new StackLog();

interface Printed { phoneLink: string; desktopInvite: string; simState: string }

/** `npm start -- --lan` in the server namespace; resolves with the links it printed. */
function startLan(ns: string, dataDir: string) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(ROOT, 'scripts/start.ts'), '--lan', '--verbose'], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HAVATAR_PORTS: 'auto', HAVATAR_DATA_DIR: dataDir },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let phoneLink = '';
  let desktopInvite = '';
  const printed = new Promise<Printed>((resolve, reject) => {
    const onLine = (line: string) => {
      stackLog.log('start', line);
      phoneLink ||= /^\s*Phone on this network, server mode:\s+(\S+)/.exec(line)?.[1] ?? '';
      desktopInvite ||= /^\s*Open:\s+\S+[?&]invite=([^&#\s]+)/.exec(line)?.[1] ?? '';
      const sim = /^\s*Simulator state:\s+(\S+)/.exec(line)?.[1];
      if (sim) resolve({ phoneLink, desktopInvite, simState: sim });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => reject(new Error(`npm start -- --lan exited (${code}) before it printed its links`)));
  });
  const stop = async () => {
    try { process.kill(-child.pid!, 'SIGINT'); } catch { /* gone */ }
    await within('npm start to stop', exited, 20_000);
  };
  return { printed, stop };
}

test('a phone on the LAN plays, talks and drives in server mode through npm start -- --lan', { skip: testLanUnavailable() ?? false, timeout: 150_000 }, stackLog.dumpOnFailure(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-e2e-lan-'));
  const lan = createTestLan();
  const stack = startLan(lan.server.ns, dataDir);
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const began = Date.now();
  try {
    const { phoneLink, desktopInvite, simState } = await within('npm start -- --lan to print its links', stack.printed, 90_000);
    const started = Date.now();
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what} ${Date.now() - started} ms`);
    const link = new URL(phoneLink);
    const front = new URL(link.searchParams.get('server')!);
    assert.equal(link.hostname, lan.server.address, 'the phone link is on the address the launcher found on its LAN');
    assert.deepEqual([front.protocol, front.hostname], ['https:', lan.server.address], 'server mode is offered over https on that address');

    // The user trusts the robot once: its CA (what GET /ca.crt serves) in the phone's NSS database.
    const home = nssHome(dataDir, readFileSync(join(dataDir, 'tls', 'ca.pem')));
    browser = await launchChromium({ netns: lan.phone.ns, home, nice: 10, fakeAudioFile: toneFile(dataDir, 660, 30) });
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await page.goto(phoneLink);
    assert.equal(await page.evaluate('window.isSecureContext'), true, 'an https page: the microphone may be used');
    await confirmRelay(page, front.origin);
    mark('app open');

    // Video over WHEP from the front, frames advancing.
    await onServerVideo(page, 'webrtc', 30_000);
    const first = await waitFor('decoded frames', () => screen(page), (s) => s.kind === 'video' && s.frames > 0, 10_000);
    await waitFor('frames advancing', () => screen(page), (s) => s.frames >= first.frames + 15, 10_000);
    const requested = (await page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")) as string[];
    assert.ok(requested.some((u) => u.startsWith(`${front.origin}/robots/sim/whep`)), `WHEP went to the front on the LAN address: ${requested.join(' ')}`);
    mark('video');

    await page.getByRole('button', { name: 'Take control' }).click({ timeout: 10_000 });
    await page.getByText('you drive').waitFor({ timeout: 10_000 });

    // Talk over WHIP: the robot's speaker plays it.
    await talkToRobot(page, join(dataDir, 'speaker'), 10_000);
    mark('talk');

    await page.locator('hv-drive-view [data-speaker="playing"]').waitFor({ state: 'detached', timeout: 10_000 });

    // Drive through the relay; the motors stop when the stick is let go. On a starved machine the
    // app may see its link degrade and stop the drive (its safety rule), saying "Release the stick
    // to drive again": then the test does what that says, as an operator would, at most twice.
    const motors = async () => JSON.parse(await getIn(lan.server.ns, simState)) as { left: number; right: number };
    const halted = page.getByRole('alert').filter({ hasText: 'Release the stick to drive again' });
    for (let attempt = 1; ; attempt++) {
      await pushStick(page);
      const driving = await waitFor('the robot driving', motors, (s) => s.left > 0 && s.right > 0, { timeoutMs: 8000, everyMs: 100 }).catch((err: Error) => err);
      if (!(driving instanceof Error)) break;
      if (attempt === 3 || !(await halted.count())) throw driving;
      console.log(`# drive attempt ${attempt}: the app stopped it (${await halted.first().innerText()}); released and pushed again`);
      await page.mouse.up();
    }
    await page.mouse.up();
    await waitFor('the robot stopped', motors, (s) => s.left === 0 && s.right === 0, { timeoutMs: 3000, everyMs: 100 });
    mark('drive');

    // The HLS fallback is on the front too: a session (the launcher's other, unused invite) from
    // the phone's page gets its HLS URL there, and MediaMTX's playlist comes through it.
    const hls = (await page.evaluate(`(async () => {
      const s = await (await fetch(${JSON.stringify(`${front.origin}/api/session`)}, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ invite: ${JSON.stringify(desktopInvite)} }) })).json();
      const r = await fetch(s.hlsUrl + '?token=' + encodeURIComponent(s.token));
      return { hlsUrl: s.hlsUrl, status: r.status, playlist: (await r.text()).slice(0, 7) };
    })()`)) as { hlsUrl: string; status: number; playlist: string };
    assert.deepEqual(hls, { hlsUrl: `${front.origin}/hls/robots/sim/index.m3u8`, status: 200, playlist: '#EXTM3U' });
    mark('hls');
    console.log(`# npm start -- --lan ready in ${started - began} ms; then ${marks.join(', ')}`);
  } finally {
    await browser?.close();
    await stack.stop().catch((err: unknown) => console.log(`# ${String(err)}`));
    lan.remove();
    rmSync(dataDir, { recursive: true, force: true });
  }
}));
