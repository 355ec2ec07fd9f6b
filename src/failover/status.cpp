#include "failover/status.hpp"

namespace pollux::failover {
namespace {

std::string channel_of(const Settings& s, int line) {
  return s.configured(line) ? s.line(line).channel : std::string();
}

}  // namespace

StatusValues status_values(const Settings& settings, const State& state) {
  return StatusValues{
      channel_of(settings, state.active_line), state.active_line,       channel_of(settings, 1),
      state.primary_failed_over ? 1 : 0,       channel_of(settings, 2), channel_of(settings, 3)};
}

}  // namespace pollux::failover
