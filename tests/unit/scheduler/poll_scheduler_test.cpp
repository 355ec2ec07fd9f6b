#include "scheduler/poll_scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "runtime/manual_executor.hpp"

namespace pollux::scheduler {
namespace {

using runtime::milliseconds;

TEST(NextDue, StaysOnTheGrid) {
  const runtime::TimePoint t0{std::chrono::hours(1)};
  auto n = next_due_after(t0, milliseconds(100), t0 + milliseconds(3));
  EXPECT_EQ(n.due, t0 + milliseconds(100));
  EXPECT_EQ(n.skipped, 0u);
  // Fired 250 ms late: 100 and 200 are past (skipped), next is 300.
  n = next_due_after(t0, milliseconds(100), t0 + milliseconds(250));
  EXPECT_EQ(n.due, t0 + milliseconds(300));
  EXPECT_EQ(n.skipped, 2u);
  // Exactly on a grid point: that point is past too.
  n = next_due_after(t0, milliseconds(100), t0 + milliseconds(100));
  EXPECT_EQ(n.due, t0 + milliseconds(200));
  EXPECT_EQ(n.skipped, 1u);
}

struct Sink : PollSink {
  explicit Sink(runtime::Executor& e) : ex(e) {}
  bool on_poll_due(void* owner, std::uint32_t group) override {
    fired.push_back({owner, group, ex.now()});
    return accept;
  }
  struct Fire {
    void* owner;
    std::uint32_t group;
    runtime::TimePoint at;
  };
  runtime::Executor& ex;
  std::vector<Fire> fired;
  bool accept = true;
};

TEST(PollScheduler, FirstPollAtStartThenDriftFree) {
  runtime::ManualExecutor ex;
  Sink sink(ex);
  PollScheduler s(ex, sink);
  const auto t0 = ex.now();
  int owner = 0;
  s.add(&owner, 0, milliseconds(1000));
  ex.run_pending();
  ex.advance(runtime::Duration::zero());
  ASSERT_EQ(sink.fired.size(), 1u);
  EXPECT_EQ(sink.fired[0].at, t0);
  ex.advance(milliseconds(10500));
  ASSERT_EQ(sink.fired.size(), 11u);
  for (std::size_t i = 0; i < sink.fired.size(); ++i)
    EXPECT_EQ(sink.fired[i].at, t0 + milliseconds(1000) * static_cast<int>(i));
  EXPECT_EQ(s.total_overruns(), 0u);
}

TEST(PollScheduler, RefusedPollIsAnOverrunNotABunch) {
  runtime::ManualExecutor ex;
  Sink sink(ex);
  PollScheduler s(ex, sink);
  int owner = 0;
  s.add(&owner, 3, milliseconds(100));
  ex.advance(runtime::Duration::zero());
  sink.accept = false;  // previous poll still queued
  ex.advance(milliseconds(300));
  EXPECT_EQ(s.overruns(&owner, 3), 3u);
  sink.accept = true;
  const auto before = sink.fired.size();
  ex.advance(milliseconds(100));
  EXPECT_EQ(sink.fired.size(), before + 1);  // one poll, not the three missed ones
}

TEST(PollScheduler, RefusedGroupIsParkedUntilResumedNotFiredAtEveryGridPoint) {
  runtime::ManualExecutor ex;
  Sink sink(ex);
  PollScheduler s(ex, sink);
  s.enable_parking();
  const auto t0 = ex.now();
  int owner = 0;
  const auto h = s.add(&owner, 0, milliseconds(1));
  ex.advance(runtime::Duration::zero());
  ASSERT_EQ(sink.fired.size(), 1u);
  sink.accept = false;  // the poll takes 10 ms
  ex.advance(milliseconds(10));
  ASSERT_EQ(sink.fired.size(), 2u);  // refused once at t0+1, then parked
  EXPECT_EQ(s.overruns(h), 10u);     // every grid point t0+1..t0+10 was missed
  EXPECT_EQ(s.overruns(&owner, 0), 10u);
  ex.advance(std::chrono::microseconds(500));  // the poll ends at t0+10.5
  sink.accept = true;
  s.resume(h);
  ex.advance(std::chrono::microseconds(500));
  ASSERT_EQ(sink.fired.size(), 3u);
  EXPECT_EQ(sink.fired[2].at, t0 + milliseconds(11));  // the next grid point
  EXPECT_EQ(s.overruns(h), 10u);
  EXPECT_EQ(s.total_overruns(), 10u);
  ex.advance(milliseconds(3));
  EXPECT_EQ(sink.fired.size(), 6u);  // back to every interval
  s.resume(h);                       // not parked: nothing changes
  ex.advance(milliseconds(1));
  EXPECT_EQ(sink.fired.size(), 7u);
}

TEST(PollScheduler, ParkedGroupNeverResumedIsLookedAtAboutEverySecond) {
  runtime::ManualExecutor ex;
  Sink sink(ex);
  PollScheduler s(ex, sink);
  s.enable_parking();
  const auto t0 = ex.now();
  int owner = 0;
  s.add(&owner, 0, milliseconds(100));
  ex.advance(runtime::Duration::zero());
  sink.accept = false;  // a poll dropped without resume()
  ex.advance(milliseconds(2500));
  // Refused at +100, looked at again at +1100 and +2100.
  ASSERT_EQ(sink.fired.size(), 4u);
  EXPECT_EQ(sink.fired[2].at, t0 + milliseconds(1100));
  EXPECT_EQ(sink.fired[3].at, t0 + milliseconds(2100));
  EXPECT_EQ(s.overruns(&owner, 0), 25u);
  sink.accept = true;
  ex.advance(milliseconds(650));
  ASSERT_EQ(sink.fired.size(), 5u);
  EXPECT_EQ(sink.fired[4].at, t0 + milliseconds(3100));
  EXPECT_EQ(s.total_overruns(), 30u);  // +100 .. +3000
}

// An executor whose callbacks run `lag` after their due time (a stalled I/O thread).
struct LaggyExecutor : runtime::Executor {
  explicit LaggyExecutor(runtime::ManualExecutor& m) : inner(m) {}
  runtime::TimePoint now() const override { return inner.now() + lag; }
  runtime::WallTime wall_now() const override { return inner.wall_now(); }
  runtime::TimerId schedule_at(runtime::TimePoint when, runtime::Task t) override {
    return inner.schedule_at(when, std::move(t));
  }
  bool cancel(runtime::TimerId id) override { return inner.cancel(id); }
  void post(runtime::Task t) override { inner.post(std::move(t)); }
  void offload(runtime::Task work, runtime::Task then) override {
    inner.offload(std::move(work), std::move(then));
  }
  runtime::ManualExecutor& inner;
  runtime::Duration lag{};
};

TEST(PollScheduler, LateTimerSkipsMissedCyclesAndCountsThem) {
  runtime::ManualExecutor manual;
  LaggyExecutor ex(manual);
  Sink sink(ex);
  PollScheduler s(ex, sink);
  const auto t0 = manual.now();
  int owner = 0;
  s.add(&owner, 0, milliseconds(100));
  manual.advance(runtime::Duration::zero());
  ASSERT_EQ(sink.fired.size(), 1u);
  ex.lag = milliseconds(250);  // the t0+100 timer is seen at t0+350
  manual.advance(milliseconds(100));
  ASSERT_EQ(sink.fired.size(), 2u);
  EXPECT_EQ(s.overruns(&owner, 0), 2u);  // t0+200 and t0+300 were skipped
  ex.lag = {};
  manual.advance(milliseconds(200));  // to t0+300: nothing due (next is t0+400)
  EXPECT_EQ(sink.fired.size(), 2u);
  manual.advance(milliseconds(100));  // t0+400: back on the original grid
  ASSERT_EQ(sink.fired.size(), 3u);
  EXPECT_EQ(sink.fired[2].at, t0 + milliseconds(400));
  EXPECT_EQ(s.total_overruns(), 2u);
}

TEST(PollScheduler, RecordsLatenessOfEachFire) {
  runtime::ManualExecutor manual;
  LaggyExecutor ex(manual);
  Sink sink(ex);
  PollScheduler s(ex, sink);
  int owner = 0;
  s.add(&owner, 0, milliseconds(100));
  manual.advance(runtime::Duration::zero());  // on time
  ex.lag = milliseconds(7);
  manual.advance(milliseconds(100));  // 7 ms late
  ex.lag = milliseconds(300);
  manual.advance(milliseconds(100));  // 300 ms late
  const auto& h = s.lateness();
  ASSERT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum_ms, 307.0);
  const auto bucket_of = [](double bound) {
    const auto& b = LatenessHistogram::kBoundsMs;
    return static_cast<std::size_t>(std::find(b.begin(), b.end(), bound) - b.begin());
  };
  EXPECT_EQ(h.buckets[0], 1u);               // 0 ms: the first bucket
  EXPECT_EQ(h.buckets[bucket_of(7.5)], 1u);  // 7 ms: (5, 7.5]
  EXPECT_EQ(h.buckets[bucket_of(500)], 1u);  // 300 ms: (250, 500]
  std::uint64_t total = 0;
  for (auto n : h.buckets)
    total += n;
  EXPECT_EQ(total, 3u);
}

TEST(PollScheduler, RemoveStopsAGroup) {
  runtime::ManualExecutor ex;
  Sink sink(ex);
  PollScheduler s(ex, sink);
  int a = 0, b = 0;
  s.add(&a, 0, milliseconds(100));
  s.add(&b, 0, milliseconds(100));
  ex.advance(runtime::Duration::zero());
  s.remove(&a);
  sink.fired.clear();
  ex.advance(milliseconds(500));
  ASSERT_EQ(sink.fired.size(), 5u);
  for (const auto& f : sink.fired)
    EXPECT_EQ(f.owner, &b);
}

}  // namespace
}  // namespace pollux::scheduler
