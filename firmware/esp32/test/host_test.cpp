// Host tests of the firmware's protocol core (src/protocol.cpp), built with the host's g++:
//   g++ -std=c++17 -Wall -Wextra -Werror -I firmware/esp32/src
//       firmware/esp32/test/host_test.cpp firmware/esp32/src/protocol.cpp -o host_test
//   ./host_test protocol/vectors/serial.json [firmware/esp32/test/extra-vectors.json ...]
// Runs every encode/decode/split vector the TypeScript codec is tested against, then the
// Controller's behaviour (acks, status, ramp, watchdog, bad lines). Prints one line per failure
// and a summary; exits 1 on any failure, 2 when a vectors file cannot be read.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "protocol.h"

using havatar::Controller;
using havatar::Decoded;
using havatar::Frame;

namespace {

// ---- a tiny JSON reader, enough for the vectors files --------------------------------------
// Strings come back as byte strings: the vectors say U+0080..U+00FF stand for bytes 0x80..0xFF,
// whether written as \u00e9 or as raw UTF-8; anything above U+00FF is refused.

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : s_(text) {}
  bool parse(Json* out) {
    if (!value(out, 0)) return false;
    ws();
    return i_ == s_.size() || fail("trailing characters");
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(const char* why) {
    if (error_.empty()) error_ = std::string(why) + " at byte " + std::to_string(i_);
    return false;
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) i_++;
  }
  bool literal(const char* word) {
    const size_t n = std::strlen(word);
    if (s_.compare(i_, n, word) != 0) return fail("bad literal");
    i_ += n;
    return true;
  }
  bool value(Json* out, int depth) {
    if (depth > 32) return fail("nested too deep");
    ws();
    if (i_ >= s_.size()) return fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->kind = Json::kString;
      return string(&out->str);
    }
    if (c == 't') { out->kind = Json::kBool; out->boolean = true; return literal("true"); }
    if (c == 'f') { out->kind = Json::kBool; out->boolean = false; return literal("false"); }
    if (c == 'n') { out->kind = Json::kNull; return literal("null"); }
    return number(out);
  }
  bool number(Json* out) {
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') i_++;
    while (i_ < s_.size() && std::strchr("0123456789.eE+-", s_[i_]) != nullptr) i_++;
    if (i_ == start) return fail("unexpected character");
    try {
      size_t used = 0;
      out->number = std::stod(s_.substr(start, i_ - start), &used);
      if (used != i_ - start) return fail("bad number");
    } catch (...) {
      return fail("bad number");
    }
    out->kind = Json::kNumber;
    return true;
  }
  bool hex4(unsigned* cp) {
    if (i_ + 4 > s_.size()) return fail("short \\u escape");
    *cp = 0;
    for (int k = 0; k < 4; k++) {
      const char h = s_[i_++];
      int v = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
      if (v < 0) return fail("bad \\u escape");
      *cp = *cp * 16 + static_cast<unsigned>(v);
    }
    return true;
  }
  bool byteOf(unsigned cp, std::string* out) {
    if (cp > 0xFF) return fail("character above U+00FF cannot stand for a byte");
    out->push_back(static_cast<char>(cp));
    return true;
  }
  bool string(std::string* out) {
    i_++;  // opening quote
    out->clear();
    while (i_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        i_++;
        return true;
      }
      if (c == '\\') {
        if (++i_ >= s_.size()) return fail("unterminated escape");
        const char e = s_[i_++];
        unsigned cp = 0;
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u':
            if (!hex4(&cp) || !byteOf(cp, out)) return false;
            break;
          default: return fail("unknown escape");
        }
        continue;
      }
      if (c < 0x20) return fail("control character in string");
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        i_++;
        continue;
      }
      // Raw UTF-8: only two-byte sequences can be <= U+00FF.
      if ((c & 0xE0) != 0xC0 || i_ + 1 >= s_.size()) return fail("unsupported UTF-8 in string");
      const unsigned char c2 = static_cast<unsigned char>(s_[i_ + 1]);
      if ((c2 & 0xC0) != 0x80) return fail("bad UTF-8 in string");
      if (!byteOf(((c & 0x1Fu) << 6) | (c2 & 0x3Fu), out)) return false;
      i_ += 2;
    }
    return fail("unterminated string");
  }
  bool array(Json* out, int depth) {
    out->kind = Json::kArray;
    i_++;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') { i_++; return true; }
    for (;;) {
      Json item;
      if (!value(&item, depth + 1)) return false;
      out->items.push_back(std::move(item));
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { i_++; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { i_++; return true; }
      return fail("expected , or ]");
    }
  }
  bool object(Json* out, int depth) {
    out->kind = Json::kObject;
    i_++;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') { i_++; return true; }
    for (;;) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a key");
      std::string key;
      if (!string(&key)) return false;
      ws();
      if (i_ >= s_.size() || s_[i_] != ':') return fail("expected :");
      i_++;
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->members.emplace_back(std::move(key), std::move(v));
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { i_++; continue; }
      if (i_ < s_.size() && s_[i_] == '}') { i_++; return true; }
      return fail("expected , or }");
    }
  }

  const std::string& s_;
  size_t i_ = 0;
  std::string error_;
};

