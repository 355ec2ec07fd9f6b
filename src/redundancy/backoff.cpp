#include "redundancy/backoff.hpp"

#include <algorithm>
#include <limits>
#include <random>

namespace pollux::redundancy {

ReconnectBackoff::ReconnectBackoff(runtime::Duration floor, runtime::Duration cap, double jitter,
                                   std::uint64_t seed, runtime::Duration lost_cap)
    : backoff_(floor, cap, jitter, runtime::JitterKind::shorten), lost_cap_(lost_cap), rng_(seed) {}

runtime::Duration ReconnectBackoff::next(RetryCause why) {
  // The draw std::uniform_real_distribution(0, 1) makes, which runtime::Backoff scales by the
  // jitter fraction.
  const double draw = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng_);
  const runtime::Duration delay = backoff_.next(draw);
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
