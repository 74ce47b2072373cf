// Faults the robot must survive without losing what the operator saved: a full disk during a
// config write (a real tmpfs filled to the last byte), and the bridge killed mid-drive (the ESP32
// stops on its own; the config on disk is intact when it comes back).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../common/wait.ts';
import { Operator, api, drive, startRig, type Rig } from './harness.ts';

let mountPoint = '';
let skipReason: string | false = false;

before(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'havatar-fulldisk-'));
  // A small real filesystem we can fill: tmpfs needs root (CI and this machine run as root).
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (r.status !== 0) skipReason = `cannot mount a tmpfs to fill (${(r.stderr || r.error?.message || '').trim()}): run as root to test a full disk`;
});

after(() => {
  if (!skipReason) spawnSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  // dd stops with "No space left on device": exactly what we want.
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
  return filler;
}

test('a config write on a full disk answers 507, leaves the saved config intact, and works again once space is freed', async (t) => {
  if (skipReason) return t.skip(skipReason);
  let rig: Rig | undefined;
  try {
    rig = await startRig({ dataDir: mountPoint });
    const saved = await api(rig, 'POST', '/config', { safety: { deadman_ms: 300 }, robot: { name: 'before-full' } });
    assert.equal(saved.status, 200);
    const onDisk = readFileSync(join(mountPoint, 'avatar_tank_config.json'), 'utf8');

    const filler = fillDisk(mountPoint);
    const refused = await api(rig, 'POST', '/config', { robot: { name: 'x'.repeat(60) }, tts: { rate: 200 } });
    assert.equal(refused.status, 507, JSON.stringify(refused.body));
    assert.match(String((refused.body as { msg: string }).msg), /disk is full; nothing changed/);
    assert.equal(readFileSync(join(mountPoint, 'avatar_tank_config.json'), 'utf8'), onDisk, 'the file on disk is unchanged');
    const live = (await api(rig, 'GET', '/config')).body as { config: { robot: { name: string } } };
    assert.equal(live.config.robot.name, 'before-full', 'the running config is unchanged too');

    rmSync(filler);
    const again = await api(rig, 'POST', '/config', { robot: { name: 'after-full' } });
    assert.equal(again.status, 200);
    assert.match(readFileSync(join(mountPoint, 'avatar_tank_config.json'), 'utf8'), /after-full/);
  } finally {
    await rig?.stop().catch(() => {});
  }
});

test('a bridge killed while driving: the ESP32 stops by itself, and the restarted bridge has the saved config', async () => {
  const rig = await startRig();
  try {
    const saved = await api(rig, 'POST', '/config', { robot: { name: 'survivor' } });
    assert.equal(saved.status, 200);
    // Drive over the WebSocket at 20 Hz, as the app does, so only the ESP32 can stop the robot
    // once the bridge is gone (an HTTP motor command would time out by itself).
    const op = await Operator.connect(rig);
    op.send({ v: 1, type: 'lease', action: 'take' });
    await op.next((m) => m.type === 'lease' && m.you === true);
    const timer = setInterval(() => { try { op.send(drive(0.8, 0.8)); } catch { /* socket gone */ } }, 50);
    try {
      await waitFor('the robot moving', () => rig.simState(), (s) => s.left > 100, 3000);
      process.kill(-rig.bridge.child.pid!, 'SIGKILL');
      const killedAt = Date.now();
      await waitFor('the ESP32 watchdog stopping the motors', () => rig.simState(), (s) => s.left === 0 && s.right === 0, 1500);
      const state = (await rig.simState()) as unknown as { watchdogTripped: boolean };
      assert.equal(state.watchdogTripped, true, 'the board stopped on its own watchdog');
      console.log(`# motors stopped ${Date.now() - killedAt} ms after the bridge was killed`);
    } finally {
      clearInterval(timer);
      op.ws.terminate();
    }
    await rig.restartBridge();
    const cfg = (await api(rig, 'GET', '/config')).body as { config: { robot: { name: string } } };
    assert.equal(cfg.config.robot.name, 'survivor');
    // Nothing half-written is left behind.
    assert.equal(execFileSync('ls', ['-a', rig.dataDir], { encoding: 'utf8' }).includes('.tmp'), false);
  } finally {
    await rig.stop();
  }
});


test('the serial device vanishing while driving stops the robot and tells the operator why (serial_lost)', async () => {
  const rig = await startRig();
  try {
    const op = await Operator.connect(rig);
    op.send({ v: 1, type: 'lease', action: 'take' });
    await op.next((m) => m.type === 'lease' && m.you === true);
    const timer = setInterval(() => { try { op.send(drive(0.5, 0.5)); } catch { /* closed */ } }, 50);
    try {
      await waitFor('the robot moving', () => rig.simState(), (s) => s.left > 50, 3000);
      const from = op.messages.length;
      // The simulator and its socat go: the pty disappears, as a USB cable pulled out would.
      process.kill(-rig.sim.child.pid!, 'SIGKILL');
      const stopped = await op.next((m) => m.type === 'stopped' && m.reason === 'serial_lost', 3000, from);
      assert.equal(stopped.reason, 'serial_lost');
      await rig.sim.exited;
    } finally {
      clearInterval(timer);
      op.ws.terminate();
    }
  } finally {
    await rig.stop();
  }
});
