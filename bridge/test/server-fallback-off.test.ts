// `server_mode.fallback_to_local: false` in the real bridge with a server nobody answers at: server
// mode tries once, then ends (state 'off') and /server/status and /system_status say why and that
// it stopped because fallback_to_local is off. It never enters 'fallback' (the bridge's log of
// every state change is checked) and does not retry by itself; POST /server/start tries again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { freePort } from '../../scripts/stack.ts';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { api, startRig, type Rig } from './harness.ts';

let rig: Rig;
/** A loopback port nothing listens on (freePort binds it once, then closes it). */
let deadPort: number;


interface Status { state: string; last_error: string | null; server_mode_enabled: boolean; fallback_to_local: boolean; relay_connected: boolean }
const status = async () => ((await api(rig, 'GET', '/server/status')).body as { status: Status }).status;
/** The bridge's own record of every server-mode state it entered ("server mode state" log lines). */
const statesEntered = () => rig.bridgeLog.filter((l) => l.includes('"server mode state"')).map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { to: string }).to);

before(async () => {
  deadPort = await freePort();
  rig = await startRig({
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      camera: { device: 'sim', width: 320, height: 240, fps: 10 },
      server_mode: {
        enabled: true, server_url: `http://127.0.0.1:${deadPort}`, stream_key: 'sim', stream_password: 'test-stream-password-01',
        fallback_to_local: false, rtsp_url: `rtsp://127.0.0.1:${deadPort}`,
      },
    })),
  });
});

after(async () => { await rig?.stop(); });

describe('fallback_to_local: false with an unreachable server', () => {
  test('server mode ends and says why; it never falls back and does not retry by itself', async () => {
    const s = await waitFor('server mode to end', status, (x) => x.state === 'off' && x.last_error !== null, { timeoutMs: 10_000, everyMs: 50 });
    assert.match(s.last_error!, /ECONNREFUSED|refused|unreachable/i, 'the reason the server was not reached');
    assert.match(s.last_error!, /fallback_to_local is off: server mode stopped; POST \/server\/start to try again/);
    assert.equal(s.fallback_to_local, false);
    assert.equal(s.server_mode_enabled, false);
    assert.equal(s.relay_connected, false);
    assert.deepEqual(statesEntered(), ['connecting', 'stopping', 'off']);
    // The robot's summary says the same.
    const sys = (await api(rig, 'GET', '/system_status')).body as { server?: Status };
    assert.equal(sys.server?.state, 'off');
    assert.equal(sys.server?.last_error, s.last_error);
    // Still off a while later: no attempt behind the operator's back (the link's backoff is ≤ 2 s).
    const entered = statesEntered().length;
    await new Promise((r) => setTimeout(r, 2500)); // the stimulus: longer than the link's longest backoff
    assert.equal((await status()).state, 'off');
    assert.equal(statesEntered().length, entered, 'no new attempt');
  });

  test('POST /server/start tries again, and ends the same way', async () => {
    const before = statesEntered().length;
    const r = await api(rig, 'POST', '/server/start');
    assert.equal(r.status, 200);
    await waitFor('the second attempt to end', () => statesEntered().slice(before), (s) => s.at(-1) === 'off', { timeoutMs: 10_000, everyMs: 50 });
    assert.deepEqual(statesEntered().slice(before), ['connecting', 'stopping', 'off']);
    assert.match((await status()).last_error ?? '', /fallback_to_local is off/);
  });
});
