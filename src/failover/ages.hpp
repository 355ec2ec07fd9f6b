// Failover state as ages, for the redundancy runtime-state sync (spec/redundancy.md
// "failover timers as ages").
//
// Monotonic time points mean nothing on another host, so the active node exports how long ago
// each timer started, and the receiver rebuilds the points against its own `now`. A Retry
// primary or Initial fail timer therefore continues on the peer instead of restarting.
#pragma once

#include <optional>

#include "failover/policy.hpp"
#include "runtime/clock.hpp"

namespace pollux::failover {

struct StateAges {
  int active_line = 1;
  int last_good_line = 0;
  bool subsequent_active = false;
  bool primary_failed_over = false;
  runtime::Duration since_last_success{};
  std::optional<runtime::Duration> since_failed_over;
  std::optional<runtime::Duration> since_restored;
  friend bool operator==(const StateAges&, const StateAges&) = default;
};

// Ages relative to the exporter's `now`; a time in the future (never expected) exports as 0.
StateAges export_ages(const State& state, runtime::TimePoint now);

// Rebuilds a State relative to the importer's `now`. Values the local settings cannot hold
// are repaired as a reload would: an active line that is not eligible here becomes line 1
// (failed_over_at cleared), a line number out of range becomes 0 (last_good) or 1 (active).
State import_ages(const Settings& settings, const StateAges& ages, runtime::TimePoint now);

}  // namespace pollux::failover