// ---- reporting -----------------------------------------------------------------------------

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const std::string& name, const std::string& detail = "") {
  g_checks++;
  if (ok) return;
  g_failures++;
  std::printf("FAIL %s%s%s\n", name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
}

// Shows control and non-ASCII bytes so a failing line is readable.
std::string show(const std::string& bytes) {
  std::string out;
  char hex[8];
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  return "\"" + out + "\"";
}

// ---- vectors -------------------------------------------------------------------------------

// The JSON keys each frame type has besides "type", in the order of serial.ts fieldsOf().
std::vector<std::string> keysOf(char type) {
  switch (type) {
    case 'M': return {"seq", "left", "right"};
    case 'S': case 'Q': return {"seq"};
    case 'A': return {"seq", "code"};
    case 'T': return {"left", "right", "mv", "flags"};
    case 'E': return {"code"};
    case 'H': return {"firmware", "protocol"};
    default: return {};
  }
}

int32_t* intField(Frame& f, const std::string& key) {
  if (key == "seq") return &f.seq;
  if (key == "left") return &f.left;
  if (key == "right") return &f.right;
  if (key == "code") return &f.code;
  if (key == "mv") return &f.mv;
  if (key == "flags") return &f.flags;
  if (key == "protocol") return &f.protocol;
  return nullptr;
}

// Builds a Frame from a vector's "frame" object; false (with why) when its shape is not a frame's.
bool frameOf(const Json& j, Frame* out, std::string* why) {
  const Json* type = j.get("type");
  if (!type || type->kind != Json::kString || type->str.size() != 1) { *why = "frame without a one-letter type"; return false; }
  Frame f;
  f.type = type->str[0];
  const std::vector<std::string> keys = keysOf(f.type);
  if (keys.empty()) { *why = "unknown frame type " + type->str; return false; }
  if (j.members.size() != keys.size() + 1) { *why = "frame has unexpected keys"; return false; }
  for (const std::string& key : keys) {
    const Json* v = j.get(key);
    if (!v) { *why = "frame lacks " + key; return false; }
    if (key == "firmware") {
      if (v->kind != Json::kString || v->str.size() > havatar::kMaxFirmwareName) { *why = "bad firmware"; return false; }
      std::memcpy(f.firmware, v->str.data(), v->str.size());
      f.firmware[v->str.size()] = '\0';
    } else {
      if (v->kind != Json::kNumber) { *why = key + " is not a number"; return false; }
      *intField(f, key) = static_cast<int32_t>(v->number);
    }
  }
  *out = f;
  return true;
}

// Field-by-field difference, empty when the two frames are the same frame.
std::string diff(const Frame& want, const Frame& got) {
  if (want.type != got.type) return std::string("type ") + got.type + " != " + want.type;
  std::string out;
  Frame w = want;
  Frame g = got;
  for (const std::string& key : keysOf(want.type)) {
    if (key == "firmware") {
      if (std::strcmp(want.firmware, got.firmware) != 0) out += " firmware " + std::string(got.firmware) + " != " + want.firmware;
    } else if (*intField(w, key) != *intField(g, key)) {
      out += " " + key + " " + std::to_string(*intField(g, key)) + " != " + std::to_string(*intField(w, key));
    }
  }
  return out;
}

std::string encoded(const Frame& f) {
  char buf[havatar::kMaxEncoded];
  const size_t n = havatar::encode(f, buf, sizeof buf);
  return std::string(buf, n);
}

bool readFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

const Json* arrayOf(const Json& root, const char* key) {
  const Json* a = root.get(key);
  return a && a->kind == Json::kArray ? a : nullptr;
}

std::string nameOf(const Json& v) {
  const Json* n = v.get("name");
  return n && n->kind == Json::kString ? n->str : "(unnamed)";
}

void runVectors(const char* path, const Json& root) {
  const std::string file = path;
  if (const Json* p = root.get("protocol")) check(p->number == havatar::kProtocolVersion, file + ": protocol version matches the firmware's");
  if (const Json* m = root.get("maxLine")) check(m->number == havatar::kMaxLine, file + ": maxLine matches the firmware's");

  if (const Json* enc = arrayOf(root, "encode")) {
    for (const Json& v : enc->items) {
      const std::string name = file + ": encode " + nameOf(v);
      const Json* fj = v.get("frame");
      const Json* line = v.get("line");
      Frame f;
      std::string why;
      if (!fj || !line || line->kind != Json::kString || !frameOf(*fj, &f, &why)) { check(false, name, "malformed vector " + why); continue; }
      const std::string got = encoded(f);
      check(got == line->str, name, show(got) + " != " + show(line->str));
    }
  }

  if (const Json* dec = arrayOf(root, "decode")) {
    for (const Json& v : dec->items) {
      const std::string name = file + ": decode " + nameOf(v);
      const Json* line = v.get("line");
      if (!line || line->kind != Json::kString) { check(false, name, "malformed vector (no line)"); continue; }
      const Decoded got = havatar::decode(line->str.data(), line->str.size());
      if (const Json* fj = v.get("frame")) {
        Frame want;
        std::string why;
        if (!frameOf(*fj, &want, &why)) { check(false, name, "malformed vector " + why); continue; }
        if (!got.ok) { check(false, name, "expected a frame, got error " + std::to_string(got.error)); continue; }
        const std::string d = diff(want, got.frame);
        check(d.empty(), name, d);
      } else {
        const Json* code = v.get("error");
        const Json* seq = v.get("seq");
        if (!code) { check(false, name, "malformed vector (neither frame nor error)"); continue; }
        if (got.ok) { check(false, name, "expected error " + std::to_string(static_cast<int>(code->number)) + ", got frame " + show(encoded(got.frame))); continue; }
        check(got.error == code->number, name, "error " + std::to_string(got.error) + " != " + std::to_string(static_cast<int>(code->number)));
        if (seq) check(got.hasSeq && got.seq == seq->number, name, got.hasSeq ? "seq " + std::to_string(got.seq) : "no seq");
        else check(!got.hasSeq, name, "unexpected seq " + std::to_string(got.seq));
      }
    }
  }

  if (const Json* split = arrayOf(root, "split")) {
    for (const Json& v : split->items) {
      const std::string name = file + ": split " + nameOf(v);
      const Json* chunks = arrayOf(v, "chunks");
      const Json* lines = arrayOf(v, "lines");
      if (!chunks || !lines) { check(false, name, "malformed vector"); continue; }
      havatar::LineAssembler a;
      std::vector<std::string> got;
      for (const Json& c : chunks->items)
        for (unsigned char b : c.str)
          if (a.push(b)) got.emplace_back(a.line(), a.length());
      bool same = got.size() == lines->items.size();
      for (size_t i = 0; same && i < got.size(); i++) same = got[i] == lines->items[i].str;
      std::string detail;
      for (const auto& g : got) detail += show(g) + " ";
      check(same, name, "got " + detail);
    }
  }
}

// ---- controller ----------------------------------------------------------------------------

struct Recorder : havatar::Sink {
  std::string out;
  void write(const char* data, size_t len) override { out.append(data, len); }
  // Frames written since the last take(), one line each, newline dropped.
  std::vector<std::string> take() {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t i = 0; i < out.size(); i++) {
      if (out[i] != '\n') continue;
      lines.push_back(out.substr(start, i - start));
      start = i + 1;
    }
    out.clear();
    return lines;
  }
};

