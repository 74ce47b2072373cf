// The Pi installer, tested as far as a machine that is not a Pi allows: the dry run (no root, no
// change), device detection against a fake /dev and fake ALSA listings, a real `update` with its
// health check and rollback in a temp prefix (systemctl/curl/npm stubbed), shellcheck, the unit
// file under systemd-analyze verify, and the udev rule's matches.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const script = join(root, 'deploy/pi/install.sh');
const tmp = mkdtempSync(join(tmpdir(), 'havatar-install-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Writes an executable stub into dir. */
function stub(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

function install(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], {
    cwd: root, encoding: 'utf8', timeout: 60_000,
    env: {
      ...process.env,
      // Never the real system, even if a dry-run check were broken.
      HAVATAR_PREFIX: join(tmp, 'never/opt'), HAVATAR_DATA_DIR: join(tmp, 'never/data'), HAVATAR_ETC_ROOT: join(tmp, 'never/etc'),
      ...env,
    },
  });
}

describe('install.sh --dry-run', () => {
  const noDevices = join(tmp, 'empty-dev');
  mkdirSync(noDevices);
  // No sound cards: ALSA tools that list nothing, whatever the machine has.
  const silent = join(tmp, 'silent-bin');
  stub(silent, 'arecord', 'exit 1');
  stub(silent, 'aplay', 'exit 1');
  const env = { HAVATAR_DEV_ROOT: noDevices, PATH: `${silent}:${process.env.PATH}` };

  it('succeeds and lists every install action in order, changing nothing', () => {
    const res = install(['--dry-run', '--version', 'test-1'], env);
    assert.equal(res.status, 0, res.stderr + res.stdout);
    const out = res.stdout;
    const expected: RegExp[] = [
      /apt-get install -y --no-install-recommends nodejs npm ffmpeg espeak-ng alsa-utils v4l-utils curl ca-certificates openssl/,
      /useradd --system --user-group .* havatar|user havatar exists/,
      /usermod --groups video\\?,audio\\?,dialout havatar/,
      /install -d -o havatar -g havatar -m 0700 .*never\/data/,
      /install -m 0644 .*99-havatar-esp32\.rules .*\/etc\/udev\/rules\.d\/99-havatar-esp32\.rules/,
      /udevadm control --reload-rules/,
      /write .*journald\.conf\.d\/havatar\.conf/,
      /install -d -m 0755 .*never\/opt\/releases\/test-1/,
      /copy .* -> .*never\/opt\/releases\/test-1/,
      /npm --prefix .*releases\/test-1 (ci|run build)/,
      /runuser -u havatar -- env -C .*releases\/test-1 node --import tsx deploy\/pi\/migrate-config\.ts --data-dir .*never\/data --camera sim --mic sim --speaker sim --serial \/dev\/havatar-esp32/,
      /bridge\/main\.ts token --reset/,
      /runuser -u havatar -- env -C .*releases\/test-1 node --import tsx deploy\/pi\/make-tls\.ts --data-dir .*never\/data/,
      /ln -sfn releases\/test-1 .*never\/opt\/current\.new/,
      /mv -T .*current\.new .*never\/opt\/current/,
      /install -m 0644 .*havatar-bridge\.service .*\/etc\/systemd\/system\/havatar-bridge\.service/,
      /systemctl enable havatar-bridge/,
      /systemctl restart havatar-bridge/,
      /curl -fsS --max-time 2 http:\/\/127\.0\.0\.1:5000\/health/,
    ];
    let from = 0;
    for (const re of expected) {
      const m = re.exec(out.slice(from));
      assert.ok(m, `missing or out of order: ${re}\n--- output ---\n${out}`);
      from += m.index + m[0].length;
    }
    assert.equal(existsSync(join(tmp, 'never')), false, 'a dry run created files');
  });

  it('says clearly which device is missing and what it uses instead', () => {
    const res = install(['--dry-run'], env);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /no camera found .*synthetic camera 'sim'/);
    assert.match(res.stderr, /no microphone found .*arecord -l/);
    assert.match(res.stderr, /no speaker found .*aplay -l/);
    assert.match(res.stderr, /no ESP32 serial port found .*\/dev\/havatar-esp32/);
  });

  it('chooses the first camera, the USB sound card and the stable serial name', () => {
    const dev = join(tmp, 'fake-dev');
    mkdirSync(dev);
    for (const name of ['video0', 'video1', 'ttyUSB0']) writeFileSync(join(dev, name), '');
    const bin = join(tmp, 'alsa-bin');
    // The Pi's own cards come first in the listing; the USB one must still win.
    const listing = [
      '**** List of CAPTURE Hardware Devices ****',
      'card 0: vc4hdmi0 [vc4-hdmi-0], device 0: MAI PCM i2s-hifi-0 [MAI PCM i2s-hifi-0]',
      'card 2: Device [USB Audio Device], device 0: USB Audio [USB Audio]',
    ].join('\n');
    stub(bin, 'arecord', `cat <<'EOF'\n${listing}\nEOF`);
    stub(bin, 'aplay', `cat <<'EOF'\n${listing}\nEOF`);
    const res = install(['--dry-run'], { HAVATAR_DEV_ROOT: dev, PATH: `${bin}:${process.env.PATH}` });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`camera: +${dev}/video0`));
    assert.match(res.stdout, /microphone: +plughw:2,0/);
    assert.match(res.stdout, /speaker: +plughw:2,0/);
    assert.match(res.stdout, /serial: +\/dev\/havatar-esp32/);
    // printf %q may escape the commas; the shell reads both forms the same.
    assert.match(res.stdout, new RegExp(`--camera ${dev}/video0 --mic plughw:2\\\\?,0 --speaker plughw:2\\\\?,0`));
  });

  it('refuses an unknown option with the usage', () => {
    const res = install(['--dry-run', '--frobnicate']);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /unknown argument: --frobnicate/);
  });
});

