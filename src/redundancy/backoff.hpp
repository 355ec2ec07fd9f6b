// Reconnect backoff for the backup's peer link (redundancy.md "Link and security": the backup
// "keeps retrying with backoff"). Pure: exponential from a floor up to a cap, each delay shrunk
// by a random fraction (jitter) so that restarts of both nodes do not retry in lockstep, and
// never below the floor.
#pragma once

#include <cstdint>
#include <random>

#include "runtime/clock.hpp"

namespace pollux::redundancy {

class ReconnectBackoff {
 public:
  // `jitter` in [0, 1): the fraction by which a delay may be shortened at random.
  ReconnectBackoff(runtime::Duration floor, runtime::Duration cap, double jitter,
                   std::uint64_t seed);

  // The delay before the next attempt; each call doubles the base up to the cap.
  runtime::Duration next();
  // After a successful (authenticated) connection.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  runtime::Duration floor_;
  runtime::Duration cap_;
  double jitter_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace pollux::redundancy
