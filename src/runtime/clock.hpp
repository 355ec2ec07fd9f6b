// Time vocabulary for the whole project: a monotonic TimePoint and the Clock seam.
//
// Protocol and policy code never reads a clock; it is handed `now`. Only the executors in this
// folder read the real steady clock, so tests replace time wholesale with ManualExecutor
// (DESIGN.md principle 1 and 3; failover.md "All times use a monotonic clock that tests can
// replace").
#pragma once

#include <chrono>
#include <cstdint>

namespace pollux::runtime {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Converts a configured seconds value (decimals allowed, config.md) to a Duration.
inline Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
inline double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
inline std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Wall-clock time, used only for timestamps shown to people (API, logs); never for timing.
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Wall time matching now(); the manual clock derives it from a fixed epoch so tests are stable.
  virtual WallTime wall_now() const = 0;
};

}  // namespace pollux::runtime
