// Havatar motor board: the thin Arduino glue around the protocol core (protocol.cpp). It only moves
// bytes between the UART and the Controller, turns the Controller's PWM into driver pin states,
// and reads the battery. Every decision (what a line means, ramping, the watchdog, when to report)
// is in the Controller, which the host tests cover.
#include <Arduino.h>

#include "pins.h"
#include "protocol.h"

#if defined(ESP_ARDUINO_VERSION_MAJOR) && ESP_ARDUINO_VERSION_MAJOR >= 3
#define HAVATAR_LEDC_BY_PIN 1  // core 3.x: ledcAttach(pin, ...) / ledcWrite(pin, ...)
#else
#define HAVATAR_LEDC_BY_PIN 0  // core 2.x: ledcSetup(channel) + ledcAttachPin / ledcWrite(channel, ...)
#endif

namespace {

// [\w.-]{1,16}: the $H firmware field.
const char kFirmwareName[] = "havatar-1.0.0";

struct Motor {
  uint8_t pwm;
  uint8_t in1;
  uint8_t in2;
  uint8_t channel;
  bool inverted;
};
const Motor kLeft = {pins::kLeftPwm, pins::kLeftIn1, pins::kLeftIn2, pins::kLeftPwmChannel, pins::kLeftInverted};
const Motor kRight = {pins::kRightPwm, pins::kRightIn1, pins::kRightIn2, pins::kRightPwmChannel, pins::kRightInverted};

class UartSink : public havatar::Sink {
 public:
  void write(const char* data, size_t len) override {
    // A UART without flow control drops what nobody reads; so do we, rather than block the control
    // loop (and the watchdog) on a full TX buffer while no bridge has the port open.
    if (Serial.availableForWrite() < static_cast<int>(len)) return;
    Serial.write(reinterpret_cast<const uint8_t*>(data), len);
  }
};

UartSink uart;
havatar::Controller controller(uart, kFirmwareName);
uint32_t lastBatteryMs = 0;

void pwmAttach(const Motor& m) {
#if HAVATAR_LEDC_BY_PIN
  ledcAttach(m.pwm, pins::kPwmFrequencyHz, pins::kPwmResolutionBits);
#else
  ledcSetup(m.channel, pins::kPwmFrequencyHz, pins::kPwmResolutionBits);
  ledcAttachPin(m.pwm, m.channel);
#endif
}

void pwmWrite(const Motor& m, uint32_t duty) {
#if HAVATAR_LEDC_BY_PIN
  ledcWrite(m.pwm, duty);
#else
  ledcWrite(m.channel, duty);
#endif
}

void drive(const Motor& m, int pwm) {
  if (m.inverted) pwm = -pwm;
  if (pwm == 0) {
    // Both inputs high with the enable on is a short brake on the TB6612 and a "fast motor stop"
    // on the L298N: a stopped (or watchdog-stopped) tank halts instead of coasting on.
    digitalWrite(m.in1, HIGH);
    digitalWrite(m.in2, HIGH);
    pwmWrite(m, (1u << pins::kPwmResolutionBits) - 1);
    return;
  }
  digitalWrite(m.in1, pwm > 0 ? HIGH : LOW);
  digitalWrite(m.in2, pwm < 0 ? HIGH : LOW);
  pwmWrite(m, static_cast<uint32_t>(pwm > 0 ? pwm : -pwm));
}

uint32_t readBatteryMv() {
  uint32_t sum = 0;
  // analogReadMilliVolts applies the chip's eFuse ADC calibration; raw counts are off by ~10 %.
  for (uint8_t i = 0; i < pins::kBatterySamples; i++) sum += analogReadMilliVolts(pins::kBatteryAdc);
  const uint64_t pinMv = sum / pins::kBatterySamples;
  const uint64_t mv = pinMv * (pins::kDividerTopOhms + pins::kDividerBottomOhms) / pins::kDividerBottomOhms;
  return static_cast<uint32_t>(mv * pins::kBatteryTrimPermille / 1000);
}

void setupMotor(const Motor& m) {
  pinMode(m.in1, OUTPUT);
  pinMode(m.in2, OUTPUT);
  digitalWrite(m.in1, LOW);
  digitalWrite(m.in2, LOW);
  pwmAttach(m);
  pwmWrite(m, 0);
}

}  // namespace

void setup() {
  // Motors off before anything else: the driver may be powered before the ESP32 boots.
  if (pins::kHasStandby) {
    pinMode(pins::kStandby, OUTPUT);
    digitalWrite(pins::kStandby, LOW);
  }
  setupMotor(kLeft);
  setupMotor(kRight);

  analogReadResolution(12);
  analogSetPinAttenuation(pins::kBatteryAdc, ADC_11db);

  Serial.setRxBufferSize(512);  // a few hundred ms of bridge traffic if the loop ever stalls
  Serial.begin(havatar::kBaud, SERIAL_8N1);

  controller.setBatteryMv(readBatteryMv());
  lastBatteryMs = millis();
  controller.begin(lastBatteryMs);
  drive(kLeft, 0);
  drive(kRight, 0);
  if (pins::kHasStandby) digitalWrite(pins::kStandby, HIGH);
}

void loop() {
  uint32_t now = millis();
  int budget = 256;  // bounded, so a flood of bytes cannot starve the watchdog
  while (budget-- > 0 && Serial.available() > 0) {
    const int c = Serial.read();
    if (c < 0) break;
    controller.feed(static_cast<uint8_t>(c), now);
  }
  if (now - lastBatteryMs >= pins::kBatteryPeriodMs) {
    lastBatteryMs = now;
    controller.setBatteryMv(readBatteryMv());
    now = millis();
  }
  controller.tick(now);
  drive(kLeft, controller.left());
  drive(kRight, controller.right());
}
