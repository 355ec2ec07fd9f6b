#include "failover/ages.hpp"

#include <algorithm>

namespace pollux::failover {
namespace {

runtime::Duration age(runtime::TimePoint t, runtime::TimePoint now) {
  return std::max(now - t, runtime::Duration::zero());
}

}  // namespace

StateAges export_ages(const State& state, runtime::TimePoint now) {
  StateAges a;
  a.active_line = state.active_line;
  a.last_good_line = state.last_good_line;
  a.subsequent_active = state.subsequent_active;
  a.primary_failed_over = state.primary_failed_over;
  a.since_last_success = age(state.last_success_at, now);
  if (state.failed_over_at) a.since_failed_over = age(*state.failed_over_at, now);
  if (state.restored_at) a.since_restored = age(*state.restored_at, now);
  return a;
}

State import_ages(const Settings& settings, const StateAges& ages, runtime::TimePoint now) {
  State st;
  st.active_line = settings.eligible(ages.active_line) ? ages.active_line : 1;
  st.last_good_line =
      ages.last_good_line >= 1 && ages.last_good_line <= kLineCount ? ages.last_good_line : 0;
  st.subsequent_active = ages.subsequent_active;
  st.primary_failed_over = ages.primary_failed_over;
  st.last_success_at = now - std::max(ages.since_last_success, runtime::Duration::zero());
  if (st.active_line != 1) {
    // An alternate line always has a Retry primary origin; "just now" if the peer sent none.
    st.failed_over_at = now - std::max(ages.since_failed_over.value_or(runtime::Duration::zero()),
                                       runtime::Duration::zero());
  }
  if (ages.since_restored) {
    st.restored_at = now - std::max(*ages.since_restored, runtime::Duration::zero());
  }
  return st;
}

}  // namespace pollux::failover
