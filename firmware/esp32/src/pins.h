// Every pin and board constant of the Havatar motor board, in one place. Defaults suit an ESP32
// DevKit (WROOM-32) wired as in firmware/esp32/README.md. Strapping pins (0, 2, 5, 12, 15) are
// avoided so the board boots with the driver attached, and input-only pins (34-39) are used only
// for the battery ADC.
#pragma once

#include <stdint.h>

// ---- motor driver ---------------------------------------------------------------------------
// Select with -DHAVATAR_MOTOR_DRIVER=HAVATAR_DRIVER_L298N (platformio env "l298n") or edit here.
#define HAVATAR_DRIVER_TB6612 1
#define HAVATAR_DRIVER_L298N 2
#ifndef HAVATAR_MOTOR_DRIVER
#define HAVATAR_MOTOR_DRIVER HAVATAR_DRIVER_TB6612
#endif

namespace pins {

// Both drivers take, per motor, a PWM (speed) pin and two direction pins. TB6612FNG: PWMA/AIN1/
// AIN2 and PWMB/BIN1/BIN2. L298N: ENA/IN1/IN2 and ENB/IN3/IN4 (remove the ENA/ENB jumpers).
constexpr uint8_t kLeftPwm = 25;
constexpr uint8_t kLeftIn1 = 26;
constexpr uint8_t kLeftIn2 = 27;
constexpr uint8_t kRightPwm = 32;
constexpr uint8_t kRightIn1 = 33;
constexpr uint8_t kRightIn2 = 13;

#if HAVATAR_MOTOR_DRIVER == HAVATAR_DRIVER_TB6612
// TB6612FNG standby: held low (motors off) until setup() has put every other pin in a safe state.
constexpr bool kHasStandby = true;
constexpr uint8_t kStandby = 4;
// The TB6612 switches up to 100 kHz: 20 kHz is above hearing, so the motors do not whine.
constexpr uint32_t kPwmFrequencyHz = 20000;
#elif HAVATAR_MOTOR_DRIVER == HAVATAR_DRIVER_L298N
constexpr bool kHasStandby = false;
constexpr uint8_t kStandby = 0;  // unused
// The L298N's bipolar switches are slow: above a few kHz they stay hot and lose torque.
constexpr uint32_t kPwmFrequencyHz = 1000;
#else
#error "HAVATAR_MOTOR_DRIVER must be HAVATAR_DRIVER_TB6612 or HAVATAR_DRIVER_L298N"
#endif

// 8-bit duty matches the protocol's -255..255 PWM one to one.
constexpr uint8_t kPwmResolutionBits = 8;
// LEDC channels, used only by Arduino-ESP32 core 2.x (core 3.x picks channels itself).
constexpr uint8_t kLeftPwmChannel = 0;
constexpr uint8_t kRightPwmChannel = 1;

// Flip a track whose motor is mounted (or wired) the other way round, instead of rewiring it.
constexpr bool kLeftInverted = false;
constexpr bool kRightInverted = false;

// ---- battery --------------------------------------------------------------------------------
// Battery + -> kDividerTopOhms -> ADC pin -> kDividerBottomOhms -> GND. 100k/33k keeps a 2S
// Li-ion pack (8.4 V full) at 2.08 V on the pin, inside the ESP32 ADC's linear range (~2.45 V at
// 11 dB attenuation), and draws only 63 uA. GPIO 34 is on ADC1, which still works with Wi-Fi on.
constexpr uint8_t kBatteryAdc = 34;
constexpr uint32_t kDividerTopOhms = 100000;
constexpr uint32_t kDividerBottomOhms = 33000;
// Measured correction for resistor tolerance: battery mV = computed mV * kBatteryTrimPermille / 1000.
constexpr uint32_t kBatteryTrimPermille = 1000;
// Averaging evens out motor noise on the rail; one reading every kBatteryPeriodMs is plenty for $T.
constexpr uint8_t kBatterySamples = 16;
constexpr uint32_t kBatteryPeriodMs = 100;

}  // namespace pins