std::string lineOf(char type, int32_t seq, int32_t left = 0, int32_t right = 0) {
  Frame f;
  f.type = type;
  f.seq = seq;
  f.left = left;
  f.right = right;
  return encoded(f);
}

// "$<body>*XX" with the right checksum (checksum() itself is pinned by the vectors above).
std::string framed(const std::string& body) {
  char cs[3];
  std::snprintf(cs, sizeof cs, "%02X", havatar::checksum(body.data(), body.size()));
  return "$" + body + "*" + cs;
}

void feed(Controller& c, const std::string& bytes, uint32_t now) {
  c.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), now);
}

// Runs the control loop every `step` ms from `from` (exclusive) to `to` (inclusive).
void runUntil(Controller& c, uint32_t from, uint32_t to, uint32_t step = 10) {
  for (uint32_t t = from + step; t - from <= to - from; t += step) c.tick(t);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + " ";
  return s;
}

bool contains(const std::vector<std::string>& lines, const std::string& want) {
  for (const auto& l : lines)
    if (l == want) return true;
  return false;
}

void controllerTests() {
  {
    Recorder r;
    Controller c(r, "havatar-1.0.0");
    c.begin(0);
    const auto out = r.take();
    check(out.size() == 1 && out[0] == framed("H,havatar-1.0.0,1"), "boot announces firmware and protocol once with $H", joined(out));
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    r.take();
    feed(c, lineOf('M', 7, 255, -255), 0);
    check(r.take() == std::vector<std::string>{framed("A,7,0")}, "a valid $M is acked with code 0");
    check(c.targetLeft() == 255 && c.targetRight() == -255 && c.left() == 0, "a $M sets the target, not the PWM at once");
    c.tick(10);
    check(c.left() == 26 && c.right() == -25, "ramp moves 25.5 PWM per 10 ms (rounded like the simulator)",
          std::to_string(c.left()) + "," + std::to_string(c.right()));
    c.tick(50);
    check(c.left() == 128, "ramp follows elapsed time, not the number of ticks", std::to_string(c.left()));
    c.tick(100);
    check(c.left() == 255 && c.right() == -255, "ramp reaches full scale in 100 ms");
    feed(c, lineOf('M', 8, 0, 0), 100);
    c.tick(110);
    check(c.left() == 230, "ramp also applies slowing down", std::to_string(c.left()));
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    feed(c, lineOf('M', 1, 200, 200), 0);
    runUntil(c, 0, 500);
    check(!c.watchdogTripped() && c.left() == 200, "watchdog holds at 500 ms after the last $M");
    r.take();
    c.tick(510);
    const auto out = r.take();
    check(c.watchdogTripped() && c.left() == 0 && c.right() == 0 && c.targetLeft() == 0,
          "watchdog stops both motors at once past 500 ms without a valid $M");
    check(contains(out, framed("T,0,0,0,3")), "watchdog trip is reported at once with flags watchdog|stopped", joined(out));
    check(c.watchdogTrips() == 1, "watchdog trips once per silence");
    runUntil(c, 510, 2000);
    check(c.watchdogTrips() == 1, "watchdog does not trip again while it is already tripped");
    feed(c, lineOf('M', 2, 50, 50), 2000);
    c.tick(2010);
    check(!c.watchdogTripped() && c.left() == 26, "a new valid $M clears the watchdog and drives again");
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    feed(c, lineOf('M', 1, 100, 100), 0);
    // Valid non-motor frames and bad lines keep arriving: none of them feeds the watchdog.
    for (uint32_t t = 10; t <= 600; t += 10) {
      if (t % 50 == 0) feed(c, lineOf('Q', t), t);
      if (t % 70 == 0) feed(c, "$M,1,100,100*00\n", t);
      c.tick(t);
    }
    check(c.watchdogTripped() && c.left() == 0, "only valid $M frames feed the watchdog ($Q and bad lines do not)");
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    runUntil(c, 0, 5000);
    check(!c.watchdogTripped(), "watchdog is not armed before the first $M (nothing to stop)");
  }
  {
    // millis() wraps after 49.7 days; the watchdog and ramp must not care.
    Recorder r;
    Controller c(r, "fw");
    const uint32_t start = 0xFFFFFF00u;
    c.begin(start);
    feed(c, lineOf('M', 1, 255, 255), start);
    runUntil(c, start, start + 100);
    check(c.left() == 255, "ramp works across the millis() wrap");
    runUntil(c, start + 100, start + 500);
    check(!c.watchdogTripped(), "watchdog holds across the millis() wrap");
    c.tick(start + 510);
    check(c.watchdogTripped() && c.left() == 0, "watchdog trips across the millis() wrap");
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.setBatteryMv(7400);
    c.begin(0);
    r.take();
    feed(c, lineOf('M', 1, 100, -100), 0);
    runUntil(c, 0, 100);
    r.take();
    feed(c, lineOf('S', 9), 100);
    const auto out = r.take();
    check(c.left() == 0 && c.right() == 0 && c.targetLeft() == 0, "$S stops both motors at once, without ramping down");
    check(out.size() == 2 && out[0] == framed("A,9,0") && out[1] == framed("T,0,0,7400,2"), "$S is acked then followed by a status frame", joined(out));
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.setBatteryMv(7400);
    c.begin(0);
    r.take();
    feed(c, lineOf('Q', 3), 0);
    const auto out = r.take();
    check(out.size() == 2 && out[0] == framed("A,3,0") && out[1] == framed("T,0,0,7400,2"), "$Q is acked and answered with a status frame", joined(out));
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.setBatteryMv(7000);
    c.begin(0);
    r.take();
    runUntil(c, 0, 1000);
    const auto out = r.take();
    int statuses = 0;
    for (const auto& l : out) statuses += l.rfind("$T,", 0) == 0;
    check(statuses == 5, "status frames go out every 200 ms", std::to_string(statuses) + " in 1 s");
    c.setBatteryMv(100000);
    feed(c, lineOf('Q', 1), 1000);
    check(r.take().back().rfind("$T,0,0,65535,", 0) == 0, "battery millivolts are clamped to the field's range");
  }
  {
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    feed(c, lineOf('M', 1, 100, 100), 0);
    runUntil(c, 0, 100);
    r.take();
    struct Bad { std::string line; std::string reply; };
    const Bad bad[] = {
        {"$M,2,-200,-200*00\n", framed("E,1")},              // checksum
        {"$M,2,-200,-200\n", framed("E,2")},                 // syntax
        {framed("X,1") + "\n", framed("E,4")},               // unknown type
        {framed("T,0,0,7400,0") + "\n", framed("E,4")},      // a device frame sent to the device
        {framed("M,65536,-200,-200") + "\n", framed("E,5")}, // seq out of range: no seq to ack
        {framed("M,12,256,-200") + "\n", framed("A,12,1")},  // PWM out of range: acked with code 1
    };
    for (const Bad& b : bad) {
      feed(c, b.line, 100);
      const auto out = r.take();
      check(out.size() == 1 && out[0] == b.reply, "bad line " + show(b.line) + " is answered with " + b.reply, joined(out));
    }
    feed(c, std::string(100, 'x') + "\n", 100);
    const auto out = r.take();
    check(out.size() == 1 && out[0] == framed("E,3"), "a runaway line is answered once with $E,3", joined(out));
    check(c.targetLeft() == 100 && c.targetRight() == 100 && c.left() == 100, "bad lines never change what the motors do");
    check(c.framesRejected() == 7, "every bad line is counted", std::to_string(c.framesRejected()));
  }
  {
    // Fuzz: lines broken by construction (wrong checksum, bad framing, too long, noise) never move
    // a motor and each gets exactly one answer.
    Recorder r;
    Controller c(r, "fw");
    c.begin(0);
    r.take();
    uint32_t x = 0x9E3779B9u;
    auto rnd = [&x](uint32_t n) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      return x % n;
    };
    const char alphabet[] = "MSQATEHX,0123456789-*$ \r\t\x01\xff";
    bool moved = false;
    bool oneAnswer = true;
    std::string firstBad;
    for (int i = 0; i < 20000; i++) {
      std::string body = "M,";
      const uint32_t n = rnd(30);
      for (uint32_t k = 0; k < n; k++) body.push_back(alphabet[rnd(sizeof alphabet - 1)]);
      std::string line;
      char cs[4];
      switch (rnd(4)) {
        case 0:  // a well-formed frame with a wrong checksum
          for (char& ch : body)
            if (ch == '$' || ch == '*' || static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7E) ch = '0';
          std::snprintf(cs, sizeof cs, "%02X", havatar::checksum(body.data(), body.size()) ^ (1 + rnd(255)));
          line = "$" + body + "*" + cs;
          break;
        case 1:  // no checksum at all
          for (char& ch : body)
            if (ch == '$' || ch == '*') ch = ',';
          line = "$" + body;
          break;
        case 2:  // longer than the limit
          for (char& ch : body)
            if (ch == '$') ch = ',';
          line = "$" + body + std::string(havatar::kMaxLine, '0') + "*00";
          break;
        default:  // noise without a frame start
          for (char& ch : body)
            if (ch == '$' || ch == '\r') ch = '#';
          line = body;
          break;
      }
      feed(c, line + "\n", static_cast<uint32_t>(i));
      c.tick(static_cast<uint32_t>(i));
      const auto out = r.take();
      size_t answers = 0;
      for (const auto& l : out) answers += l.rfind("$E,", 0) == 0 || l.rfind("$A,", 0) == 0;
      if (answers != 1 && oneAnswer) { oneAnswer = false; firstBad = show(line) + " -> " + joined(out); }
      if (c.targetLeft() != 0 || c.targetRight() != 0 || c.left() != 0 || c.right() != 0) moved = true;
    }
    check(!moved, "20,000 broken lines never move a motor");
    check(oneAnswer, "every broken line gets exactly one $E (or $A,<seq>,1)", firstBad);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s protocol/vectors/serial.json [extra-vectors.json ...]\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    std::string text;
    if (!readFile(argv[i], &text)) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    Json root;
    JsonParser parser(text);
    if (!parser.parse(&root) || root.kind != Json::kObject) {
      std::fprintf(stderr, "%s: not a vectors file: %s\n", argv[i], parser.error().c_str());
      return 2;
    }
    const int before = g_checks;
    runVectors(argv[i], root);
    if (g_checks == before) {
      // A file that yields no checks is a broken path or shape, not a pass.
      std::fprintf(stderr, "%s: no vectors found\n", argv[i]);
      return 2;
    }
  }
  controllerTests();
  std::printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
