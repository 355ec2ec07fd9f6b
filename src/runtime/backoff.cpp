#include "runtime/backoff.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pollux::runtime {

Backoff::Backoff(Duration floor, Duration cap, double jitter, JitterKind kind)
    : floor_(floor),
      cap_(std::max(cap, floor)),
      jitter_(std::clamp(jitter, 0.0, 0.99)),
      kind_(kind) {}

Duration Backoff::next(double unit_random) {
  const int n = failures_;
  // Saturates far beyond any exponent used below, so a channel down for years never overflows.
  if (failures_ < 1'000'000) ++failures_;
  if (kind_ == JitterKind::spread) {
    const double base = static_cast<double>(floor_.count()) * std::pow(2.0, std::min(n, 30));
    // Jitter spreads reconnects of many channels over +-jitter of the nominal delay.
    const double jittered = base * (1.0 + jitter_ * (2.0 * unit_random - 1.0));
    const double bounded = std::clamp(jittered, static_cast<double>(floor_.count()),
                                      static_cast<double>(cap_.count()));
    return Duration(static_cast<Duration::rep>(bounded));
  }
  Duration base = floor_;
  for (int i = 0; i < n && base < cap_; ++i)
    base *= 2;
  base = std::min(base, cap_);
  const auto shrink = std::chrono::duration_cast<Duration>(base * (unit_random * jitter_));
  return std::max(floor_, base - shrink);
}

}  // namespace pollux::runtime
