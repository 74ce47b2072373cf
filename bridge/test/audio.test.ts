import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { AudioKind, decodeAudioFrame, encodeAudioFrame } from '../../protocol/audio.ts';
import { RecordingSpeaker } from '../sim/audio.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import { Operator, startRig, type Rig } from './harness.ts';
import { join } from 'node:path';

describe('audio over the WebSocket', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  afterEach(() => Operator.closeAll());
  after(async () => { await rig?.stop(); });

  test('a session that asks for audio gets robot-mic PCM frames; one that does not gets none', async () => {
    const quiet = await Operator.connect(rig);
    const listener = await Operator.connect(rig, '&audio=1');
    await waitFor('ten mic frames', () => listener.binary.length, (n) => n >= 10, 5000);
    const f = decodeAudioFrame(listener.binary[0]!);
    assert.ok(f.ok);
    assert.equal(f.value.kind, AudioKind.robotMic);
    assert.equal(f.value.pcm.byteLength, 640);
    assert.equal(quiet.binary.length, 0);
    await listener.close();
    await quiet.close();
  });

  test('push-to-talk from the driver plays on the speaker; a viewer may not talk', async () => {
    const viewer = await Operator.connect(rig);
    const op = await Operator.connect(rig);
    op.send({ v: 1, type: 'lease', action: 'take' });
    await op.next((m) => m.type === 'lease' && m.you);
    viewer.send({ v: 1, type: 'talk', action: 'start' });
    assert.equal((await viewer.next('error')).code, 'not_driver');
    op.send({ v: 1, type: 'talk', action: 'start' });
    await viewer.next((m) => m.type === 'talk_state' && m.speaker === 'playing');
    const pcm = new Uint8Array(640);
    const view = new DataView(pcm.buffer);
    for (let seq = 0; seq < 50; seq++) {
      for (let i = 0; i < 320; i++) view.setInt16(i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 440 * (seq * 320 + i)) / 16000)), true);
      op.ws.send(encodeAudioFrame(AudioKind.talk, seq, pcm));
      await sleep(20); // the stimulus: talk frames at their real 20 ms pace
    }
    op.send({ v: 1, type: 'talk', action: 'stop' });
    await viewer.next((m) => m.type === 'talk_state' && m.speaker === 'idle');
    const speaker = new RecordingSpeaker(join(rig.dataDir, 'speaker'));
    await waitFor('a recording of the talk (about 1 s of tone)', () => speaker.recordings(), (rs) => rs.some((r) => r.durationMs > 500 && r.rms > 0.05), { timeoutMs: 6000, everyMs: 100 });
    await op.close();
    await viewer.close();
  });
});
