#include "redundancy/backoff.hpp"

#include <algorithm>

namespace pollux::redundancy {

ReconnectBackoff::ReconnectBackoff(runtime::Duration floor, runtime::Duration cap, double jitter,
                                   std::uint64_t seed, runtime::Duration lost_cap)
    : floor_(floor),
      cap_(std::max(cap, floor)),
      lost_cap_(lost_cap),
      jitter_(std::clamp(jitter, 0.0, 0.99)),
      rng_(seed) {}

runtime::Duration ReconnectBackoff::next(RetryCause why) {
  runtime::Duration base = floor_;
  for (int i = 0; i < attempt_ && base < cap_; ++i)
    base *= 2;
  base = std::min(base, cap_);
  if (attempt_ < 62) ++attempt_;
  std::uniform_real_distribution<double> u(0.0, jitter_);
  const auto shrink = std::chrono::duration_cast<runtime::Duration>(base * u(rng_));
  const runtime::Duration delay = std::max(floor_, base - shrink);
  return why == RetryCause::master_unreachable ? std::min(delay, lost_cap_) : delay;
}

ReconnectBackoff backup_reconnect_backoff(const config::RedundancySettings& settings,
                                          runtime::Duration floor, runtime::Duration cap,
                                          double jitter, std::uint64_t seed) {
  const auto or_setting = [](runtime::Duration d, int ms) {
    return d > runtime::Duration::zero() ? d : runtime::milliseconds(ms);
  };
  return ReconnectBackoff(or_setting(floor, settings.heartbeat_interval_ms),
                          or_setting(cap, settings.failover_timeout_ms), jitter, seed,
                          runtime::milliseconds(std::max(1, settings.heartbeat_interval_ms)));
}

}  // namespace pollux::redundancy
