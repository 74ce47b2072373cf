// Recording on demand with the real relay and MediaMTX v1.20.1: FFmpeg publishes as the robot, the
// driver starts recording over its socket (everyone watching is told), the admin stops it over
// the API, and the recording is listed and served by MediaMTX's playback server to a driver — and
// refused to a viewer — as the relay's auth hook decides (action `playback`). A relay whose
// recordings disk is below its floor refuses to start, saying why.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../common/wait.ts';
import {
  admin, api, freePort, launch, mediamtxPorts, Peer, registerRobot, sessionFor, startMediamtx, startRelay, stopAll, tempDir,
  type MediamtxProc, type RelayProc,
} from './helpers.ts';

let relay: RelayProc;
let mtx: MediamtxProc;
let playback: string;
let recordings: string;
let robotPw: string;

before(async () => {
  const ports = await mediamtxPorts();
  const playbackPort = await freePort();
  playback = `http://127.0.0.1:${playbackPort}`;
  recordings = tempDir('havatar-rec-');
  relay = await startRelay({
    mediamtxApiUrl: `http://127.0.0.1:${ports.api}`,
    env: { RECORDINGS_DIR: recordings, RECORDING_MIN_FREE_MB: '1', MEDIAMTX_PLAYBACK_URL: playback, PLAYBACK_PUBLIC_URL: playback, RELAY_LIMITS: '{"recordingCheckMs":300}' },
  });
  robotPw = await registerRobot(relay.url, 'sim');
  mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports, { playbackPort, recordingsDir: recordings });
  await launch('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0', '-g', '25', '-pix_fmt', 'yuv420p',
    '-f', 'rtsp', '-rtsp_transport', 'tcp', '-pkt_size', '1400', `rtsp://sim:${robotPw}@127.0.0.1:${mtx.rtsp}/robots/sim`,
  ], null);
  await waitFor('MediaMTX to list robots/sim as ready', async () => (await api(`http://127.0.0.1:${mtx.api}`, 'GET', '/v3/paths/get/robots/sim', undefined, { Authorization: `Basic ${Buffer.from('havatar:test-internal-api-secret-0123456789').toString('base64')}` })).json.ready === true,
    (ready) => ready, { timeoutMs: 15_000, everyMs: 100 });
});
after(stopAll);

const isRecording = (active: boolean) => (f: Record<string, unknown>) => f.type === 'recording' && f.active === active;

