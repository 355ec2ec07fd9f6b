// Reconnect/reopen backoff: exponential growth with jitter, a floor and a cap (engine issue:
// "reconnect with exponential backoff + jitter + floor, never a tight loop"). Pure: the caller
// supplies the random draw, so the bounds are unit-testable.
#pragma once

#include <cstdint>

#include "runtime/clock.hpp"

namespace pollux::transport {

class Backoff {
 public:
  Backoff(runtime::Duration floor, runtime::Duration cap, double jitter = 0.2)
      : floor_(floor), cap_(cap), jitter_(jitter) {}
  // The next delay; `unit_random` in [0, 1). Never below floor, never above cap.
  runtime::Duration next(double unit_random);
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  runtime::Duration floor_;
  runtime::Duration cap_;
  double jitter_;
  int failures_ = 0;
};

// A cheap deterministic random source for jitter (xorshift), seeded per link.
class Jitter {
 public:
  explicit Jitter(std::uint64_t seed) : s_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  double next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<double>(s_ >> 11) / static_cast<double>(1ull << 53);
  }

 private:
  std::uint64_t s_;
};

}  // namespace pollux::transport
