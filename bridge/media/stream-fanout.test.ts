import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { StreamFanout } from './stream-fanout.ts';

/** A pipe whose written bytes are collected, with a settable backlog (writableLength). */
function sink(): { stdin: PassThrough; got: () => Buffer; backlog: (n: number) => void } {
  const stdin = new PassThrough();
  const chunks: Buffer[] = [];
  let extra = 0;
  const write = stdin.write.bind(stdin);
  stdin.write = ((c: Buffer) => { chunks.push(Buffer.from(c)); return write(c); }) as typeof stdin.write;
  stdin.resume();
  Object.defineProperty(stdin, 'writableLength', { get: () => extra });
  return { stdin, got: () => Buffer.concat(chunks), backlog: (n) => { extra = n; } };
}

const nal = (type: number, len = 20, fourByte = false) => Buffer.concat([Buffer.from(fourByte ? [0, 0, 0, 1] : [0, 0, 1]), Buffer.from([type]), Buffer.alloc(len, 0xaa)]);
const SPS = 0x67; const PPS = 0x68; const IDR = 0x65; const P = 0x41;

describe('StreamFanout, H.264', () => {
  test('a reader attached mid-GOP gets nothing until an SPS, then everything from its start code on', () => {
    const f = new StreamFanout('h264');
    const r = sink();
    f.attach(r.stdin);
    f.push(nal(P));
    f.push(Buffer.concat([nal(P), nal(SPS, 10, true), nal(PPS, 4), nal(IDR)]));
    f.push(nal(P));
    assert.deepEqual(r.got(), Buffer.concat([nal(SPS, 10, true), nal(PPS, 4), nal(IDR), nal(P)]));
    assert.equal(f.skipped, 1);
  });

  test('an SPS start code split across two pipe reads is found; the reader starts at that chunk', () => {
    const f = new StreamFanout('h264');
    const r = sink();
    f.attach(r.stdin);
    const whole = Buffer.concat([nal(P), nal(SPS), nal(IDR)]);
    const cut = nal(P).length + 2; // inside the SPS start code
    f.push(whole.subarray(0, cut));
    f.push(whole.subarray(cut));
    assert.deepEqual(r.got(), whole.subarray(cut));
  });

  test('a reader that falls behind waits for the next SPS; the others keep getting every byte', () => {
    const f = new StreamFanout('h264', 1000);
    const slow = sink();
    const fast = sink();
    f.attach(slow.stdin);
    f.attach(fast.stdin);
    f.push(nal(SPS));
    slow.backlog(5000);
    f.push(nal(P));
    slow.backlog(0);
    f.push(nal(P, 30));
    f.push(nal(SPS, 11));
    assert.deepEqual(slow.got(), Buffer.concat([nal(SPS), nal(SPS, 11)]));
    assert.deepEqual(fast.got(), Buffer.concat([nal(SPS), nal(P), nal(P, 30), nal(SPS, 11)]));
  });

  test('detached and ended readers get nothing more', () => {
    const f = new StreamFanout('h264');
    const a = sink();
    const b = sink();
    const detach = f.attach(a.stdin);
    f.attach(b.stdin);
    f.push(nal(SPS));
    detach();
    b.stdin.end();
    f.push(nal(P));
    assert.equal(f.size, 0);
    assert.deepEqual(a.got(), nal(SPS));
  });
});

describe('StreamFanout, MJPEG', () => {
  test('whole JPEGs to every reader; a backed-up reader skips frames and resumes', () => {
    const f = new StreamFanout('mjpeg', 1000);
    const a = sink();
    f.attach(a.stdin);
    f.push(Buffer.from('jpeg1'));
    a.backlog(2000);
    f.push(Buffer.from('jpeg2'));
    a.backlog(0);
    f.push(Buffer.from('jpeg3'));
    assert.equal(a.got().toString(), 'jpeg1jpeg3');
    assert.equal(f.skipped, 1);
  });
});