describe('recording on demand', () => {
  test('the driver starts it, everyone sees it, the admin stops it, and a driver plays it back', async () => {
    const driverToken = await sessionFor(relay.url, 'sim', 'driver');
    const viewerToken = await sessionFor(relay.url, 'sim', 'viewer');
    const driver = await Peer.open(`${relay.ws}/ws/client/rec-driver?token=${driverToken}`);
    const viewer = await Peer.open(`${relay.ws}/ws/client/rec-viewer?token=${viewerToken}`);
    // On join: recording is possible here, and off.
    const first = await viewer.next((f) => f.type === 'recording');
    assert.deepEqual(first, { v: 1, type: 'recording', robot: 'sim', available: true, active: false, since: null, by: null });

    // Only the lease holder may start it.
    viewer.send({ v: 1, type: 'record', action: 'start' });
    assert.equal((await viewer.next((f) => f.type === 'error' && f.ref === 'record')).code, 'forbidden');
    driver.send({ v: 1, type: 'record', action: 'start' });
    assert.equal((await driver.next((f) => f.type === 'error' && f.ref === 'record')).code, 'not_driver');
    driver.send({ v: 1, type: 'hello', name: 'Ana', want: 'driver' });
    await driver.next((f) => f.type === 'lease' && f.you === true);
    const startedAt = Date.now();
    driver.send({ v: 1, type: 'record', action: 'start' });
    const seen = await viewer.next(isRecording(true), 5000);
    assert.equal(seen.by, 'Ana');
    await driver.next(isRecording(true));
    const status = await api(relay.url, 'GET', '/api/status', undefined, admin);
    assert.deepEqual(Object.keys((status.json.status as { recording: object }).recording), ['sim']);
    assert.equal(((await api(relay.url, 'GET', '/api/status')).json.status as { recording: number }).recording, 1, 'the public status gives a count');

    // MediaMTX writes fragmented MP4 under the robot's path; let it record a few seconds.
    await waitFor('a segment file under robots/sim', async () => { try { return readdirSync(join(recordings, 'robots', 'sim')).length; } catch { return 0; } }, (n) => n > 0, { timeoutMs: 10_000, everyMs: 200 });
    await waitFor('3 s recorded', async () => Date.now() - startedAt, (ms) => ms > 3000, { timeoutMs: 10_000, everyMs: 200 });

    const stop = await api(relay.url, 'POST', '/api/recordings/sim/stop', undefined, admin);
    assert.equal(stop.status, 200, stop.text);
    const stopped = await viewer.next(isRecording(false), 5000, false);
    assert.equal(stopped.stopped, 'request');

    // The admin's listing (the relay asks the playback server with its internal credential).
    const listed = await api(relay.url, 'GET', '/api/recordings/sim', undefined, admin);
    assert.equal(listed.status, 200, listed.text);
    const entries = listed.json.recordings as { start: string; duration: number; url: string }[];
    assert.equal(entries.length, 1, listed.text);
    assert.ok(entries[0]!.duration > 1.5, `recorded ${entries[0]!.duration} s`);
    const start = Date.parse(entries[0]!.start);
    assert.ok(start >= startedAt - 2000 && start <= startedAt + 5000, `starts at ${entries[0]!.start}, asked at ${new Date(startedAt).toISOString()}`);

    // A driver lists and downloads through MediaMTX; a viewer and nobody are refused.
    const list = (auth?: string) => fetch(`${playback}/list?path=robots/sim`, { headers: auth ? { Authorization: `Bearer ${auth}` } : {} });
    assert.equal((await list(driverToken)).status, 200);
    assert.equal((await list(viewerToken)).status, 401);
    assert.equal((await list()).status, 401);
    const get = await fetch(`${playback}/get?path=robots/sim&start=${encodeURIComponent(entries[0]!.start)}&duration=1&format=mp4&token=${driverToken}`);
    assert.equal(get.status, 200);
    const mp4 = Buffer.from(await get.arrayBuffer());
    assert.equal(mp4.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4 file');
    driver.ws.close();
    viewer.ws.close();
  });

  test('the CLI starts, lists and stops through the running relay', async () => {
    const cli = async (cmd: string) => {
      const p = await launch('node', ['--import', 'tsx', 'server/relay/main.ts', cmd, '--robot', 'sim', '--relay-url', relay.url], null, { env: { ADMIN_API_KEY: 'test-admin-key-0123456789' } });
      const code = await p.exited;
      return { code, out: p.lines.join('\n') };
    };
    // launch() collects lines only with a ready pattern: read stdout through the exit code and API.
    assert.equal((await cli('record-start')).code, 0);
    assert.equal(((await api(relay.url, 'GET', '/api/recordings/sim', undefined, admin)).json as { active: boolean }).active, true);
    assert.equal((await cli('record-stop')).code, 0);
    assert.equal(((await api(relay.url, 'GET', '/api/recordings/sim', undefined, admin)).json as { active: boolean }).active, false);
    const bad = await launch('node', ['--import', 'tsx', 'server/relay/main.ts', 'record-start', '--robot', 'sim', '--relay-url', relay.url], null, { env: { ADMIN_API_KEY: 'wrong-key-0123456789' } });
    assert.equal(await bad.exited, 2);
  });

  test('MediaMTX forgetting the recording (a restart) is noticed and told', async () => {
    const viewer = await Peer.open(`${relay.ws}/ws/client/rec-viewer2?token=${await sessionFor(relay.url, 'sim', 'viewer')}`);
    assert.equal((await api(relay.url, 'POST', '/api/recordings/sim/start', undefined, admin)).status, 200);
    await viewer.next(isRecording(true));
    // What a restarted MediaMTX does: no runtime path `robots/sim`, so no recording.
    const auth = { Authorization: `Basic ${Buffer.from('havatar:test-internal-api-secret-0123456789').toString('base64')}` };
    assert.equal((await api(`http://127.0.0.1:${mtx.api}`, 'DELETE', '/v3/config/paths/delete/robots/sim', undefined, auth)).status, 200);
    const lost = await viewer.next(isRecording(false), 5000, false);
    assert.equal(lost.stopped, 'lost');
    viewer.ws.close();
  });

  test('below the disk floor, recording refuses to start and says why', async () => {
    const full = await startRelay({
      mediamtxApiUrl: `http://127.0.0.1:${mtx.api}`,
      env: { RECORDINGS_DIR: recordings, RECORDING_MIN_FREE_MB: '999999999', MEDIAMTX_PLAYBACK_URL: playback },
    });
    const r = await api(full.url, 'POST', '/api/recordings/sim/start', undefined, admin);
    assert.equal(r.status, 507);
    assert.match(String(r.json.msg), /recording refused: only \d+ MB free on the recordings disk .* below the floor of 999999999 MB/);
    // Not set up at all: a clear 503.
    const none = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${mtx.api}` });
    const n = await api(none.url, 'POST', '/api/recordings/sim/start', undefined, admin);
    assert.equal(n.status, 503);
    assert.match(String(n.json.msg), /RECORDINGS_DIR/);
  });
});
