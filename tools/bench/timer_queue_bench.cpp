// TimerQueue benchmark: the timer work of one transaction at a 1 s scan of N devices.
//
// Every device has a periodic poll timer (the poll scheduler's) and each of its messages arms a
// reply timeout that the answer cancels long before it is due (TcpLink, SerialLink). One
// iteration is one transaction: pop the earliest poll timer, arm and cancel a 2 s reply
// timeout, re-arm the poll timer one interval later. With 10,000 devices the heap holds their
// 10,000 poll timers plus the cancelled timeouts not yet compacted away, far more than fits
// in the first cache levels, so the figure is mostly the cache misses of a sift.
// Run: timer_queue_bench (prints the command that reproduces its numbers).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "bench_main.hpp"
#include "runtime/timer_queue.hpp"

namespace {

using pollux::runtime::Duration;
using pollux::runtime::TimePoint;
using pollux::runtime::TimerQueue;

void BM_ScanTransaction(benchmark::State& state) {
  const auto devices = static_cast<std::size_t>(state.range(0));
  const Duration interval = std::chrono::seconds(1);
  const Duration reply_timeout = std::chrono::seconds(2);
  TimerQueue q;
  TimePoint now{};
  std::uint64_t fired = 0;
  // The tasks capture two words, as the scheduler's do (they fit std::function's buffer).
  for (std::size_t i = 0; i < devices; ++i)
    q.add(now + interval * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(devices),
          [&fired, i] { fired += i; });
  for (auto _ : state) {
    const auto due = q.next_due();
    now = *due;
    auto task = q.pop_due(now);
    (*task)();
    const auto timeout = q.add(now + reply_timeout, [&fired] { ++fired; });
    q.cancel(timeout);
    q.add(now + interval, std::move(*task));
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScanTransaction)->Arg(100)->Arg(1000)->Arg(10000)->Arg(100000);

}  // namespace

int main(int argc, char** argv) {
  return pollux::bench::run_benchmarks(argc, argv, "timer_queue_bench");
}
