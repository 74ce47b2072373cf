// The firmware's protocol core, built with the host's g++ and run against the same vectors the
// TypeScript codec is tested against (protocol/vectors/serial.json), plus the firmware's own extra
// cases, which are first re-checked here against protocol/serial.ts so they cannot disagree with it.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { LineSplitter, decodeSerial, type SerialFrame } from '../protocol/serial.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const esp32 = join(root, 'firmware/esp32');
const vectorsPath = join(root, 'protocol/vectors/serial.json');
const extraPath = join(esp32, 'test/extra-vectors.json');

interface Extra {
  decode: { name: string; line: string; frame?: SerialFrame; error?: number; seq?: number }[];
  split: { name: string; chunks: string[]; lines: string[] }[];
}

const gxx = spawnSync('g++', ['--version'], { encoding: 'utf8' });
const noCompiler = gxx.error || gxx.status !== 0 ? `g++ not found (${gxx.error?.message ?? gxx.stderr}); install build-essential` : null;

describe('firmware extra vectors', () => {
  const extra = JSON.parse(readFileSync(extraPath, 'utf8')) as Extra;
  it('has cases to add', () => assert.ok(extra.decode.length > 0 && extra.split.length > 0));
  for (const v of extra.decode) {
    it(`agree with the TypeScript codec: decode ${v.name}`, () => {
      const got = decodeSerial(v.line);
      if (v.frame) assert.deepEqual(got, { ok: true, frame: v.frame });
      else {
        assert.equal(got.ok, false);
        if (got.ok) return;
        assert.equal(got.code, v.error);
        assert.equal(got.seq, v.seq);
      }
    });
  }
  for (const v of extra.split) {
    it(`agree with the TypeScript codec: split ${v.name}`, () => {
      const s = new LineSplitter();
      assert.deepEqual(v.chunks.flatMap((c) => s.push(c)), v.lines);
    });
  }
});

describe('firmware protocol core on the host', { skip: noCompiler ?? false }, () => {
  let dir = '';
  let binary = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'havatar-fw-'));
    binary = join(dir, 'host_test');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compiles as plain C++17 with -Wall -Wextra -Werror and no Arduino headers', async () => {
    await run('g++', [
      '-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', '-I', join(esp32, 'src'),
      join(esp32, 'test/host_test.cpp'), join(esp32, 'src/protocol.cpp'), '-o', binary,
    ], { timeout: 120_000 });
  });

  it('passes every shared vector, every extra vector and every controller check', async () => {
    const res = spawnSync(binary, [vectorsPath, extraPath], { encoding: 'utf8', timeout: 30_000 });
    const out = `${res.stdout}${res.stderr}`;
    const summary = /^(\d+) checks, (\d+) failed$/m.exec(out);
    assert.ok(summary, `no summary from the host test (exit ${res.status}):\n${out}`);
    // Shared vectors alone are well over a hundred checks: far fewer means the file was not read.
    assert.ok(Number(summary[1]) > 150, `only ${summary[1]} checks ran:\n${out}`);
    assert.equal(Number(summary[2]), 0, out);
    assert.equal(res.status, 0, out);
  });

  for (const core of [2, 3]) {
    for (const [driver, define] of [['TB6612FNG', 1], ['L298N', 2]] as const) {
      it(`Arduino glue type-checks for Arduino-ESP32 core ${core}.x with the ${driver}`, async () => {
        // Declarations-only stub: catches a wrong call or pin constant without the ESP32 toolchain.
        await run('g++', [
          '-std=gnu++17', '-Wall', '-Wextra', '-Werror', '-fsyntax-only',
          '-I', join(esp32, 'test/arduino-stub'), '-I', join(esp32, 'src'),
          `-DESP_ARDUINO_VERSION_MAJOR=${core}`, `-DHAVATAR_MOTOR_DRIVER=${define}`, join(esp32, 'src/main.cpp'),
        ], { timeout: 60_000 });
      });
    }
  }

  it('refuses to pass when the vectors file is missing', () => {
    const res = spawnSync(binary, [join(dir, 'missing.json')], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(res.status, 2, res.stderr);
  });
});

if (noCompiler) console.log(`# skipped the firmware host test: ${noCompiler}`);
