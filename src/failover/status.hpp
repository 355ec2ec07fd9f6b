// The six per-device failover status points SYDEV* (spec/failover.md "Status points").
//
// A pure function of settings and state, so the points change in the same step as the state
// they show: the caller republishes them whenever a rule function returned a change or
// on_success() ran. Publishing (points, quality `good`) is the point store's job.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "failover/policy.hpp"

namespace pollux::failover {

struct StatusValues {
  std::string sydevcomid;  // channel of the active line
  int sydevcomln = 1;      // active line 1..3
  std::string sydevpcom;   // channel of line 1
  int sydevprfo = 0;       // rule 6
  std::string sydevscom;   // channel of line 2, "" when not configured
  std::string sydevtcom;   // channel of line 3, "" when not configured (our addition)
  friend bool operator==(const StatusValues&, const StatusValues&) = default;
};

// Point names in the order of StatusValues' fields.
inline constexpr std::array<std::string_view, 6> kStatusPointNames{
    "SYDEVCOMID", "SYDEVCOMLN", "SYDEVPCOM", "SYDEVPRFO", "SYDEVSCOM", "SYDEVTCOM"};

StatusValues status_values(const Settings& settings, const State& state);

}  // namespace pollux::failover
