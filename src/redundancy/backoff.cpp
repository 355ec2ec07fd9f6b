#include "redundancy/backoff.hpp"

#include <algorithm>

namespace pollux::redundancy {

ReconnectBackoff::ReconnectBackoff(runtime::Duration floor, runtime::Duration cap, double jitter,
                                   std::uint64_t seed)
    : floor_(floor),
      cap_(std::max(cap, floor)),
      jitter_(std::clamp(jitter, 0.0, 0.99)),
      rng_(seed) {}

runtime::Duration ReconnectBackoff::next() {
  runtime::Duration base = floor_;
  for (int i = 0; i < attempt_ && base < cap_; ++i)
    base *= 2;
  base = std::min(base, cap_);
  if (attempt_ < 62) ++attempt_;
  std::uniform_real_distribution<double> u(0.0, jitter_);
  const auto shrink = std::chrono::duration_cast<runtime::Duration>(base * u(rng_));
  return std::max(floor_, base - shrink);
}

}  // namespace pollux::redundancy
