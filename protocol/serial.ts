// The serial protocol between the bridge (Raspberry Pi) and the ESP32 motor board. Defined here
// once; the simulator (bridge/sim) and the firmware (firmware/esp32) implement the same, and
// protocol/vectors/serial.json holds test vectors both sides are tested against.
//
// Framing: ASCII lines, NMEA style, 115200 8N1:
//     $<TYPE>,<field>,<field>...*<XX>\n
// XX is the XOR of every byte between '$' and '*', as two upper-case hex digits. A line longer
// than SERIAL_MAX_LINE, with a bad checksum, or with fields out of range is ignored (and answered
// with $E) and never moves a motor.
//
// Bridge → ESP32
//   $M,<seq>,<left>,<right>   set track PWM, -255..255 each; seq 0..65535. Feeds the watchdog.
//   $S,<seq>                  stop now.
//   $Q,<seq>                  ask for a status frame now.
// ESP32 → bridge
//   $A,<seq>,<code>           ack of M/S/Q; code 0 applied, 1 out of range (the frame was intact
//                             but a value was not: nothing applied, answered with $A instead of $E
//                             so the sender learns at once which command failed).
//   $T,<left>,<right>,<mv>,<flags>  status, every 200 ms and after Q: PWM now (after ramping),
//                             battery millivolts, flags (bit 0 watchdog tripped, since the last
//                             valid $M; bit 1 stopped: both tracks at 0 PWM now).
//   $E,<code>                 a bad line: 1 checksum, 2 syntax, 3 too long, 4 unknown type,
//                             5 a value out of range (when its seq could not be read for an $A).
//   $H,<firmware>,<protocol>  sent once at boot.
// Watchdog: the ESP32 stops both motors when no valid $M arrives for ESP32_WATCHDOG_MS; the bridge
// re-sends the current target every SERIAL_REFRESH_MS, so only a dead bridge or link trips it.
//
// Checks, in this order (the vectors pin it): length (> SERIAL_MAX_LINE characters, CR/LF not
// counted) → framing (`$`, printable ASCII without `$`/`*`, `*`, two hex digits) → checksum →
// type → field count and syntax (integers: optional `-`, 1-6 digits) → ranges. A `$` always starts
// a new line: noise before it (an ESP32's boot chatter) is reported as its own bad line and the
// frame that follows is still read.

export const SERIAL_PROTOCOL_VERSION = 1;
export const SERIAL_BAUD = 115200;
export const SERIAL_MAX_LINE = 64;
export const PWM_MAX = 255;

export const SerialFlag = { watchdog: 1, stopped: 2 } as const;
export const SerialError = { checksum: 1, syntax: 2, tooLong: 3, unknownType: 4, range: 5 } as const;
export const SerialAck = { applied: 0, outOfRange: 1 } as const;

export type HostFrame =
  | { type: 'M'; seq: number; left: number; right: number }
  | { type: 'S'; seq: number }
  | { type: 'Q'; seq: number };
export type DeviceFrame =
  | { type: 'A'; seq: number; code: number }
  | { type: 'T'; left: number; right: number; mv: number; flags: number }
  | { type: 'E'; code: number }
  | { type: 'H'; firmware: string; protocol: number };
export type SerialFrame = HostFrame | DeviceFrame;

export function checksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i) & 0xff;
  return x.toString(16).toUpperCase().padStart(2, '0');
}

function fieldsOf(frame: SerialFrame): (string | number)[] {
  switch (frame.type) {
    case 'M': return [frame.seq, frame.left, frame.right];
    case 'S': case 'Q': return [frame.seq];
    case 'A': return [frame.seq, frame.code];
    case 'T': return [frame.left, frame.right, frame.mv, frame.flags];
    case 'E': return [frame.code];
    case 'H': return [frame.firmware, frame.protocol];
  }
}

/** Encodes one frame as a line, newline included. */
export function encodeSerial(frame: SerialFrame): string {
  const body = [frame.type, ...fieldsOf(frame)].join(',');
  return `$${body}*${checksum(body)}\n`;
}

/**
 * A failed decode carries the $E code; for an intact M/S/Q frame with a value out of range it also
 * carries the frame's `seq`, so the device can answer `$A,<seq>,1`.
 */
export type SerialDecode =
  | { ok: true; frame: SerialFrame }
  | { ok: false; code: number; error: string; seq?: number };

const INT = /^-?\d{1,6}$/;
const bad = (code: number, error: string): SerialDecode => ({ ok: false, code, error });

/** Integers in their ranges; null when a field is missing or not an integer, 'range' when out of range. */
function ints(parts: string[], ranges: [number, number][]): number[] | null | 'range' {
  if (parts.length !== ranges.length) return null;
  const out: number[] = [];
  let outOfRange = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (!INT.test(p)) return null;
    const n = Number(p);
    const [lo, hi] = ranges[i]!;
    if (n < lo || n > hi) outOfRange = true;
    out.push(n);
  }
  return outOfRange ? 'range' : out;
}

