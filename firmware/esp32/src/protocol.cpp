// Plain C++17 (no Arduino, no heap): the codec and the board's state machine. Every rule here
// mirrors protocol/serial.ts or bridge/sim/esp32.ts; where the reason is the protocol's, it is
// documented there.
#include "protocol.h"

#include <cstdio>
#include <cstring>

namespace havatar {

namespace {

const int32_t kSeqMax = 65535;

struct Range {
  int32_t lo;
  int32_t hi;
};
const Range kSeq = {0, kSeqMax};
const Range kPwm = {-kPwmMax, kPwmMax};
const Range kByte = {0, 255};
const Range kMv = {0, 65535};

// A field of the body: a slice, not a copy.
struct Field {
  const char* p;
  size_t n;
};
// The most fields any frame has is T's four after the type; one more tells "too many" apart.
const size_t kMaxFields = 6;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Printable ASCII without `$` and `*`: the checksum is over bytes, and those two delimit the frame.
bool isBodyByte(unsigned char c) { return c >= 0x20 && c <= 0x7E && c != '$' && c != '*'; }

// The protocol's integer: optional '-', then 1..6 digits (so it always fits an int32).
bool parseInt(const Field& f, int32_t* out) {
  size_t i = 0;
  bool negative = false;
  if (f.n > 0 && f.p[0] == '-') {
    negative = true;
    i = 1;
  }
  const size_t digits = f.n - i;
  if (digits < 1 || digits > 6) return false;
  int32_t v = 0;
  for (; i < f.n; i++) {
    if (!isDigit(f.p[i])) return false;
    v = v * 10 + (f.p[i] - '0');
  }
  *out = negative ? -v : v;
  return true;
}

enum class Ints { kOk, kSyntax, kRange };

// Like ints() in serial.ts: a count mismatch or a non-integer is a syntax error, and wins over a
// range error in an earlier field.
Ints parseInts(const Field* fields, size_t count, const Range* ranges, size_t want, int32_t* out) {
  if (count != want) return Ints::kSyntax;
  bool outOfRange = false;
  for (size_t i = 0; i < want; i++) {
    if (!parseInt(fields[i], &out[i])) return Ints::kSyntax;
    if (out[i] < ranges[i].lo || out[i] > ranges[i].hi) outOfRange = true;
  }
  return outOfRange ? Ints::kRange : Ints::kOk;
}

Decoded failure(uint8_t code) {
  Decoded d;
  d.ok = false;
  d.error = code;
  return d;
}

bool isFirmwareName(const Field& f) {
  if (f.n < 1 || f.n > kMaxFirmwareName) return false;
  for (size_t i = 0; i < f.n; i++) {
    const char c = f.p[i];
    const bool word = isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!word && c != '.' && c != '-') return false;
  }
  return true;
}

void appendInt(char* out, size_t cap, size_t* len, int32_t v) {
  if (*len >= cap) return;
  const int n = std::snprintf(out + *len, cap - *len, ",%ld", static_cast<long>(v));
  *len += n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace

uint8_t checksum(const char* body, size_t len) {
  uint8_t x = 0;
  for (size_t i = 0; i < len; i++) x ^= static_cast<uint8_t>(body[i]);
  return x;
}

Decoded decode(const char* line, size_t len) {
  // CR/LF are terminators wherever the caller left them (as serial.ts's /\r?\n?$/).
  if (len > 0 && line[len - 1] == '\n') len--;
  if (len > 0 && line[len - 1] == '\r') len--;
  if (len > kMaxLine) return failure(err::kTooLong);

  // Framing: `$`, body bytes, `*`, exactly two hex digits, end.
  if (len < 1 || line[0] != '$') return failure(err::kSyntax);
  size_t star = 1;
  while (star < len && isBodyByte(static_cast<unsigned char>(line[star]))) star++;
  if (star >= len || line[star] != '*' || len != star + 3) return failure(err::kSyntax);
  const int hi = hexValue(line[star + 1]);
  const int lo = hexValue(line[star + 2]);
  if (hi < 0 || lo < 0) return failure(err::kSyntax);

  const char* body = line + 1;
  const size_t bodyLen = star - 1;
  if (checksum(body, bodyLen) != static_cast<uint8_t>(hi * 16 + lo)) return failure(err::kChecksum);

  // Split on ',': the type, then up to kMaxFields fields (more only matters as "too many").
  Field type = {body, 0};
  Field fields[kMaxFields];
  size_t count = 0;
  bool tooMany = false;
  {
    size_t start = 0;
    bool first = true;
    for (size_t i = 0; i <= bodyLen; i++) {
      if (i < bodyLen && body[i] != ',') continue;
      const Field f = {body + start, i - start};
      if (first) {
        type = f;
        first = false;
      } else if (count < kMaxFields) {
        fields[count++] = f;
      } else {
        tooMany = true;
      }
      start = i + 1;
    }
  }
  if (type.n != 1) return failure(err::kUnknownType);
  const char t = type.p[0];
  if (std::strchr("MSQATEH", t) == nullptr) return failure(err::kUnknownType);
  // A count past kMaxFields can match no frame: report it as the field-count error it is.
  if (tooMany) return failure(err::kSyntax);

  Decoded d;
  d.frame.type = t;
  int32_t v[kMaxFields] = {0};
  Ints r = Ints::kOk;
  switch (t) {
    case 'M': {
      const Range ranges[] = {kSeq, kPwm, kPwm};
      r = parseInts(fields, count, ranges, 3, v);
      if (r == Ints::kRange) {
        // An intact frame whose seq can be read and is itself in range is answered by seq.
        Decoded out = failure(err::kRange);
        int32_t seq = 0;
        if (parseInt(fields[0], &seq) && seq >= kSeq.lo && seq <= kSeq.hi) {
          out.hasSeq = true;
          out.seq = seq;
        }
        return out;
      }
      d.frame.seq = v[0];
      d.frame.left = v[1];
      d.frame.right = v[2];
      break;
    }
    case 'S':
    case 'Q': {
      const Range ranges[] = {kSeq};
      r = parseInts(fields, count, ranges, 1, v);
      d.frame.seq = v[0];
      break;
    }
    case 'A': {
      const Range ranges[] = {kSeq, kByte};
      r = parseInts(fields, count, ranges, 2, v);
      d.frame.seq = v[0];
      d.frame.code = v[1];
      break;
    }
    case 'T': {
      const Range ranges[] = {kPwm, kPwm, kMv, kByte};
      r = parseInts(fields, count, ranges, 4, v);
      d.frame.left = v[0];
      d.frame.right = v[1];
      d.frame.mv = v[2];
      d.frame.flags = v[3];
      break;
    }
    case 'E': {
      const Range ranges[] = {kByte};
      r = parseInts(fields, count, ranges, 1, v);
      d.frame.code = v[0];
      break;
    }
    case 'H': {
      if (count != 2 || !isFirmwareName(fields[0])) return failure(err::kSyntax);
      const Range ranges[] = {kByte};
      r = parseInts(fields + 1, 1, ranges, 1, v);
      std::memcpy(d.frame.firmware, fields[0].p, fields[0].n);
      d.frame.firmware[fields[0].n] = '\0';
      d.frame.protocol = v[0];
      break;
    }
    default:
      return failure(err::kUnknownType);
  }
  if (r == Ints::kSyntax) return failure(err::kSyntax);
  if (r == Ints::kRange) return failure(err::kRange);
  d.ok = true;
  return d;
}

size_t encode(const Frame& frame, char* out, size_t cap) {
  if (cap < 2) return 0;
  char body[kMaxEncoded];
  size_t n = 0;
  body[n++] = frame.type;
  body[n] = '\0';
  switch (frame.type) {
    case 'M':
      appendInt(body, sizeof body, &n, frame.seq);
      appendInt(body, sizeof body, &n, frame.left);
      appendInt(body, sizeof body, &n, frame.right);
      break;
    case 'S':
    case 'Q':
      appendInt(body, sizeof body, &n, frame.seq);
      break;
    case 'A':
      appendInt(body, sizeof body, &n, frame.seq);
      appendInt(body, sizeof body, &n, frame.code);
      break;
    case 'T':
      appendInt(body, sizeof body, &n, frame.left);
      appendInt(body, sizeof body, &n, frame.right);
      appendInt(body, sizeof body, &n, frame.mv);
      appendInt(body, sizeof body, &n, frame.flags);
      break;
    case 'E':
      appendInt(body, sizeof body, &n, frame.code);
      break;
    case 'H': {
      const size_t fw = std::strlen(frame.firmware);
      if (fw > kMaxFirmwareName) return 0;
      body[n++] = ',';
      std::memcpy(body + n, frame.firmware, fw);
      n += fw;
      body[n] = '\0';
      appendInt(body, sizeof body, &n, frame.protocol);
      break;
    }
    default:
      return 0;
  }
  if (n >= sizeof body) return 0;
  const int written = std::snprintf(out, cap, "$%s*%02X\n", body, static_cast<unsigned>(checksum(body, n)));
  if (written < 0 || static_cast<size_t>(written) >= cap) return 0;
  return static_cast<size_t>(written);
}

// ---- LineAssembler -------------------------------------------------------------------------

bool LineAssembler::emit() {
  std::memcpy(out_, buf_, len_);
  out_[len_] = '\0';
  outLen_ = len_;
  return true;
}

bool LineAssembler::push(uint8_t c) {
  if (c == '$' && (len_ > 0 || discarding_)) {
    const bool ready = !discarding_ && emit();
    buf_[0] = '$';
    len_ = 1;
    discarding_ = false;
    return ready;
  }
  if (c == '\n') {
    // Blank lines (a terminal's bare CR/LF) are not frames and not worth an $E.
    const bool blank = len_ == 0 || (len_ == 1 && buf_[0] == '\r');
    const bool ready = !discarding_ && !blank && emit();
    len_ = 0;
    discarding_ = false;
    return ready;
  }
  if (discarding_) return false;
  buf_[len_++] = static_cast<char>(c);
  if (len_ > kMaxLine + 1) {
    // Report the runaway once, as an over-long line, then skip to the next newline.
    emit();
    len_ = 0;
    discarding_ = true;
    return true;
  }
  return false;
}

// ---- Controller ----------------------------------------------------------------------------

Controller::Controller(Sink& sink, const char* firmwareName) : sink_(sink) {
  std::strncpy(firmware_, firmwareName, kMaxFirmwareName);
  firmware_[kMaxFirmwareName] = '\0';
}

void Controller::begin(uint32_t nowMs) {
  started_ = true;
  lastTickMs_ = nowMs;
  lastStatusMs_ = nowMs;
  Frame h;
  h.type = 'H';
  std::strncpy(h.firmware, firmware_, sizeof h.firmware);
  h.protocol = kProtocolVersion;
  send(h);
}

void Controller::setBatteryMv(uint32_t mv) { batteryMv_ = mv > 65535 ? 65535 : mv; }

uint8_t Controller::flags() const {
  const bool stopped = left() == 0 && right() == 0;
  return static_cast<uint8_t>((watchdogTripped_ ? flag::kWatchdog : 0) | (stopped ? flag::kStopped : 0));
}

int Controller::pwmOf(int32_t scaled) {
  // Math.round() as the simulator reports it: halves go up (toward +infinity).
  const int32_t shifted = scaled + kPwmScale / 2;
  const int32_t q = shifted / kPwmScale;
  return static_cast<int>((shifted % kPwmScale != 0 && shifted < 0) ? q - 1 : q);
}

void Controller::feed(const uint8_t* data, size_t len, uint32_t nowMs) {
  for (size_t i = 0; i < len; i++) feed(data[i], nowMs);
}

void Controller::feed(uint8_t byte, uint32_t nowMs) {
  if (lines_.push(byte)) onLine(lines_.line(), lines_.length(), nowMs);
}

void Controller::onLine(const char* line, size_t len, uint32_t nowMs) {
  const Decoded got = decode(line, len);
  if (!got.ok) {
    framesRejected_++;
    if (got.error == err::kRange && got.hasSeq) sendAck(got.seq, ack::kOutOfRange);
    else sendError(got.error);
    return;
  }
  const Frame& f = got.frame;
  switch (f.type) {
    case 'M':
      framesReceived_++;
      targetLeft_ = f.left;
      targetRight_ = f.right;
      armed_ = true;
      lastMotorMs_ = nowMs;
      watchdogTripped_ = false;
      sendAck(f.seq, ack::kApplied);
      return;
    case 'S':
      framesReceived_++;
      hardStop();
      sendAck(f.seq, ack::kApplied);
      sendStatus();
      return;
    case 'Q':
      framesReceived_++;
      sendAck(f.seq, ack::kApplied);
      sendStatus();
      return;
    default:
      // A device frame sent to the device is well-formed but not something it accepts.
      framesRejected_++;
      sendError(err::kUnknownType);
      return;
  }
}

void Controller::hardStop() {
  // Stop and watchdog cut the drive at once: no ramp-down when stopping is the point.
  targetLeft_ = targetRight_ = 0;
  left_ = right_ = 0;
}

namespace {
int32_t slew(int32_t now, int32_t target, int64_t step) {
  const int64_t diff = static_cast<int64_t>(target) - now;
  if (diff <= step && -diff <= step) return target;
  return diff > 0 ? static_cast<int32_t>(now + step) : static_cast<int32_t>(now - step);
}
}  // namespace

void Controller::tick(uint32_t nowMs) {
  // Before begin() there is no time base yet, and nothing can have moved.
  if (!started_) return;
  // Unsigned differences stay right across the 49-day millis() wrap.
  const uint32_t dt = nowMs - lastTickMs_;
  lastTickMs_ = nowMs;
  if (armed_ && !watchdogTripped_ && nowMs - lastMotorMs_ > kWatchdogMs) {
    hardStop();
    watchdogTripped_ = true;
    watchdogTrips_++;
    sendStatus();
  }
  // Slew by elapsed time, not tick count, so a slow loop does not slow the ramp.
  const int64_t step = static_cast<int64_t>(kSlewPerMs) * dt;
  left_ = slew(left_, targetLeft_ * kPwmScale, step);
  right_ = slew(right_, targetRight_ * kPwmScale, step);
  if (nowMs - lastStatusMs_ >= kStatusIntervalMs) {
    // Keep the 200 ms grid; after a long stall send one frame, not a burst of catch-up frames.
    lastStatusMs_ = (nowMs - lastStatusMs_ >= 2 * kStatusIntervalMs) ? nowMs : lastStatusMs_ + kStatusIntervalMs;
    sendStatus();
  }
}

void Controller::send(const Frame& frame) {
  char out[kMaxEncoded];
  const size_t n = encode(frame, out, sizeof out);
  if (n > 0) sink_.write(out, n);
}

void Controller::sendAck(int32_t seq, uint8_t code) {
  Frame a;
  a.type = 'A';
  a.seq = seq;
  a.code = code;
  send(a);
}

void Controller::sendError(uint8_t code) {
  Frame e;
  e.type = 'E';
  e.code = code;
  send(e);
}

void Controller::sendStatus() {
  Frame t;
  t.type = 'T';
  t.left = left();
  t.right = right();
  t.mv = static_cast<int32_t>(batteryMv_);
  t.flags = flags();
  send(t);
}

}  // namespace havatar
