// Arduino CLI / IDE entry point. The sketch folder is firmware/esp32, so this file must be named
// esp32.ino; the code lives in src/ (compiled recursively by the Arduino builder, and shared with
// PlatformIO and the host tests): setup() and loop() are in src/main.cpp, pins in src/pins.h.