const SEQ: [number, number] = [0, 65535];
const PWM: [number, number] = [-PWM_MAX, PWM_MAX];

/** Decodes one line (without or with its trailing newline / carriage return). */
export function decodeSerial(line: string): SerialDecode {
  // CR/LF are terminators wherever the caller left them (LineSplitter keeps a CR before the LF).
  const text = line.replace(/\r?\n?$/, '');
  if (text.length > SERIAL_MAX_LINE) return bad(SerialError.tooLong, 'line too long');
  // Printable ASCII only: the checksum is over bytes, and a non-ASCII character has no single byte.
  const m = /^\$([\x20-\x23\x25-\x29\x2B-\x7E]*)\*([0-9A-Fa-f]{2})$/.exec(text);
  if (!m) return bad(SerialError.syntax, 'not a $...*XX frame');
  const body = m[1]!;
  if (checksum(body) !== m[2]!.toUpperCase()) return bad(SerialError.checksum, 'checksum mismatch');
  const [type, ...parts] = body.split(',');
  const syntax = bad(SerialError.syntax, `bad fields for ${type}`);
  const range = (seq?: number): SerialDecode =>
    seq !== undefined && seq >= SEQ[0] && seq <= SEQ[1]
      ? { ok: false, code: SerialError.range, error: `value out of range for ${type}`, seq }
      : bad(SerialError.range, `value out of range for ${type}`);
  const seqOf = () => (INT.test(parts[0] ?? '') ? Number(parts[0]) : undefined);
  switch (type) {
    case 'M': {
      const n = ints(parts, [SEQ, PWM, PWM]);
      if (n === 'range') return range(seqOf());
      return n ? { ok: true, frame: { type, seq: n[0]!, left: n[1]!, right: n[2]! } } : syntax;
    }
    case 'S': case 'Q': {
      const n = ints(parts, [SEQ]);
      if (n === 'range') return range();
      return n ? { ok: true, frame: { type, seq: n[0]! } } : syntax;
    }
    case 'A': {
      const n = ints(parts, [SEQ, [0, 255]]);
      if (n === 'range') return range();
      return n ? { ok: true, frame: { type, seq: n[0]!, code: n[1]! } } : syntax;
    }
    case 'T': {
      const n = ints(parts, [PWM, PWM, [0, 65535], [0, 255]]);
      if (n === 'range') return range();
      return n ? { ok: true, frame: { type, left: n[0]!, right: n[1]!, mv: n[2]!, flags: n[3]! } } : syntax;
    }
    case 'E': {
      const n = ints(parts, [[0, 255]]);
      if (n === 'range') return range();
      return n ? { ok: true, frame: { type, code: n[0]! } } : syntax;
    }
    case 'H': {
      if (parts.length !== 2 || !/^[\w.-]{1,16}$/.test(parts[0]!)) return syntax;
      const n = ints([parts[1]!], [[0, 255]]);
      if (n === 'range') return range();
      return n ? { ok: true, frame: { type, firmware: parts[0]!, protocol: n[0]! } } : syntax;
    }
    default:
      return bad(SerialError.unknownType, `unknown frame type ${JSON.stringify(type)}`);
  }
}

/**
 * Splits a byte stream into lines, dropping runaway lines instead of buffering without end. Feed it
 * text decoded as latin1 (one character per byte). A `$` starts a new line: what came before it is
 * handed out as a (bad) line of its own. Blank lines are skipped.
 */
export class LineSplitter {
  private buf = '';
  private discarding = false;
  push(chunk: string): string[] {
    const out: string[] = [];
    for (const ch of chunk) {
      if (ch === '$' && (this.buf.length > 0 || this.discarding)) {
        if (!this.discarding) out.push(this.buf);
        this.buf = '$';
        this.discarding = false;
      } else if (ch === '\n') {
        // Blank lines (a terminal's bare CR/LF) are not frames and not worth an $E.
        if (!this.discarding && this.buf !== '' && this.buf !== '\r') out.push(this.buf);
        this.buf = '';
        this.discarding = false;
      } else if (!this.discarding) {
        this.buf += ch;
        if (this.buf.length > SERIAL_MAX_LINE + 1) {
          // Report the runaway once, as an over-long line, then skip to the next newline.
          out.push(this.buf);
          this.buf = '';
          this.discarding = true;
        }
      }
    }
    return out;
  }
}

/** Track speed in [-1, 1] → PWM duty -255..255; anything that is not a finite number is 0 (stop). */
export const toPwm = (unit: number): number =>
  // Rounded away from zero symmetrically: -0.5 and 0.5 give -128 and 128 (Math.round alone would not).
  Number.isFinite(unit) ? Math.sign(unit) * Math.round(Math.min(1, Math.abs(unit)) * PWM_MAX) : 0;
export const fromPwm = (pwm: number): number => pwm / PWM_MAX;
