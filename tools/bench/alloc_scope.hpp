// Allocations per benchmark iteration: an "allocs/iter" counter over the timed loop only
// (warm-up runs before it), for the benchmarks that show a hot path allocates nothing (DESIGN.md
// principle 6). Include it in one source file of a benchmark program: it brings the counting
// operator new (testlib/counting_new.hpp).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>

#include "testlib/counting_new.hpp"

namespace pollux::bench {

class AllocScope {
 public:
  explicit AllocScope(benchmark::State& state)
      : state_(state), start_(pollux::testlib::allocations()) {}
  ~AllocScope() {
    const double n = static_cast<double>(pollux::testlib::allocations() - start_);
    state_.counters["allocs/iter"] = benchmark::Counter(
        n / static_cast<double>(std::max<benchmark::IterationCount>(1, state_.iterations())));
  }
  AllocScope(const AllocScope&) = delete;
  AllocScope& operator=(const AllocScope&) = delete;

 private:
  benchmark::State& state_;
  std::uint64_t start_;
};

}  // namespace pollux::bench
