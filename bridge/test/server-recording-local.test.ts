// The server's recording indicator reaches the bridge's LOCAL operators too:
// the real bridge in server mode against a relay on loopback (bridge/server-mode/test/fake-relay.ts:
// real sockets, the relay's own frames sent by the test; the real relay's recording frames are
// tested in server/test/recording.test.ts). A local operator gets the relay's `recording` frame on
// join and on every change; when the relay link drops, and when server mode is stopped, it is told
// "not recorded" (nothing of the robot reaches the server then) and later joiners get nothing stale.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import type { WebSocket } from 'ws';
import { waitFor } from '../../common/wait.ts';
import type { RecordingMsg } from '../../protocol/messages.ts';
import { freePort } from '../../scripts/stack.ts';
import { relay } from '../server-mode/test/fake-relay.ts';
import { api, Operator, startRig, type Rig } from './harness.ts';

afterEach(() => Operator.closeAll());

const ON: RecordingMsg = { v: 1, type: 'recording', robot: 'sim', available: true, active: true, since: 1_765_000_000_000, by: 'Ana' };
const OFF: RecordingMsg = { ...ON, active: false, since: null, by: null, stopped: 'request' };
const CLEARED: RecordingMsg = { v: 1, type: 'recording', robot: 'sim', available: false, active: false, since: null, by: null };

/** The relay's end of the robot's link, answering its pings (the fake relay does not by itself). */
async function relaySide(connected: Promise<WebSocket>): Promise<WebSocket> {
  const ws = await connected;
  ws.on('ping', () => ws.pong());
  return ws;
}

const serverRecording = async (rig: Rig) =>
  ((await api(rig, 'GET', '/system_status')).body as { server: { recording: { active: boolean } } }).server.recording;

test('local operators see the relay\'s recording frame on join and on change; relay loss and stop clear it', { timeout: 60_000 }, async (t) => {
  const r = await relay(t, { issueCredential: true });
  r.state.refusing = false;
  const relayPort = new URL(r.url).port;
  const deadPort = await freePort(); // MediaMTX: nothing listens; publishing is not what is tested here
  let accepted = r.connected();
  const rig = await startRig({
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      camera: { device: 'sim', width: 320, height: 240, fps: 10 },
      server_mode: {
        enabled: true, server_url: `http://127.0.0.1:${relayPort}`, stream_key: 'sim', stream_password: 'test-stream-password-01',
        fallback_to_local: true, rtsp_url: `rtsp://127.0.0.1:${deadPort}`,
      },
    })),
  });
  t.after(() => rig.stop());
  let ws = await relaySide(accepted);

  // Recording began before this operator joined: it is told on join.
  ws.send(JSON.stringify(ON));
  await waitFor('the bridge to keep the relay\'s recording frame', () => serverRecording(rig), (s) => s.active, 10_000);
  const op = await Operator.connect(rig);
  assert.deepEqual(await op.next('recording'), ON, 'on join');

  // Each change is passed on as the relay said it.
  let from = op.mark();
  ws.send(JSON.stringify(OFF));
  assert.deepEqual(await op.next('recording', 5000, from), OFF, 'stopped');
  from = op.mark();
  ws.send(JSON.stringify(ON));
  assert.deepEqual(await op.next('recording', 5000, from), ON, 'started again');

  // The relay link drops: no stale REC.
  from = op.mark();
  accepted = r.connected();
  ws.terminate();
  assert.deepEqual(await op.next('recording', 5000, from), CLEARED, 'relay lost');
  ws = await relaySide(accepted); // the bridge is back by itself; this relay has said nothing about recording yet
  const late = await Operator.connect(rig);
  await late.next('telemetry'); // after welcome, lease and talk_state: a recording frame would come before it
  assert.equal(late.messages.some((m) => m.type === 'recording'), false, 'a joiner after the loss is told nothing stale');

  // Server mode stopped while recording: cleared as well.
  ws.send(JSON.stringify(ON));
  assert.deepEqual(await late.next('recording', 5000), ON);
  from = late.mark();
  assert.equal((await api(rig, 'POST', '/server/stop')).status, 200);
  assert.deepEqual(await late.next('recording', 5000, from), CLEARED, 'server mode stopped');
  assert.equal((await serverRecording(rig)).active, false);
});
