import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setLogLevel } from '../../common/log.ts';
import { chooseH264Encoder, PROBE_CACHE_FILE } from './encoder-probe.ts';

setLogLevel('error');
const dir = mkdtempSync(join(tmpdir(), 'havatar-probe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in FFmpeg: records each call, and passes or fails the trial as told. */
function fakeFfmpeg(name: string, passes: boolean): { bin: string; calls: () => number } {
  const bin = join(dir, name);
  const log = `${bin}.calls`;
  writeFileSync(log, '');
  writeFileSync(bin, `#!/bin/sh\necho "$*" >> '${log}'\n${passes ? 'exit 0' : 'echo "[h264_v4l2m2m @ 0x1] Could not find a valid device" >&2; exit 1'}\n`);
  chmodSync(bin, 0o755);
  return { bin, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
}

describe('H.264 encoder probe', () => {
  test('on this machine h264_v4l2m2m fails its trial (no codec device): libx264, with the reason', async () => {
    const data = mkdtempSync(join(dir, 'real-'));
    const choice = await chooseH264Encoder({ dataDir: data, camera: 'sim' });
    assert.equal(choice.encoder, 'libx264');
    assert.equal(choice.cached, false);
    assert.match(choice.reason, /^h264_v4l2m2m failed its trial encode \(.*(device|encoder).*\): software libx264$/i);
  });

  test('a hardware encoder that passes its trial is chosen', async () => {
    const ff = fakeFfmpeg('ffmpeg-pass', true);
    const choice = await chooseH264Encoder({ dataDir: mkdtempSync(join(dir, 'pass-')), camera: 'sim', ffmpeg: ff.bin });
    assert.equal(choice.encoder, 'h264_v4l2m2m');
    assert.equal(ff.calls(), 1);
  });

  test('the result is remembered across starts, and probed again when FFmpeg or the camera changes', async () => {
    const data = mkdtempSync(join(dir, 'cache-'));
    const ff = fakeFfmpeg('ffmpeg-fail', false);
    const first = await chooseH264Encoder({ dataDir: data, camera: '/dev/video0', ffmpeg: ff.bin });
    assert.deepEqual([first.encoder, first.cached, ff.calls()], ['libx264', false, 1]);
    assert.match(first.reason, /Could not find a valid device/);

    const again = await chooseH264Encoder({ dataDir: data, camera: '/dev/video0', ffmpeg: ff.bin });
    assert.deepEqual([again.encoder, again.cached, again.reason, ff.calls()], ['libx264', true, first.reason, 1], 'no second trial');

    await chooseH264Encoder({ dataDir: data, camera: '/dev/video2', ffmpeg: ff.bin });
    assert.equal(ff.calls(), 2, 'another camera: probed again');

    const later = new Date(Date.now() + 60_000);
    utimesSync(ff.bin, later, later); // an FFmpeg upgrade replaces the binary
    const upgraded = await chooseH264Encoder({ dataDir: data, camera: '/dev/video2', ffmpeg: ff.bin });
    assert.deepEqual([upgraded.cached, ff.calls()], [false, 3], 'another FFmpeg: probed again');
  });

  test('an unreadable cache is probed over, and a missing FFmpeg falls back to libx264', async () => {
    const data = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(data, PROBE_CACHE_FILE), '{not json');
    const choice = await chooseH264Encoder({ dataDir: data, camera: 'sim', ffmpeg: join(dir, 'no-such-ffmpeg') });
    assert.equal(choice.encoder, 'libx264');
    assert.match(choice.reason, /ENOENT/);
    assert.equal(JSON.parse(readFileSync(join(data, PROBE_CACHE_FILE), 'utf8')).choice.encoder, 'libx264');
  });
});