describe('install.sh update', () => {
  // A fake checkout and a temp prefix; systemctl, npm, chown and runuser are stubs, and curl
  // answers the health check for any release except one whose name contains "bad".
  const prefix = join(tmp, 'upd/opt');
  const source = join(tmp, 'upd/src');
  const bin = join(tmp, 'upd/bin');
  const calls = join(tmp, 'upd/calls.log');
  mkdirSync(join(source, 'bridge'), { recursive: true });
  mkdirSync(join(source, 'dist'), { recursive: true });
  writeFileSync(join(source, 'package.json'), '{ "version": "9.9.9", "engines": { "node": ">=20" } }\n');
  writeFileSync(join(source, 'bridge/main.ts'), '');
  writeFileSync(join(source, 'dist/index.html'), '');
  for (const cmd of ['systemctl', 'npm', 'chown', 'runuser']) stub(bin, cmd, `echo "${cmd} $*" >> "${calls}"`);
  stub(bin, 'curl', `echo "curl $*" >> "${calls}"\ncase "$(readlink "${prefix}/current")" in *bad*) exit 7 ;; esac`);
  mkdirSync(join(prefix, 'releases/good-1'), { recursive: true });
  symlinkSync('releases/good-1', join(prefix, 'current'));
  const env = {
    HAVATAR_PREFIX: prefix, HAVATAR_DATA_DIR: join(tmp, 'upd/data'), HAVATAR_ETC_ROOT: join(tmp, 'upd/etc'),
    HAVATAR_SKIP_ROOT_CHECK: '1', HAVATAR_HEALTH_TRIES: '2', PATH: `${bin}:${process.env.PATH}`,
  };
  mkdirSync(join(tmp, 'upd/etc/etc/systemd/system'), { recursive: true });

  it('rolls the current link back when the new release fails its health check', () => {
    const res = install(['update', '--source', source, '--version', 'bad-2'], env);
    assert.equal(res.status, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /failed its health check; back on good-1/);
    assert.equal(readlinkSync(join(prefix, 'current')), 'releases/good-1');
    // The failed release stays for inspection, installed beside the old one.
    assert.ok(existsSync(join(prefix, 'releases/bad-2/bridge/main.ts')));
    const log = readFileSync(calls, 'utf8');
    assert.equal(log.match(/systemctl restart havatar-bridge/g)?.length, 2, log);
    // The release's bridge bundle is built at install (the unit runs build/bridge.mjs).
    assert.match(log, /npm --prefix \S+\/releases\/bad-2 run build:bridge/, log);
  });

  it('switches to a healthy release and prunes the oldest beyond --keep', () => {
    const res = install(['update', '--source', source, '--version', 'good-3', '--keep', '2'], env);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /updated good-1 -> good-3/);
    assert.equal(readlinkSync(join(prefix, 'current')), 'releases/good-3');
    assert.deepEqual(readdirSync(join(prefix, 'releases')).sort(), ['bad-2', 'good-3']);
    assert.ok(statSync(join(tmp, 'upd/etc/etc/systemd/system/havatar-bridge.service')).isFile());
  });

  it('refuses to overwrite an existing release', () => {
    const res = install(['update', '--source', source, '--version', 'good-3'], env);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /already exists/);
    assert.equal(readlinkSync(join(prefix, 'current')), 'releases/good-3');
  });
});

