import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setLogLevel } from '../../common/log.ts';
import { decodeStripFromLuma } from '../../protocol/timestamp-strip.ts';
import { AlsaMicrophone, AlsaSpeaker } from '../hardware/audio.ts';
import { V4l2Camera } from '../hardware/camera.ts';
import { SimulatedCamera } from '../sim/camera.ts';
import { micCaptureArgs, mjpegArgs, PUBLISH_SDP, publishAudioArgs, publishVideoArgs, redactArgs, rtspTalkArgs, speakerPlaybackArgs } from './ffmpeg-args.ts';
import { RtspPush } from '../server-mode/rtsp-push.ts';
import { FfmpegSupervisor } from './supervisor.ts';
import { waitFor } from '../../common/wait.ts';
import { ffmpegOnce, startPlainMediamtx } from './test/helpers.ts';

setLogLevel('error');
after(() => FfmpegSupervisor.stopAll());

/** The value after `flag` (first occurrence). */
const after1 = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('FFmpeg arguments', () => {
  const cam = new V4l2Camera({ device: '/dev/video2', width: 1280, height: 720, fps: 30 });

  it('MJPEG for the local stream: single-threaded encoder, q 5, JPEGs on stdout, no audio', () => {
    const args = mjpegArgs(cam);
    assert.equal(after1(args, '-c:v'), 'mjpeg');
    assert.equal(after1(args, '-q:v'), '5');
    assert.equal(after1(args, '-threads'), '1');
    assert.equal(after1(args, '-f', ), 'v4l2');
    assert.equal(after1(args, '-input_format'), 'mjpeg');
    assert.equal(after1(args, '-i'), '/dev/video2');
    assert.ok(args.includes('-an'));
    assert.equal(args.at(-1), 'pipe:1');
    assert.equal(after1(mjpegArgs(cam, { copy: true }), '-c:v'), 'copy');
    assert.throws(() => mjpegArgs(cam, { quality: 1 }), RangeError);
  });

  it('V4L2 and ALSA devices that are not device names are refused', () => {
    assert.throws(() => new V4l2Camera({ device: '/etc/passwd' }), RangeError);
    assert.throws(() => new V4l2Camera({ device: '-i' }), RangeError);
    assert.throws(() => new AlsaMicrophone('-f null'), RangeError);
    assert.throws(() => new AlsaSpeaker('x;rm'), RangeError);
  });

  it('microphone and speaker use PCM s16le 16 kHz mono', () => {
    const mic = micCaptureArgs(new AlsaMicrophone('plughw:1,0'));
    assert.deepEqual(mic.slice(mic.lastIndexOf('-f'), mic.lastIndexOf('-f') + 6), ['-f', 's16le', '-ar', '16000', '-ac', '1']);
    assert.equal(after1(mic, '-i'), 'plughw:1,0');
    const spk = speakerPlaybackArgs(new AlsaSpeaker('default'));
    assert.deepEqual(spk.slice(spk.indexOf('-f'), spk.indexOf('-i') + 2), ['-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0']);
    assert.deepEqual(spk.slice(-3), ['-f', 'alsa', 'default']);
    assert.ok(!spk.includes('nobuffer'), 'nobuffer drops the start of PCM on a pipe');
  });

  it('publish encoders: x264 ultrafast zerolatency baseline, no B-frames, 1 s GOP, capped bitrate; Opus 32k mono; RTP to loopback, 1400-byte packets', () => {
    const url = 'rtsp://robot:pw@127.0.0.1:8554/robots/r1';
    const to = { rtp: 40000, rtcp: 40001 };
    const args = publishVideoArgs({ to, video: cam });
    for (const [flag, value] of Object.entries({
      '-c:v': 'libx264', '-preset': 'ultrafast', '-tune': 'zerolatency', '-profile:v': 'baseline', '-bf': '0', '-g': '30',
      '-b:v': '1500k', '-maxrate': '1500k', '-payload_type': '96', '-progress': 'pipe:1',
    })) assert.equal(after1(args, flag), value, flag);
    assert.equal(args[args.lastIndexOf('-f') + 1], 'rtp');
    assert.equal(args.at(-1), 'rtp://127.0.0.1:40000?rtcpport=40001&pkt_size=1400');
    assert.ok(!args.includes('-c:a') && !args.some((a) => a.includes('pw')), 'video only, no credentials');
    const audio = publishAudioArgs({ to });
    // 10 ms frames read 10 ms at a time (declared at a quarter of the rate), and no resampler:
    // it held each frame until the next period came.
    for (const [flag, value] of Object.entries({ '-c:a': 'libopus', '-b:a': '32k', '-frame_duration': '10', '-payload_type': '97', '-i': 'pipe:0', '-ar': '4000', '-af': 'asetrate=16000,asetpts=N/SR/TB' })) assert.equal(after1(audio, flag), value, flag);
    assert.equal(audio.filter((a) => a === '-ar').length, 1, 'libopus encodes the 16 kHz as it is');
    assert.ok(!audio.includes('-c:v'));
    assert.throws(() => publishVideoArgs({ to, video: cam, videoKbps: 1e9 }), RangeError);
    assert.throws(() => publishVideoArgs({ to: { rtp: 0, rtcp: 1 }, video: cam }), RangeError);
    assert.throws(() => publishAudioArgs({ to, audioKbps: 1 }), RangeError);
    assert.throws(() => new RtspPush({ url: 'http://x/robots/r1', tracks: [] }), TypeError);
    const talk = rtspTalkArgs(`${url}/talk`, new AlsaSpeaker());
    assert.equal(after1(talk, '-i'), `${url}/talk`);
  });

  it('redacts credentials and query strings for logs', () => {
    assert.deepEqual(redactArgs(['-i', 'rtsp://robot:s3cret@host:8554/robots/r1', 'rtsp://h/p?token=abc']), ['-i', 'rtsp://***@host:8554/robots/r1', 'rtsp://h/p?…']);
  });
});

