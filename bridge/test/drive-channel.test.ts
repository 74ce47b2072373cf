// Server mode through a stalled WebSocket: the driver's socket to the relay is held the way TCP
// holds it while it waits out a retransmission timeout (bridge/test/stall-proxy.ts, 400 ms, longer
// than the 250 ms deadman). With the drive datagram channel (bridge/server-mode/drive-channel.ts
// toward the relay, the driver's own toward the relay) the commands keep arriving by the channel:
// the wheels keep turning and the deadman never fires. The same stalls without the channel stop
// the robot, which is what makes the first result mean something. Real processes on loopback:
// the relay, MediaMTX, the simulator and the bridge in server mode.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import { DriveChannel, warmWebRtc } from '../server-mode/drive-channel.ts';
import {
  Peer, mediamtxPorts, registerRobot, sessionFor, startMediamtx, startRelay, stopAll, type RelayProc,
} from '../../server/test/helpers.ts';
import { startRig, type Rig } from './harness.ts';
import { StallProxy } from './stall-proxy.ts';

/** The app's pace (src/lib/link/drive-sender.ts). */
const PACE_MS = 40;
const STALL_MS = 400;
const log = createLogger('test-drive-channel');

let relay: RelayProc;
let rig: Rig;
const proxies: StallProxy[] = [];
const channels: DriveChannel[] = [];
let seq = 0;

before(async () => {
  // This process's first WebRTC peer blocks its event loop; paid before any socket must answer pings.
  await warmWebRtc();
  relay = await startRelay({ env: { HAVATAR_LOG_LEVEL: 'warn' } });
  const password = await registerRobot(relay.url, 'sim');
  const mtxPortsFree = await mediamtxPorts();
  await startMediamtx(`${relay.url}/mediamtx/auth`, mtxPortsFree);
  rig = await startRig({
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      // A small picture: the publisher is not under test, and the machine is shared.
      camera: { device: 'sim', width: 320, height: 240, fps: 10 },
      safety: { deadman_ms: 250 },
      server_mode: {
        enabled: true, server_url: relay.url, stream_key: 'sim', stream_password: password,
        fallback_to_local: false, rtsp_url: `rtsp://127.0.0.1:${mtxPortsFree.rtsp}`,
        video_width: 320, video_height: 240, video_fps: 10, video_kbps: 200,
      },
    })),
  });
  await waitFor('the robot\'s drive channel to the relay', () => rig.bridgeLog.some((l) => l.includes('"drive channel open"')), undefined, 30_000)
    .catch((err: Error) => { throw new Error(`${err.message}\n${rig.bridgeLog.filter((l) => /drive|relay/.test(l)).slice(-15).join('\n')}`); });
});

after(async () => {
  for (const c of channels) c.close();
  for (const p of proxies) await p.close();
  await rig?.stop();
  await stopAll();
});

/** A driver whose socket to the relay goes through a stall proxy; with `channel`, it also offers a drive channel. */
async function driver(id: string, channel: boolean): Promise<{ peer: Peer; proxy: StallProxy; dc: DriveChannel | null }> {
  const proxy = await StallProxy.start({ targetPort: relay.port });
  proxies.push(proxy);
  const peer = await Peer.open(`ws://127.0.0.1:${proxy.port}/ws/client/${id}?token=${await sessionFor(relay.url, 'sim', 'driver')}`);
  await peer.next((f) => f.type === 'robot' && f.online === true, 10_000);
  await peer.next((f) => f.type === 'lease' && f.driver === null, 10_000); // the previous test's driver has gone
  peer.send({ v: 1, type: 'lease', action: 'take' });
  await peer.next((f) => f.type === 'lease' && f.you === true, 5000);
  if (!channel) return { peer, proxy, dc: null };
  const dc = await DriveChannel.offer({
    relayHost: '127.0.0.1', log, onMessage: () => {},
    sendOffer: (sdp) => { peer.send({ v: 1, type: 'rtc_offer', sdp }); return true; },
  });
  channels.push(dc);
  const answer = await peer.next((f) => f.type === 'rtc_answer', 10_000);
  await dc.answer(answer.sdp as string);
  await waitFor('the driver\'s drive channel', () => dc.isOpen, undefined, 10_000);
  return { peer, proxy, dc };
}

/**
 * Holds the stick 3.2 s at the app's pace, each command on the socket and (if open) the channel,
 * while the socket stalls STALL_MS twice. Returns the deadman stops the driver was told of and the
 * share of commands the robot applied.
 */
async function driveThroughStalls(d: { peer: Peer; proxy: StallProxy; dc: DriveChannel | null }): Promise<{ deadmanStops: number; applied: number; sent: number }> {
  const from = d.peer.frames.length;
  const sent: number[] = [];
  const start = Date.now();
  const stallsAt = [800, 2000];
  while (Date.now() - start < 3200) {
    if (stallsAt.length && Date.now() - start >= stallsAt[0]!) { stallsAt.shift(); d.proxy.stall(STALL_MS); }
    const cmd = { v: 1, type: 'drive', seq: ++seq, left: 0.5, right: 0.5, ttl: 300, t: Date.now() };
    d.peer.send(cmd);
    d.dc?.send(JSON.stringify(cmd));
    sent.push(cmd.seq);
    // The pace between commands is the stimulus (the app's drive timer).
    await sleep(PACE_MS);
  }
  const last = sent.at(-1)!;
  await d.peer.next((f) => f.type === 'ack' && f.seq === last, 5000).catch(() => null);
  d.peer.send({ v: 1, type: 'stop', seq: ++seq, t: Date.now() });
  const frames = d.peer.frames.slice(from);
  const applied = new Set(frames.filter((f) => f.type === 'ack' && f.result === 'applied').map((f) => f.seq as number));
  return { deadmanStops: frames.filter((f) => f.type === 'stopped' && f.reason === 'deadman').length, applied: applied.size, sent: sent.length };
}

describe('drive through a stalled relay socket', () => {
  test('with the drive channel: no deadman stop, the commands reach the wheels during the stalls', async () => {
    const d = await driver('dc-on', true);
    const r = await driveThroughStalls(d);
    assert.equal(r.deadmanStops, 0, `deadman stops: ${r.deadmanStops}`);
    assert.ok(r.applied >= r.sent * 0.9, `applied ${r.applied} of ${r.sent}`);
    assert.equal(d.peer.frames.filter((f) => f.type === 'error').length, 0, 'no error for the second copies');
    d.peer.close();
  });

  test('without it (the control): the same stalls stop the robot', async () => {
    const d = await driver('dc-off', false);
    const r = await driveThroughStalls(d);
    assert.ok(r.deadmanStops >= 1, `deadman stops: ${r.deadmanStops}`);
    d.peer.close();
  });
});
