// Declarations only, with the signatures of the Arduino-ESP32 core, so the host can type-check
// src/main.cpp (g++ -fsyntax-only) for core 2.x and 3.x and both drivers without the toolchain.
// Not linked, not a simulation: behaviour is tested on the protocol core (host_test.cpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x03
#define SERIAL_8N1 0x800001c

typedef enum { ADC_0db, ADC_2_5db, ADC_6db, ADC_11db } adc_attenuation_t;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
unsigned long millis();
uint32_t analogReadMilliVolts(uint8_t pin);
void analogReadResolution(uint8_t bits);
void analogSetPinAttenuation(uint8_t pin, adc_attenuation_t attenuation);

#if defined(ESP_ARDUINO_VERSION_MAJOR) && ESP_ARDUINO_VERSION_MAJOR >= 3
bool ledcAttach(uint8_t pin, uint32_t freq, uint8_t resolution);
bool ledcWrite(uint8_t pin, uint32_t duty);
#else
uint32_t ledcSetup(uint8_t channel, uint32_t freq, uint8_t resolution_bits);
void ledcAttachPin(uint8_t pin, uint8_t channel);
void ledcWrite(uint8_t channel, uint32_t duty);
#endif

class HardwareSerial {
 public:
  void begin(unsigned long baud, uint32_t config = SERIAL_8N1);
  size_t setRxBufferSize(size_t size);
  int available();
  int availableForWrite();
  int read();
  size_t write(const uint8_t* buffer, size_t size);
};
extern HardwareSerial Serial;
