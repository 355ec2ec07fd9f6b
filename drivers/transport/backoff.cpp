#include "transport/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace pollux::transport {

runtime::Duration Backoff::next(double unit_random) {
  const double base = static_cast<double>(floor_.count()) * std::pow(2.0, std::min(failures_, 30));
  ++failures_;
  // Jitter spreads reconnects of many channels over +-jitter of the nominal delay.
  const double jittered = base * (1.0 + jitter_ * (2.0 * unit_random - 1.0));
  const double bounded =
      std::clamp(jittered, static_cast<double>(floor_.count()), static_cast<double>(cap_.count()));
  return runtime::Duration(static_cast<runtime::Duration::rep>(bounded));
}

}  // namespace pollux::transport
