// The program's one histogram: fixed buckets of milliseconds, no allocation per observation
// (DESIGN.md principle 6), exported cumulatively in the Prometheus sense (spec/api.md
// "GET /metrics": pollux_channel_response_seconds, pollux_scheduler_lateness_seconds; the
// exporter renders it in seconds). The channel runner counts response times and the poll
// scheduler lateness in it, each with bounds of its own.
//
// The bounds are a template argument, a namespace-scope `inline constexpr std::array<double, N>`
// of finite upper bounds in ms: they cost no storage per histogram and are checked at compile
// time (strictly increasing). The +Inf bucket is implicit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pollux::runtime {

template <std::size_t N>
constexpr bool strictly_increasing(const std::array<double, N>& bounds) {
  for (std::size_t i = 1; i < N; ++i)
    if (!(bounds[i - 1] < bounds[i])) return false;
  return true;
}

template <const auto& Bounds>
struct Histogram {
  static_assert(strictly_increasing(Bounds), "histogram bounds must be strictly increasing");
  static constexpr const auto& kBoundsMs = Bounds;
  // buckets[i]: observations in (kBoundsMs[i-1], kBoundsMs[i]]; the last one: above them all.
  std::array<std::uint64_t, Bounds.size() + 1> buckets{};
  double sum_ms = 0;
  std::uint64_t count = 0;

  void observe(double ms) {
    std::size_t i = 0;
    while (i < Bounds.size() && ms > Bounds[i])
      ++i;
    ++buckets[i];
    sum_ms += ms;
    ++count;
  }
};

}  // namespace pollux::runtime
