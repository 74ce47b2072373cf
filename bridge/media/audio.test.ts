import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setLogLevel } from '../../common/log.ts';
import { MAX_TTS_CHARS } from '../../protocol/limits.ts';
import { EspeakTts, TtsBusyError } from '../hardware/tts.ts';
import { MIC_PERIOD_MS, RecordingSpeaker, SimulatedMicrophone } from '../sim/audio.ts';
import { MicCapture, PCM_FRAME_BYTES, SpeakerPlayer } from './audio.ts';
import { FfmpegSupervisor } from './supervisor.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import { isAlive } from './test/helpers.ts';

setLogLevel('error');
const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'havatar-audio-')); dirs.push(d); return d; };
after(async () => {
  await FfmpegSupervisor.stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 20 ms of a 440 Hz sine at half scale, s16le 16 kHz, continuing from sample `offset`. */
function toneFrame(offset: number): Uint8Array {
  const pcm = Buffer.alloc(PCM_FRAME_BYTES);
  for (let i = 0; i < PCM_FRAME_BYTES / 2; i++) pcm.writeInt16LE(Math.round(16000 * Math.sin((2 * Math.PI * 440 * (offset + i)) / 16000)), i * 2);
  return pcm;
}

describe('MicCapture', () => {
  it('emits 640-byte frames of the simulated tone while started, and stops FFmpeg on stop()', async () => {
    const mic = new MicCapture({ source: new SimulatedMicrophone({ frequency: 440 }) });
    const frames: Buffer[] = [];
    const periods: Buffer[] = [];
    mic.on('frame', (f: Buffer) => frames.push(f));
    mic.on('pcm', (p: Buffer) => periods.push(Buffer.from(p)));
    mic.start();
    try {
      await waitFor('10 mic frames', () => frames.length, (n) => n >= 10, { timeoutMs: 4000 });
      assert.ok(frames.every((f) => f.length === 640));
      // 'pcm' passes on what the capture handed over as it comes (reads may join periods on a busy
      // machine, never split a sample), the same bytes as 'frame'.
      assert.ok(periods.every((p) => p.length % 2 === 0));
      const all = Buffer.concat(periods);
      assert.ok(all.subarray(0, 640 * 10).equals(Buffer.concat(frames.slice(0, 10))));
      let sum = 0;
      for (let i = 0; i < 320; i++) sum += (frames[5]!.readInt16LE(i * 2) / 32768) ** 2;
      assert.ok(Math.sqrt(sum / 320) > 0.05, 'the tone is audible');
    } finally {
      const pid = (mic.status().capture as { pid: number }).pid;
      await mic.stop();
      assert.ok(!isAlive(pid));
    }
    // stop() resolved on the child's 'close', which comes after its stdout ended: nothing can follow.
    const count = frames.length;
    await new Promise((r) => setImmediate(r));
    assert.equal(frames.length, count, 'no frames after stop');
  });
});

describe('SimulatedMicrophone', () => {
  it('hands over 10 ms periods, tone and marker alike (the Opus encoder sends each as it comes)', () => {
    assert.equal(MIC_PERIOD_MS, 10);
    assert.match(new SimulatedMicrophone().ffmpegInput().join(' '), /samples_per_frame=160\b/);
    const marker = new SimulatedMicrophone({ marker: true }).ffmpegInput().join(' ');
    // Each sample's capture time is its period's generation time minus one period.
    assert.match(marker, /nb_samples=160\b/);
    assert.match(marker, /time\(0\)-0\.01\+mod\(n\\,160\)/);
  });
});

describe('SpeakerPlayer with RecordingSpeaker', () => {
  it('records talk audio fed at real time as a non-silent WAV of the right length', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const player = new SpeakerPlayer({ sink: speaker });
    player.start();
    for (let i = 0; i < 25; i++) { // 500 ms
      player.write(toneFrame(i * 320));
      await sleep(20); // the stimulus: frames arriving at the pace a talking phone sends them
    }
    player.stop();
    await waitFor('the player drained to idle', () => player.status().state, (s) => s === 'idle');
    await player.idle();
    const recs = speaker.recordings();
    assert.equal(recs.length, 1);
    assert.ok(Math.abs(recs[0]!.durationMs - 500) <= 60, `duration ${recs[0]!.durationMs} ms`);
    assert.ok(recs[0]!.rms > 0.2, `rms ${recs[0]!.rms}`);
    await player.close();
  });

  it('keeps at most ~200 ms queued: a burst drops the oldest audio instead of playing late', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const player = new SpeakerPlayer({ sink: speaker });
    player.start();
    for (let i = 0; i < 50; i++) player.write(toneFrame(i * 320)); // 1 s at once
    assert.ok(player.status().queuedMs <= 200, `queued ${player.status().queuedMs} ms`);
    assert.equal(player.status().framesDropped, 40);
    player.stop();
    await waitFor('the player drained to idle', () => player.status().state, (s) => s === 'idle');
    await player.idle();
    const [rec] = speaker.recordings();
    assert.ok(rec && Math.abs(rec.durationMs - 200) <= 40, `duration ${rec?.durationMs} ms`);
    await player.close();
  });

  it('closes a talk session that goes quiet without a stop, and opens a new file for the next', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const player = new SpeakerPlayer({ sink: speaker, idleStopMs: 200 });
    for (let i = 0; i < 5; i++) player.write(toneFrame(i * 320));
    await waitFor('the idle stop', () => player.status().state, (s) => s === 'idle');
    await player.idle();
    player.write(toneFrame(0));
    player.write(toneFrame(320));
    player.write(toneFrame(640));
    player.stop();
    await waitFor('the player drained to idle', () => player.status().state, (s) => s === 'idle');
    await player.idle();
    assert.deepEqual(speaker.recordings().map((r) => Math.round(r.durationMs / 20)), [5, 3]);
    await player.close();
  });
});

describe('EspeakTts', () => {
  it('speaks onto the recording speaker', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const tts = new EspeakTts({ sink: speaker });
    assert.equal(tts.info.available, true);
    await tts.speak('Hello, this is the robot.');
    const [rec] = speaker.recordings();
    assert.ok(rec && rec.durationMs > 500, `duration ${rec?.durationMs}`);
    assert.ok(rec.rms > 0.02, `rms ${rec.rms}`);
  });

  it('speaks text that looks like an option instead of obeying it', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const tts = new EspeakTts({ sink: speaker });
    await tts.speak('--help');
    const [rec] = speaker.recordings();
    assert.ok(rec && rec.durationMs > 200 && rec.rms > 0.02);
  });

  it('refuses empty, oversized and concurrent requests without touching the speaker', async () => {
    const speaker = new RecordingSpeaker(tempDir());
    const tts = new EspeakTts({ sink: speaker });
    await assert.rejects(tts.speak('   '), RangeError);
    await assert.rejects(tts.speak('a'.repeat(MAX_TTS_CHARS + 1)), RangeError);
    assert.equal(speaker.recordings().length, 0);
    const first = tts.speak('one');
    assert.equal(tts.info.speaking, true);
    await assert.rejects(tts.speak('two'), TtsBusyError);
    await first;
    assert.equal(tts.info.speaking, false);
    assert.equal(speaker.recordings().length, 1);
  });
});
