// The devices and files the config names become FFmpeg arguments (`-f alsa <name>`, `-i <camera>`)
// and files the bridge opens (serial port, TLS certificate). Anything an ALSA name can be is too
// much: `file:FILE=x,FORMAT=raw` makes FFmpeg write the talk audio to x, `tee:` and `plug:{…}`
// chain to the same. So each field accepts an allow-list of real device names, nothing else, and
// a refusal says which names are allowed.

import type { Checker } from '../../protocol/check.ts';

/** An ALSA card: its index (0..31) or its id (`aplay -l` shows it in brackets' first word, e.g. "Device"). */
const CARD = String.raw`(?:\d{1,2}|[A-Za-z][A-Za-z0-9_]{0,31})`;
const DEV = String.raw`\d{1,2}`;

/**
 * ALSA PCM names that reach a sound card and nothing else: `default`, `sysdefault[:CARD=c]`,
 * `hw:` / `plughw:` with `N[,M]`, `c[,M]` or `CARD=c[,DEV=M]`; `sim` is the simulated device.
 */
const ALSA_NAME = new RegExp(
  String.raw`^(?:sim|default|sysdefault(?::(?:CARD=)?${CARD})?|(?:plug)?hw:(?:${CARD}(?:,${DEV})?|CARD=${CARD}(?:,DEV=${DEV})?))$`,
);

/** A name in a udev by-id/by-path folder: one path segment, no dot segments. */
const LINK_NAME = String.raw`[A-Za-z0-9][\w.:@+-]{0,200}`;

/**
 * V4L2 capture devices; `rpicam` is the Pi camera through rpicam-vid; `sim` is the synthetic camera
 * (raw frames), `sim-mjpeg` and `sim-h264` the synthetic camera encoding by itself, as USB cameras do.
 */
const CAMERA_NAME = new RegExp(String.raw`^(?:sim|sim-mjpeg|sim-h264|rpicam|/dev/video\d{1,3}|/dev/v4l/by-(?:id|path)/${LINK_NAME})$`);

/**
 * Serial lines: /dev/ttyUSB0, ttyACM0, ttyAMA0, ttyS0… (never the virtual consoles /dev/ttyN),
 * the Pi's /dev/serialN aliases, udev's /dev/serial/by-id|by-path links, and the installer's
 * /dev/havatar-esp32 link (deploy/pi). The simulator's pty is passed with --serial, not here.
 */
const SERIAL_NAME = new RegExp(String.raw`^(?:/dev/tty[A-Z][A-Za-z]{0,7}\d{1,3}|/dev/serial\d|/dev/serial/by-(?:id|path)/${LINK_NAME}|/dev/havatar-esp32)$`);

const matching = (pattern: RegExp, what: string): Checker => (v) => {
  if (typeof v !== 'string') return 'must be a string';
  return pattern.test(v) ? null : `must be ${what}`;
};

export const alsaDevice = matching(
  ALSA_NAME,
  'an ALSA device: "default", "sysdefault:CARD=name", "hw:N[,M]", "plughw:N[,M]", "hw:CARD=name,DEV=n", "plughw:CARD=name,DEV=n" (or "sim"); plugin strings are refused',
);

export const cameraDevice = matching(CAMERA_NAME, 'a V4L2 device: "/dev/videoN", "/dev/v4l/by-id/…", "/dev/v4l/by-path/…", "rpicam" (the Pi camera), or "sim", "sim-mjpeg", "sim-h264"');

export const serialPort = matching(
  SERIAL_NAME,
  'a serial device: "/dev/ttyUSBn", "/dev/ttyACMn", "/dev/ttyAMAn", "/dev/ttySn", "/dev/serialN", "/dev/serial/by-id/…" or "/dev/havatar-esp32"',
);

const SEGMENT = /^[\w.@+-]{1,128}$/;
const TLS_EXTENSION = /\.(?:pem|crt|cer|key)$/;
/** Files that are no certificate and would hang or leak on read (/dev/zero, /proc/self/environ). */
const SPECIAL_ROOTS = new Set(['dev', 'proc', 'sys', 'run']);

/**
 * The TLS certificate and key (and the CA the robot trusts for RTSPS): an absolute path to a .pem/.crt/.cer/.key file, without `.`/`..`
 * or empty segments or unusual characters, outside /dev, /proc, /sys and /run.
 */
export const tlsFile: Checker = (v) => {
  if (typeof v !== 'string') return 'must be a string';
  const segments = v.split('/');
  const plain = v.length <= 256 && segments[0] === '' && segments.length > 2 && !SPECIAL_ROOTS.has(segments[1]!)
    && segments.slice(1).every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!plain) return 'must be an absolute path of letters, digits and . _ @ + - without "." or ".." segments, outside /dev, /proc, /sys and /run';
  return TLS_EXTENSION.test(v) ? null : 'must name a .pem, .crt, .cer or .key file';
};

/** The config fields these checkers guard: a saved value they refuse is reset to its default on load. */
export const DEVICE_FIELDS = ['camera.device', 'audio.mic_device', 'audio.speaker_device', 'motors.serial_port', 'https.cert_path', 'https.key_path', 'server_mode.rtsp_ca_file'] as const;
