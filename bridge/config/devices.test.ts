import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alsaDevice, cameraDevice, serialPort, tlsFile } from './devices.ts';
import type { Checker } from '../../protocol/check.ts';

function accepts(check: Checker, values: string[]): void {
  for (const v of values) assert.equal(check(v), null, `${JSON.stringify(v)} should be accepted`);
}
function refuses(check: Checker, values: unknown[]): void {
  for (const v of values) assert.equal(typeof check(v), 'string', `${JSON.stringify(v)} should be refused`);
}

describe('device allow-lists', () => {
  test('ALSA: real device names only, never a plugin string', () => {
    accepts(alsaDevice, [
      'sim', 'default', 'sysdefault', 'sysdefault:CARD=Device', 'sysdefault:1', 'hw:0', 'hw:1,0', 'plughw:2,0', 'plughw:Device,0',
      'hw:CARD=Device,DEV=0', 'plughw:CARD=USB_Audio,DEV=1', 'hw:CARD=vc4hdmi0',
    ]);
    refuses(alsaDevice, [
      'file:FILE=x,FORMAT=raw', 'file:x', 'tee:default,x', 'plug:{slave="file:FILE=x"}', 'plug:file', 'dmix', 'null', 'pulse', 'asym:x',
      'hw:0,0,FILE=x', 'hw:CARD=x,DEV=0,FORMAT=raw', 'hw:CARD=x,FILE=y', 'hw:', 'hw:1,', 'hw:1,0x', 'plughw:-1,0', 'hw:CARD=a b',
      '|touch x', 'default|cmd', 'default ', ' default', 'default\n', '-y', '../x', '/tmp/x', '', 'DEFAULT', 'hw:123,0', 'sysdefault:CARD=x,DEV=0',
      42, null, ['default'],
    ]);
  });

  test('the refusal lists the allowed names', () => {
    assert.match(alsaDevice('file:FILE=x') ?? '', /"default".*"sysdefault:CARD=name".*"plughw:N\[,M\]".*plugin strings are refused/);
    assert.match(cameraDevice('/tmp/x') ?? '', /\/dev\/videoN/);
    assert.match(serialPort('/tmp/x') ?? '', /\/dev\/ttyUSBn/);
  });

  test('camera: /dev/videoN, udev v4l links or sim', () => {
    accepts(cameraDevice, ['sim', 'sim-mjpeg', 'sim-h264', 'rpicam', '/dev/video0', '/dev/video12', '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0', '/dev/v4l/by-path/platform-xhci-hcd.0-usb-0:1:1.0-video-index0']);
    refuses(cameraDevice, [
      '/dev/video', '/dev/video0/../../tmp/x', '/dev/../tmp/x', '/dev/v4l/by-id/..', '/dev/v4l/by-id/.x', '/dev/v4l/by-id/a/b', '/dev/sda', '/tmp/video0',
      'video0', 'file:FILE=x', '|cmd', '/dev/video0 ', '/dev/video0\0', 'sim2', '/dev/video1234',
    ]);
  });

  test('serial: tty devices, udev serial links and the installer link; never a file or a console', () => {
    accepts(serialPort, ['/dev/ttyUSB0', '/dev/ttyACM1', '/dev/ttyAMA0', '/dev/ttyS0', '/dev/serial0', '/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0', '/dev/serial/by-path/platform-3f980000.usb-usb-0:1.3:1.0-port0', '/dev/havatar-esp32']);
    refuses(serialPort, ['/dev/tty', '/dev/tty0', '/dev/tty1', '/dev/sda1', '/dev/mem', '/dev/null', '/tmp/ttyUSB0', '/dev/serial/by-id/../../sda', '/dev/ttyUSB0/..', 'ttyUSB0', '../x', '|cmd', '/dev/havatar-esp32x']);
  });

  test('TLS files: absolute .pem/.crt/.cer/.key paths outside /dev, /proc, /sys and /run', () => {
    accepts(tlsFile, ['/etc/havatar/tls/cert.pem', '/var/lib/havatar/key.pem', '/home/pi/.config/havatar/server.crt', '/etc/ssl/private/robot.key']);
    refuses(tlsFile, [
      'cert.pem', './cert.pem', '../cert.pem', '/etc/ssl/../shadow.pem', '/etc/./x.pem', '/etc//x.pem', '/etc/x.pem/', '/x.pem', '/dev/zero', '/dev/shm/x.pem',
      '/proc/self/environ', '/sys/x.pem', '/run/secrets/x.pem', '/etc/shadow', '/etc/ssl/cert.pem\0', '/etc/ssl/a b.pem', `/${'a'.repeat(300)}.pem`,
    ]);
  });
});
