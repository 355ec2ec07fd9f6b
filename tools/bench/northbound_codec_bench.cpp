// Sparkplug B encoding per message (src/northbound/encoder): what each DDATA costs the polling
// thread before it is handed to the MQTT client. At the 10,000-device 1 s scan with ten
// changing points per device the node encodes 10,000 such DDATA per second
// (tools/bench/northbound_bench.py measures the whole path).
// Run: northbound_codec_bench (it prints the command that reproduces its numbers).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "bench_main.hpp"
#include "northbound/encoder.hpp"

namespace {

namespace nb = pollux::northbound;

// A DDATA as the session builds it: aliases, the points' timestamp, Quality, no names.
nb::Payload ddata(int metrics) {
  nb::Payload p;
  p.timestamp = 1'780'000'000'000;
  p.seq = 7;
  for (int i = 0; i < metrics; ++i) {
    nb::Metric m;
    m.alias = static_cast<std::uint64_t>(1000 + i);
    m.type = nb::DataType::uint16;
    m.timestamp = 1'780'000'000'000;
    m.value = static_cast<std::uint64_t>(i * 7);
    m.quality = nb::kQualityGood;
    p.metrics.push_back(std::move(m));
  }
  return p;
}

// A DBIRTH: names and datatypes too.
nb::Payload dbirth(int metrics) {
  nb::Payload p = ddata(metrics);
  for (int i = 0; i < metrics; ++i)
    p.metrics[static_cast<std::size_t>(i)].name = "POINT_" + std::to_string(i);
  return p;
}

// Values vary per iteration so nothing is constant-folded.
void encode(benchmark::State& state, nb::Payload p) {
  std::uint64_t n = 0;
  for (auto _ : state) {
    p.metrics[0].value = n++;
    benchmark::DoNotOptimize(nb::encode(p));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(p.metrics.size()));
}

void BM_EncodeDdata(benchmark::State& s) {
  encode(s, ddata(static_cast<int>(s.range(0))));
}
void BM_EncodeDbirth(benchmark::State& s) {
  encode(s, dbirth(static_cast<int>(s.range(0))));
}

BENCHMARK(BM_EncodeDdata)->Arg(1)->Arg(10)->Arg(500);
BENCHMARK(BM_EncodeDbirth)->Arg(26);

}  // namespace

int main(int argc, char** argv) {
  return pollux::bench::run_benchmarks(argc, argv, "northbound_codec_bench");
}
