// Reconnect/reopen backoff, the one the whole program uses: exponential growth from a floor up
// to a cap, with jitter, never a tight loop (engine issue: "reconnect with exponential backoff +
// jitter + floor"; redundancy.md "Link and security": restarts of both nodes must not retry in
// lockstep). Pure: the caller supplies the random draw, so the bounds are unit-testable.
//
// Two users, two jitter shapes, each kept as it was when they had a class each:
// - the links' reopen and reconnect (serial, modem, TCP): JitterKind::spread, the nominal delay
//   floor x 2^n moved by up to +-jitter and then held within [floor, cap], so many channels
//   that failed together spread their retries on both sides of the nominal delay;
// - the backup's peer link (redundancy/backoff.hpp adds its lost-master bound):
//   JitterKind::shorten, the nominal delay capped first and then shortened by up to `jitter`,
//   never below the floor, so a retry is never later than the nominal delay.
#pragma once

#include <cstdint>

#include "runtime/clock.hpp"

namespace pollux::runtime {

enum class JitterKind : std::uint8_t { spread, shorten };

class Backoff {
 public:
  // `jitter` is the fraction of the nominal delay a draw may move it (clamped to [0, 0.99]); a
  // cap below the floor is the floor.
  Backoff(Duration floor, Duration cap, double jitter = 0.2, JitterKind kind = JitterKind::spread);
  // The next delay; `unit_random` in [0, 1). Never below floor, never above cap.
  Duration next(double unit_random);
  void reset() { failures_ = 0; }
  // How many delays were asked since the last reset (saturates, never overflows).
  int failures() const { return failures_; }

 private:
  Duration floor_;
  Duration cap_;
  double jitter_;
  JitterKind kind_;
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

}  // namespace pollux::runtime
