// The main() of a Google Benchmark program here: runs the benchmarks and prints the command that
// reproduces them (every benchmark prints its figures and that command; README "Benchmarks").
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>

namespace pollux::bench {

// `program`: the benchmark's name under build/release/tools/bench/.
inline int run_benchmarks(int argc, char** argv, const char* program) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "reproduce: tools/build.sh release && taskset -c 0 build/release/tools/bench/%s "
      "--benchmark_repetitions=5 --benchmark_report_aggregates_only=true\n",
      program);
  std::fflush(stdout);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace pollux::bench
