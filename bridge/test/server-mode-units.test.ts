// Pure parts of server mode: where it connects (no credentials in anything shown), the publish
// arguments it adds (scale-down fit, frame rate, encoder stats), and the simulator's frame tee
// that lets one capture feed the local MJPEG and the publisher.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { DEFAULT_CONFIG } from '../config/schema.ts';
import { V4l2Camera } from '../hardware/camera.ts';
import { publishVideoArgs } from '../media/ffmpeg-args.ts';
import { SimulatedCamera } from '../sim/camera.ts';
import { basicAuth, clearTextProblem, mediaCredentials, publishUrl, relayWsUrl, rtspBase, talkUrl } from '../server-mode/endpoints.ts';
import { publishError, relayError } from '../server-mode/errors.ts';

const cfg = { ...DEFAULT_CONFIG.server_mode, server_url: 'https://robots.example.org/relay/', stream_key: 'tank_1', stream_password: 'p@ss/word' };
const after1 = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('server mode endpoints', () => {
  it('derives the relay socket, RTSP base, publish and talk URLs from server_mode', () => {
    assert.equal(relayWsUrl(cfg), 'wss://robots.example.org/relay/ws/robot/tank_1');
    assert.equal(relayWsUrl({ ...cfg, server_url: 'http://127.0.0.1:3000' }), 'ws://127.0.0.1:3000/ws/robot/tank_1');
    assert.equal(rtspBase(cfg), 'rtsps://robots.example.org:8322', 'another machine: RTSPS by default');
    assert.equal(rtspBase({ ...cfg, server_url: 'http://127.0.0.1:3000' }), 'rtsp://127.0.0.1:8554', 'this machine: plain RTSP');
    assert.equal(rtspBase({ ...cfg, rtsp_url: 'rtsp://10.0.0.2:9554/' }), 'rtsp://10.0.0.2:9554');
    const pw = mediaCredentials(cfg, null);
    assert.equal(publishUrl(cfg, pw), 'rtsps://tank_1:p%40ss%2Fword@robots.example.org:8322/robots/tank_1');
    assert.equal(talkUrl(cfg, pw), 'rtsps://tank_1:p%40ss%2Fword@robots.example.org:8322/robots/tank_1/talk');
    assert.equal(talkUrl(cfg, pw, 'rtsp://127.0.0.1:4000'), 'rtsp://tank_1:p%40ss%2Fword@127.0.0.1:4000/robots/tank_1/talk');
    assert.equal(basicAuth(cfg), `Basic ${Buffer.from('tank_1:p@ss/word').toString('base64')}`);
  });

  it('uses the relay\'s publish credential while valid, and refuses plain RTSP to another machine', () => {
    const issued = { v: 1, type: 'publish_credential', user: 'tank_1', password: `hp_${'a'.repeat(71)}`, expiresAt: 2000 } as const;
    assert.deepEqual(mediaCredentials(cfg, issued, 1999), { user: 'tank_1', password: issued.password });
    assert.deepEqual(mediaCredentials(cfg, issued, 2000), { user: 'tank_1', password: 'p@ss/word' }, 'expired: a relay that issues none');
    assert.deepEqual(mediaCredentials(cfg, { ...issued, user: 'other' }, 1999).user, 'tank_1');
    for (const host of ['127.0.0.1', '127.8.0.1', 'localhost', '[::1]']) assert.equal(clearTextProblem({ ...cfg, rtsp_url: `rtsp://${host}:8554` }), null, host);
    for (const host of ['10.0.0.2', 'robots.example.org', '[2001:db8::1]', '127.0.0.1.example.org']) {
      const c = { ...cfg, rtsp_url: `rtsp://${host}:8554` };
      assert.match(clearTextProblem(c) ?? '', /refusing plain RTSP .* set server_mode\.rtsp_url to rtsps:\/\//, host);
      assert.throws(() => mediaCredentials(c, issued, 0), /refusing plain RTSP/);
    }
    assert.equal(clearTextProblem({ ...cfg, rtsp_url: 'rtsps://10.0.0.2:8322' }), null);
  });

  it('readable errors never repeat a password and name what to check', () => {
    assert.match(publishError('[rtsp @ 0x1] method ANNOUNCE failed: 401 Unauthorized', 'rtsp://h:1/robots/x'), /refused the robot's credentials/);
    assert.match(publishError('Connection refused', 'rtsp://h:1/robots/x'), /not reachable/);
    assert.match(relayError({ status: 401 }, 'ws://h/ws/robot/x'), /stream_key \/ stream_password/);
    assert.match(relayError({ code: 'ECONNREFUSED' }, 'ws://h/ws/robot/x'), /not reachable/);
  });
});

describe('publish arguments', () => {
  const cam = new V4l2Camera({ device: '/dev/video0', width: 1920, height: 1080, fps: 30 });
  const to = { rtp: 40000, rtcp: 40001 };

  it('scales a bigger capture down to fit (aspect kept), never up', () => {
    const down = publishVideoArgs({ to, video: cam, fit: { width: 1280, height: 720 } });
    assert.match(after1(down, '-vf')!, /^scale=w=1280:h=720:force_original_aspect_ratio=decrease:force_divisible_by=2$/);
    const same = publishVideoArgs({ to, video: new V4l2Camera({ width: 640, height: 480 }), fit: { width: 1280, height: 720 } });
    assert.ok(!same.includes('-vf'), 'a smaller capture is sent as it is');
  });

  it('keyframe interval follows the output frame rate; stats go to the given file', () => {
    const args = publishVideoArgs({ to, video: cam, fps: 15, vstatsFile: '/tmp/x.fifo' });
    assert.equal(after1(args, '-r'), '15');
    assert.equal(after1(args, '-g'), '15');
    assert.equal(after1(args, '-vstats_file'), '/tmp/x.fifo');
    assert.ok(!publishVideoArgs({ to, video: cam, fps: 60 }).includes('-r'), 'never more frames than captured');
    assert.throws(() => publishVideoArgs({ to, video: cam, fit: { width: 8, height: 8 } }), RangeError);
  });
});

describe('simulated camera tee', () => {
  it('stops generating once every fed stdin has ended by itself (no timer left running)', async () => {
    const cam = new SimulatedCamera({ width: 160, height: 120, fps: 50 });
    const a = new PassThrough();
    a.resume();
    const stopA = cam.feed(a);
    assert.equal(cam.generating, true);
    a.end();
    await waitFor('the camera to drop the ended stdin', () => cam.consumerCount, (n) => n === 0, 1000);
    assert.equal(cam.generating, false);
    stopA(); // the feeder's own stop afterwards is harmless
    assert.equal(cam.generating, false);
  });

  it('renders each frame once and writes the same bytes to every attached stdin', async () => {
    const cam = new SimulatedCamera({ width: 160, height: 120, fps: 50 });
    const a = new PassThrough();
    const b = new PassThrough();
    const got = { a: [] as Buffer[], b: [] as Buffer[] };
    a.on('data', (d: Buffer) => got.a.push(Buffer.from(d)));
    b.on('data', (d: Buffer) => got.b.push(Buffer.from(d)));
    const stopA = cam.feed(a);
    const stopB = cam.feed(b);
    assert.equal(cam.consumerCount, 2);
    const frame = 160 * 120 * 1.5;
    await waitFor('five frames on both stdins', () => Math.min(Buffer.concat(got.a).length, Buffer.concat(got.b).length) / frame, (n) => n >= 5, 3000);
    stopA();
    stopB();
    assert.equal(cam.consumerCount, 0);
    const A = Buffer.concat(got.a);
    const B = Buffer.concat(got.b);
    assert.ok(A.length >= 5 * frame, `frames arrived (${A.length / frame})`);
    const frames = (buf: Buffer) => Array.from({ length: Math.floor(buf.length / frame) }, (_, i) => buf.subarray(i * frame, (i + 1) * frame).toString('base64'));
    const fromA = new Set(frames(A));
    const fromB = frames(B);
    assert.ok(fromB.length >= 5);
    // Every frame B got is one A got too (A also has the first, rendered before B attached).
    assert.ok(fromB.every((f) => fromA.has(f)), 'the same frames on both');
    assert.ok(cam.stats.framesWritten <= Math.max(A.length, B.length) / frame + 1, 'one render per frame, not per consumer');
  });
});
