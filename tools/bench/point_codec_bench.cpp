// Register -> value decoding per point kind: what each read point costs the polling thread
// after its answer arrived (src/points/register_codec). A float32 is shown as its shortest
// decimal and a scaled reading without binary noise (api.md values), which takes a round trip
// through text; this measures what that costs next to a plain integer.
// Run: point_codec_bench (it prints the command that reproduces its numbers).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <vector>

#include "bench_main.hpp"
#include "points/register_codec.hpp"

namespace {

using pollux::config::Point;
using pollux::config::PointType;

Point make(PointType type, double scale) {
  Point p;
  p.name = "P";
  p.table = pollux::config::Table::holding;
  p.type = type;
  p.scale = scale;
  return p;
}

// Registers vary per iteration so no result is constant-folded or cached.
void decode(benchmark::State& state, PointType type, double scale, int width) {
  const Point p = make(type, scale);
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(width), 0);
  std::uint16_t n = 0;
  for (auto _ : state) {
    regs[0] = static_cast<std::uint16_t>(0x4232 + (n & 0xFF));
    regs.back() = n++;
    benchmark::DoNotOptimize(pollux::points::decode_registers(p, regs));
  }
}

void BM_Uint16(benchmark::State& s) {
  decode(s, PointType::uint16, 1.0, 1);
}
void BM_Uint16Scaled(benchmark::State& s) {
  decode(s, PointType::uint16, 0.1, 1);
}
void BM_Float32(benchmark::State& s) {
  decode(s, PointType::float32, 1.0, 2);
}
void BM_Float32Scaled(benchmark::State& s) {
  decode(s, PointType::float32, 0.1, 2);
}
void BM_Float64(benchmark::State& s) {
  decode(s, PointType::float64, 1.0, 4);
}

BENCHMARK(BM_Uint16);
BENCHMARK(BM_Uint16Scaled);
BENCHMARK(BM_Float32);
BENCHMARK(BM_Float32Scaled);
BENCHMARK(BM_Float64);

}  // namespace

int main(int argc, char** argv) {
  return pollux::bench::run_benchmarks(argc, argv, "point_codec_bench");
}
