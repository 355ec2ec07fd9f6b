// Point change feed benchmark: nanoseconds per point change the polling thread pays with the
// feed (src/points/change_feed) attached and 0, 1 or 3 subscribers, against the store alone.
//
// Principle 7 of DESIGN.md (consumers never slow polling) in numbers. "keeping_up" subscribers
// read every change from their wake, once per burst of 1024 changes (a poll cycle's worth), on
// the same thread, so their reading is in the figure; "stalled" ones never read, which shows the
// publisher's own cost does not grow with a consumer's backlog. Allocations are counted by a
// global operator new in this binary (`allocs/iter`, per change): zero after warm-up, but for the
// one wake per subscriber and burst that the executor posts.
// Run: change_feed_bench (it prints the command that reproduces its numbers).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "points/change_feed.hpp"
#include "runtime/manual_executor.hpp"

#include "alloc_scope.hpp"  // this program counts its allocations
#include "bench_main.hpp"

namespace {

using namespace pollux;

constexpr int kPoints = 1000;
constexpr std::int64_t kBurst = 1024;
const runtime::WallTime kT{std::chrono::seconds(1'700'000'000)};

using pollux::bench::AllocScope;

struct Rig {
  Rig(bool attach, int subscribers, bool keep_up) {
    for (int i = 0; i < kPoints; ++i)
      ids.push_back(store.add("DEV_" + std::to_string(i / 20), "P" + std::to_string(i % 20)));
    if (attach) store.attach_feed(&feed);
    for (int s = 0; s < subscribers; ++s) {
      subs.push_back({});
      const std::size_t k = subs.size() - 1;
      subs[k] = feed.subscribe([this, k, keep_up] {
        if (!keep_up) return;
        feed.read(subs[k], ~std::size_t{0}, [this](const points::Change& c) {
          if (const auto* d = std::get_if<double>(&c.value)) sum += *d;
        });
      });
    }
  }

  // One changed value; a burst's end lets the subscribers read (their posted wakes).
  void change(std::int64_t n) {
    store.set_good(ids[static_cast<std::size_t>(n % kPoints)], static_cast<double>(n), kT);
    if (n % kBurst == kBurst - 1) ex.run_pending();
  }

  runtime::ManualExecutor ex;
  points::ChangeFeed feed{ex};
  points::PointStore store;
  std::vector<points::PointId> ids;
  std::vector<points::Subscription> subs;
  double sum = 0;
};

void run(benchmark::State& state, bool attach, bool keep_up) {
  Rig rig(attach, static_cast<int>(state.range(0)), keep_up);
  std::int64_t n = 0;
  // Warm-up: two laps of the ring, so every slot has been written.
  for (std::size_t i = 0; i < 2 * rig.feed.capacity(); ++i)
    rig.change(n++);
  AllocScope allocs(state);
  for (auto _ : state)
    rig.change(n++);
  benchmark::DoNotOptimize(rig.sum);
  state.counters["subscribers"] = static_cast<double>(state.range(0));
}

void BM_StoreWithoutFeed(benchmark::State& s) {
  run(s, false, true);
}
void BM_FeedKeepingUp(benchmark::State& s) {
  run(s, true, true);
}
void BM_FeedStalled(benchmark::State& s) {
  run(s, true, false);
}

BENCHMARK(BM_StoreWithoutFeed)->Arg(0);
BENCHMARK(BM_FeedKeepingUp)->Arg(0)->Arg(1)->Arg(3);
BENCHMARK(BM_FeedStalled)->Arg(1)->Arg(3);

}  // namespace

int main(int argc, char** argv) {
  return pollux::bench::run_benchmarks(argc, argv, "change_feed_bench");
}