describe('shell scripts', () => {
  const find = (dir: string): string[] => {
    const abs = join(root, dir);
    if (!existsSync(abs)) return [];
    return readdirSync(abs, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.sh') ? [join(dir, e.name)] : []);
  };
  const scripts = ['deploy', 'firmware'].flatMap((dir) => find(dir));
  it('includes the installer', () => assert.ok(scripts.includes('deploy/pi/install.sh'), scripts.join(', ')));
  it('pass shellcheck', { skip: has('shellcheck') ? false : 'shellcheck not installed (apt-get install shellcheck)' }, () => {
    const res = spawnSync('shellcheck', ['--severity=style', ...scripts], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });
});

describe('havatar-bridge.service', () => {
  const unit = readFileSync(join(root, 'deploy/pi/havatar-bridge.service'), 'utf8');
  const canVerify = has('systemd-analyze') ? false : 'systemd-analyze not installed (apt-get install systemd)';
  // verify exits 0 on a misspelt key or a bad value and only logs it; without a terminal systemd
  // would log to the journal, so ask for the console and treat every logged line as a failure.
  const verify = (path: string) => spawnSync('systemd-analyze', ['verify', path], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, SYSTEMD_LOG_TARGET: 'console', SYSTEMD_LOG_COLOR: '0' },
  });

  it('passes systemd-analyze verify without a warning', { skip: canVerify }, () => {
    // Verified under its real name in a temp dir. The only message tolerated is a missing
    // /usr/bin/node on a machine without Debian's Node.js; any other line is a real problem.
    const dir = mkdtempSync(join(tmp, 'unit-'));
    copyFileSync(join(root, 'deploy/pi/havatar-bridge.service'), join(dir, 'havatar-bridge.service'));
    const res = verify(join(dir, 'havatar-bridge.service'));
    const lines = `${res.stdout}${res.stderr}`.split('\n').filter((l) => l.trim() && !/\/usr\/bin\/node.*(not executable|No such file)/.test(l));
    assert.deepEqual(lines, []);
  });

  it('verify does catch a broken unit (so the check above means something)', { skip: canVerify }, () => {
    const dir = mkdtempSync(join(tmp, 'unit-'));
    writeFileSync(join(dir, 'havatar-bridge.service'), unit.replace('Restart=on-failure', 'Restart=sometimes').replace('ProtectSystem=', 'ProtectSytem='));
    const res = verify(join(dir, 'havatar-bridge.service'));
    const out = `${res.stdout}${res.stderr}`;
    assert.match(out, /restart specifier/);
    assert.match(out, /Unknown key 'ProtectSytem'/);
  });

  it('runs the current release as havatar with restart on failure and logs to journald', () => {
    assert.match(unit, /^User=havatar$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^StandardOutput=journal$/m);
    assert.match(unit, /^WorkingDirectory=\/opt\/havatar\/current$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/node (--[a-z-]+(=\S+)? )*build\/bridge\.mjs .*--data-dir \/var\/lib\/havatar/m);
    // Groups come from the user (video, audio, dialout); the unit must not widen them.
    assert.doesNotMatch(unit, /SupplementaryGroups|AmbientCapabilities/);
  });

  it('starts the bridge with the node flags and environment the dev stack uses', async () => {
    const { BRIDGE_ENV, BRIDGE_NODE_FLAGS } = await import('../../scripts/build-bridge.ts');
    const exec = /^ExecStart=\/usr\/bin\/node (.*?) ?build\/bridge\.mjs /m.exec(unit)![1]!;
    assert.deepEqual(exec.split(' ').filter(Boolean), BRIDGE_NODE_FLAGS);
    for (const [k, v] of Object.entries(BRIDGE_ENV)) assert.match(unit, new RegExp(`^Environment=${k}=${v}$`, 'm'));
  });

  it('its ExecStart names options the bridge CLI has', () => {
    const main = readFileSync(join(root, 'bridge/main.ts'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    // Node's own flags come before the script; the bridge's after it.
    const bridgeArgs = exec.slice(exec.indexOf('build/bridge.mjs'));
    for (const [, name] of bridgeArgs.matchAll(/--([a-z-]+)/g)) {
      assert.match(main, new RegExp(`'?${name}'?: \\{ type:`), `bridge/main.ts has no --${name}`);
    }
  });
});

describe('99-havatar-esp32.rules', () => {
  const rules = readFileSync(join(root, 'deploy/pi/99-havatar-esp32.rules'), 'utf8')
    .split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  it('names CP210x and CH340 boards /dev/havatar-esp32 for the dialout group', () => {
    const vendors = rules.map((l) => /ATTRS\{idVendor\}=="([0-9a-f]{4})"/.exec(l)?.[1]);
    assert.ok(vendors.includes('10c4') && vendors.includes('1a86'), vendors.join(','));
    for (const l of rules) {
      assert.match(l, /^SUBSYSTEM=="tty", /);
      assert.match(l, /SYMLINK\+="havatar-esp32"/);
      assert.match(l, /GROUP="dialout", MODE="0660"$/);
    }
  });
  it('is well-formed: every clause is KEY op "value"', () => {
    for (const l of rules) {
      for (const clause of l.split(/,\s*/)) assert.match(clause, /^[A-Z]+(\{[a-zA-Z]+\})?(==|!=|\+=|=)"[^"]*"$/, `${clause} in: ${l}`);
    }
  });
});
