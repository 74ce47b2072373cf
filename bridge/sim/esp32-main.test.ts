// The simulator as its own process, the way npm start and the end-to-end tests run it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../common/wait.ts';

const MAIN = fileURLToPath(new URL('./esp32-main.ts', import.meta.url));
const DRIVER = fileURLToPath(new URL('./fixtures/drive.ts', import.meta.url));

const children: ChildProcess[] = [];
afterEach(async () => {
  // SIGTERM first so the simulator reaps its own socat; SIGKILL the group if it does not go.
  await Promise.all(children.splice(0).map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try { process.kill(-c.pid!, 'SIGTERM'); } catch { return; }
    const hard = setTimeout(() => { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }, 1000);
    await exited;
    clearTimeout(hard);
  }));
});

function start(file: string, args: string[]): { child: ChildProcess; line: (what: string, pred: (o: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr!.resume();
  const lines = createInterface({ input: child.stdout! });
  const seen: Record<string, unknown>[] = [];
  lines.on('line', (l) => {
    try { seen.push(JSON.parse(l) as Record<string, unknown>); } catch { /* not ours */ }
  });
  const name = basename(file);
  /** The first JSON line matching `pred` (seen before or after the call); fails at once if the process exits first. */
  const line = async (what: string, pred: (o: Record<string, unknown>) => boolean) => {
    const got = await waitFor(`${what} from ${name}`, () => ({ match: seen.find(pred), exited: child.exitCode ?? child.signalCode, last: seen.at(-1) }),
      (s) => s.match !== undefined || s.exited !== null, { timeoutMs: 8000 });
    if (!got.match) throw new Error(`${name} exited (${got.exited}) before ${what}; its last line: ${JSON.stringify(got.last)}`);
    return got.match;
  };
  return { child, line };
}

interface SimState { left: number; right: number; watchdogTripped: boolean; stopped: boolean; batteryMv: number; lastMotorFrames: unknown[]; framesReceived: number }
const getState = async (url: string) => (await (await fetch(`${url}/state`)).json()) as SimState;

describe('esp32-main (the simulator process)', () => {
  it('prints ready, serves /state, and stops within its watchdog when the bridge is SIGKILLed', async () => {
    const sim = start(MAIN, []);
    const ready = await sim.line('the ready line', (o) => o.event === 'ready');
    const url = ready.controlUrl as string;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(existsSync(ready.serialPort as string));
    const idle = await getState(url);
    assert.equal(idle.stopped, true);

    const bridge = start(DRIVER, [ready.serialPort as string]);
    await bridge.line('the driving line', (o) => o.event === 'driving');
    const driving = await waitFor('the simulated wheels at 204', () => getState(url), (st) => st.left === 204, { timeoutMs: 1000 });
    assert.ok(driving.lastMotorFrames.length > 0);

    const killedAt = performance.now();
    process.kill(-bridge.child.pid!, 'SIGKILL');
    const s = await waitFor('the simulated ESP32 to stop by its watchdog', () => getState(url), (st) => st.stopped && st.watchdogTripped, { timeoutMs: 1500 });
    const ms = performance.now() - killedAt;
    // The watchdog is 500 ms after the last refresh, which came up to 100 ms before the kill.
    assert.ok(ms <= 700, `stopped ${Math.round(ms)} ms after the bridge died`);
    assert.equal(s.left, 0);
    assert.equal(s.right, 0);
  });

  it('sets the battery through POST /battery and refuses bad bodies without changing it', async () => {
    const sim = start(MAIN, []);
    const url = (await sim.line('the ready line', (o) => o.event === 'ready')).controlUrl as string;
    const post = (body: string) => fetch(`${url}/battery`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const okRes = await post(JSON.stringify({ mv: 7000 }));
    assert.equal(okRes.status, 200);
    const after = await getState(url);
    assert.ok(Math.abs(after.batteryMv - 7000) < 50, `battery ${after.batteryMv}`);
    for (const bad of ['{"mv":"7000"}', '{"mv":99999}', 'not json', '{}', 'null']) {
      assert.equal((await post(bad)).status, 400, bad);
    }
    assert.ok(Math.abs((await getState(url)).batteryMv - after.batteryMv) < 20);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
  });

  it('stops on SIGTERM and removes its pty links', async () => {
    const sim = start(MAIN, []);
    const ready = await sim.line('the ready line', (o) => o.event === 'ready');
    const exited = new Promise<number | null>((r) => sim.child.once('exit', (code) => r(code)));
    process.kill(sim.child.pid!, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(ready.serialPort as string), false);
  });
});
