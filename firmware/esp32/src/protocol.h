// The ESP32 side of the bridge <-> motor board serial protocol, as plain C++17 with no Arduino
// dependency, so the host's g++ can test it against protocol/vectors/serial.json (the same vectors
// the TypeScript codec in protocol/serial.ts is tested against) and neither side can drift.
//
// protocol/serial.ts is the source of truth; bridge/sim/esp32.ts is the simulated board this
// Controller must behave like (ramp, watchdog, acks, status period).
#pragma once

#include <cstddef>
#include <cstdint>

namespace havatar {

constexpr int kProtocolVersion = 1;
constexpr uint32_t kBaud = 115200;
/** Longest line accepted, CR/LF not counted (SERIAL_MAX_LINE). */
constexpr size_t kMaxLine = 64;
constexpr int kPwmMax = 255;
/** No valid $M for longer than this stops both motors (ESP32_WATCHDOG_MS). */
constexpr uint32_t kWatchdogMs = 500;
/** Period of the unsolicited $T (STATUS_INTERVAL_MS). */
constexpr uint32_t kStatusIntervalMs = 200;
/**
 * Ramp: the simulator slews PWM_MAX / 10 per 10 ms tick, i.e. full scale in 100 ms. Kept in
 * hundredths of a PWM step so the rate (2.55 per ms = 255 hundredths per ms) is an exact integer
 * and the result does not depend on how often tick() runs.
 */
constexpr int32_t kPwmScale = 100;
constexpr int32_t kSlewPerMs = kPwmMax * kPwmScale / 100;
/** Longest firmware name in $H (protocol: [\w.-]{1,16}). */
constexpr size_t kMaxFirmwareName = 16;
/** Room for any encoded frame, newline and NUL included. */
constexpr size_t kMaxEncoded = kMaxLine + 8;

namespace flag {
constexpr uint8_t kWatchdog = 1;
constexpr uint8_t kStopped = 2;
}  // namespace flag

namespace err {
constexpr uint8_t kChecksum = 1;
constexpr uint8_t kSyntax = 2;
constexpr uint8_t kTooLong = 3;
constexpr uint8_t kUnknownType = 4;
constexpr uint8_t kRange = 5;
}  // namespace err

namespace ack {
constexpr uint8_t kApplied = 0;
constexpr uint8_t kOutOfRange = 1;
}  // namespace ack

/** One frame; `type` is the protocol letter and says which fields mean something. */
struct Frame {
  char type = 0;  // 'M', 'S', 'Q' (bridge -> board); 'A', 'T', 'E', 'H' (board -> bridge)
  int32_t seq = 0;
  int32_t left = 0;
  int32_t right = 0;
  int32_t code = 0;
  int32_t mv = 0;
  int32_t flags = 0;
  int32_t protocol = 0;
  char firmware[kMaxFirmwareName + 1] = {0};
};

struct Decoded {
  bool ok = false;
  Frame frame;
  /** The $E code when !ok. */
  uint8_t error = 0;
  /** Set for an intact M frame with a value out of range: answer $A,<seq>,1 instead of $E. */
  bool hasSeq = false;
  int32_t seq = 0;
};

/** XOR of every byte of body, as in protocol/serial.ts checksum(). */
uint8_t checksum(const char* body, size_t len);

/**
 * Decodes one line (its trailing LF / CR LF / CR, if any, is ignored). Checks in the protocol's
 * order: length, framing, checksum, type, field count and syntax, ranges.
 */
Decoded decode(const char* line, size_t len);

/**
 * Encodes frame as `$BODY*XX\n` into out (NUL-terminated). Returns the length without the NUL,
 * or 0 when out is too small or the firmware name of an H frame is too long.
 */
size_t encode(const Frame& frame, char* out, size_t cap);

/**
 * Splits a byte stream into lines like protocol/serial.ts LineSplitter: a `$` starts a new line
 * (boot noise before it is its own, bad, line), blank lines are skipped, and a runaway line is
 * handed out once at kMaxLine + 2 bytes and then skipped to the next newline, so memory is fixed.
 */
class LineAssembler {
 public:
  /** Feeds one byte; true when a line is ready in line() / length() (valid until the next push). */
  bool push(uint8_t c);
  const char* line() const { return out_; }
  size_t length() const { return outLen_; }

 private:
  static constexpr size_t kCap = kMaxLine + 2;
  bool emit();
  char buf_[kCap + 1] = {0};
  size_t len_ = 0;
  char out_[kCap + 1] = {0};
  size_t outLen_ = 0;
  bool discarding_ = false;
};

/** Where the Controller writes its frames (the UART on the board, a recorder in tests). */
class Sink {
 public:
  virtual void write(const char* data, size_t len) = 0;

 protected:
  ~Sink() = default;
};

/**
 * The board's state machine: reads bytes, answers with $A/$E/$T, ramps PWM toward the target and
 * stops both tracks when the watchdog expires. Time is injected (milliseconds, wrapping like
 * Arduino millis()), so the host tests drive it without waiting.
 */
class Controller {
 public:
  Controller(Sink& sink, const char* firmwareName);

  /** Sends $H once; call when the UART is up. */
  void begin(uint32_t nowMs);
  /** Feeds received bytes. */
  void feed(const uint8_t* data, size_t len, uint32_t nowMs);
  void feed(uint8_t byte, uint32_t nowMs);
  /** Runs the watchdog, the ramp and the status timer; call as often as possible (>= every 10 ms). */
  void tick(uint32_t nowMs);
  /** The latest battery reading, reported in $T. */
  void setBatteryMv(uint32_t mv);

  /** PWM to apply now, after ramping, -255..255. */
  int left() const { return pwmOf(left_); }
  int right() const { return pwmOf(right_); }
  int targetLeft() const { return targetLeft_; }
  int targetRight() const { return targetRight_; }
  bool watchdogTripped() const { return watchdogTripped_; }
  uint8_t flags() const;
  uint32_t framesReceived() const { return framesReceived_; }
  uint32_t framesRejected() const { return framesRejected_; }
  uint32_t watchdogTrips() const { return watchdogTrips_; }

 private:
  static int pwmOf(int32_t scaled);
  void onLine(const char* line, size_t len, uint32_t nowMs);
  void hardStop();
  void send(const Frame& frame);
  void sendAck(int32_t seq, uint8_t code);
  void sendError(uint8_t code);
  void sendStatus();

  Sink& sink_;
  char firmware_[kMaxFirmwareName + 1] = {0};
  LineAssembler lines_;
  int32_t left_ = 0;  // hundredths of a PWM step (kPwmScale)
  int32_t right_ = 0;
  int targetLeft_ = 0;
  int targetRight_ = 0;
  uint32_t batteryMv_ = 0;
  bool started_ = false;
  bool armed_ = false;  // the watchdog runs once the first $M arrived, as in the simulator
  bool watchdogTripped_ = false;
  uint32_t lastMotorMs_ = 0;
  uint32_t lastTickMs_ = 0;
  uint32_t lastStatusMs_ = 0;
  uint32_t framesReceived_ = 0;
  uint32_t framesRejected_ = 0;
  uint32_t watchdogTrips_ = 0;
};

}  // namespace havatar