describe('RTSP publish through a real MediaMTX', () => {
  it('publishes H.264 + Opus that reads back with the capture-time strip intact', async (t) => {
    const { port, stop: stopServer } = await startPlainMediamtx();
    const camera = new SimulatedCamera({ width: 640, height: 480, fps: 25 });
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${port}/robots/r1`, tracks: [{ sdp: PUBLISH_SDP.video }, { sdp: PUBLISH_SDP.audio }] });
    push.on('error', () => {});
    const [v, a] = await push.listen();
    await push.start();
    const publisher = new FfmpegSupervisor({ name: 'publish-video', progress: true, stdin: true, args: () => publishVideoArgs({ to: v!, video: camera }) });
    const audio = new FfmpegSupervisor({ name: 'publish-audio', progress: true, stdin: true, args: () => publishAudioArgs({ to: a! }) });
    // 20 ms frames of a 440 Hz tone on stdin, as MicCapture writes them.
    let n = 0;
    const tone = setInterval(() => { const b = Buffer.alloc(640); for (let i = 0; i < 320; i++, n++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 16000)), i * 2); micIn?.write(b); }, 20);
    let micIn: import('node:stream').Writable | null = null;
    audio.on('spawn', (child: import('node:child_process').ChildProcess) => { micIn = child.stdin; });
    let stopFeed: (() => void) | null = null;
    publisher.on('spawn', (child: import('node:child_process').ChildProcess) => { stopFeed = camera.feed(child.stdin!); });
    publisher.on('exit', () => stopFeed?.());
    t.after(async () => {
      clearInterval(tone);
      await Promise.all([publisher.stop(), audio.stop()]);
      push.close();
      stopFeed?.();
      stopServer();
    });
    let progress: Record<string, string> | null = null;
    publisher.on('progress', (p: Record<string, string>) => { progress = p; });
    publisher.start();
    audio.start();
    await waitFor('publisher progress past frame 5', () => progress, (p) => p !== null && Number(p.frame) > 5, { timeoutMs: 8000 });
    const started = Date.now();
    const gray = await ffmpegOnce(['-rtsp_transport', 'tcp', '-i', `rtsp://127.0.0.1:${port}/robots/r1`, '-map', '0:v:0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], undefined, 8000);
    const strip = decodeStripFromLuma((x, y) => gray[y * 640 + x]!, 640, 480);
    assert.ok(strip, 'strip decodes after x264 + RTSP');
    assert.ok(Math.abs(strip.captureMs - started) < 3000, `capture time ${strip.captureMs - started} ms from read start`);
    const probe = await ffmpegOnce(['-rtsp_transport', 'tcp', '-i', `rtsp://127.0.0.1:${port}/robots/r1`, '-map', '0:a:0', '-t', '0.2', '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'], undefined, 8000);
    assert.ok(probe.length > 1000, 'the Opus track carries audio');
    assert.equal(publisher.status.state, 'running');
  });
});

