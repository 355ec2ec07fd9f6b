#include "runtime/manual_executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace pollux::runtime {
namespace {

TEST(ManualExecutor, RunsTimersInDueOrderWithNowAtDueTime) {
  ManualExecutor ex;
  const TimePoint t0 = ex.now();
  std::vector<std::pair<int, Duration>> ran;
  ex.schedule_after(milliseconds(30), [&] { ran.emplace_back(3, ex.now() - t0); });
  ex.schedule_after(milliseconds(10), [&] { ran.emplace_back(1, ex.now() - t0); });
  ex.schedule_after(milliseconds(20), [&] { ran.emplace_back(2, ex.now() - t0); });
  EXPECT_EQ(ex.advance(milliseconds(25)), 2u);
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0], std::make_pair(1, Duration(milliseconds(10))));
  EXPECT_EQ(ran[1], std::make_pair(2, Duration(milliseconds(20))));
  EXPECT_EQ(ex.now() - t0, milliseconds(25));
  EXPECT_TRUE(ex.advance_to_next_timer());
  EXPECT_EQ(ran.back(), std::make_pair(3, Duration(milliseconds(30))));
  EXPECT_FALSE(ex.advance_to_next_timer());
}

// Stalls: a timer found overdue by more than the watch's threshold (after pause(), as a
// SIGSTOPped process finds it) reports the stall once, before any overdue timer runs.
TEST(ManualExecutor, AStallIsReportedOnceBeforeTheOverdueTimers) {
  ManualExecutor ex;
  std::vector<std::string> log;
  std::function<void()> tick = [&] {
    log.push_back("tick");
    ex.schedule_after(milliseconds(100), tick);
  };
  ex.schedule_after(milliseconds(100), tick);
  const auto id = ex.watch_stalls(milliseconds(1000), [&](Duration late) {
    log.push_back("stall " + std::to_string(to_ms(late)));
  });
  ex.advance(milliseconds(1000));  // on time: ten ticks, no stall
  EXPECT_EQ(log.size(), 10u);
  log.clear();
  ex.pause(milliseconds(1000));  // the next tick late by 900 ms: within the threshold
  ex.advance(milliseconds(0));
  EXPECT_EQ(log, (std::vector<std::string>{"tick"}));
  log.clear();
  ex.pause(milliseconds(3000));  // late by 2900 ms
  ex.advance(milliseconds(250));
  EXPECT_EQ(log, (std::vector<std::string>{"stall 2900", "tick", "tick", "tick"}));
  log.clear();
  ex.unwatch_stalls(id);
  ex.pause(milliseconds(3000));
  ex.advance(milliseconds(0));
  EXPECT_EQ(log, (std::vector<std::string>{"tick"}));
}

TEST(ManualExecutor, SameDueTimeRunsInSchedulingOrder) {
  ManualExecutor ex;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i)
    ex.schedule_after(milliseconds(5), [&, i] { order.push_back(i); });
  ex.advance(milliseconds(5));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ManualExecutor, CancelledTimerNeverRuns) {
  ManualExecutor ex;
  bool ran = false;
  TimerId id = ex.schedule_after(milliseconds(5), [&] { ran = true; });
  EXPECT_TRUE(ex.cancel(id));
  EXPECT_FALSE(ex.cancel(id));
  ex.advance(seconds(1));
  EXPECT_FALSE(ran);
}

// Timer ids reuse slots: an old id must never cancel the new timer in its slot, and the stale
// heap entry of a cancelled timer must not fire in the new timer's place.
TEST(ManualExecutor, ReusedTimerSlotKeepsIdsApart) {
  ManualExecutor ex;
  std::vector<int> ran;
  TimerId a = ex.schedule_after(milliseconds(50), [&] { ran.push_back(1); });
  EXPECT_TRUE(ex.cancel(a));
  TimerId b = ex.schedule_after(milliseconds(10), [&] { ran.push_back(2); });
  EXPECT_FALSE(b == a);
  EXPECT_FALSE(ex.cancel(a));  // stale id: b stays
  EXPECT_EQ(ex.pending_timers(), 1u);
  ex.advance(milliseconds(10));
  EXPECT_EQ(ran, (std::vector<int>{2}));
  EXPECT_FALSE(ex.cancel(b));  // fired: its id is dead too
  TimerId c = ex.schedule_after(milliseconds(10), [&] { ran.push_back(3); });
  ex.advance(milliseconds(100));  // past a's old due time: only c runs
  EXPECT_EQ(ran, (std::vector<int>{2, 3}));
  EXPECT_FALSE(ex.cancel(c));
  EXPECT_EQ(ex.pending_timers(), 0u);
}

// Many cancelled timers (reply timeouts) are compacted away; the live ones keep their order.
TEST(ManualExecutor, ManyCancelledTimersKeepLiveOnesInOrder) {
  ManualExecutor ex;
  std::vector<int> ran;
  for (int i = 0; i < 5000; ++i) {
    TimerId dead = ex.schedule_after(seconds(10), [&] { ran.push_back(-1); });
    if (i % 1000 == 0) ex.schedule_after(milliseconds(5000 - i), [&ran, i] { ran.push_back(i); });
    EXPECT_TRUE(ex.cancel(dead));
  }
  EXPECT_EQ(ex.pending_timers(), 5u);
  ex.advance(seconds(20));
  EXPECT_EQ(ran, (std::vector<int>{4000, 3000, 2000, 1000, 0}));
}

TEST(ManualExecutor, TimerScheduledFromTimerRunsWithinSameAdvance) {
  ManualExecutor ex;
  const TimePoint t0 = ex.now();
  std::vector<Duration> at;
  std::function<void()> tick = [&] {
    at.push_back(ex.now() - t0);
    if (at.size() < 3) ex.schedule_after(milliseconds(100), tick);
  };
  ex.schedule_after(milliseconds(100), tick);
  ex.advance(seconds(1));
  EXPECT_EQ(at, (std::vector<Duration>{milliseconds(100), milliseconds(200), milliseconds(300)}));
}

TEST(ManualExecutor, PostedTasksRunBeforeTimeMoves) {
  ManualExecutor ex;
  std::vector<int> order;
  ex.schedule_after(milliseconds(1), [&] { order.push_back(2); });
  ex.post([&] { order.push_back(1); });
  ex.advance(milliseconds(1));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// post() is the one call another thread may make (executor.hpp): tasks posted from several
// threads while the test thread runs them all arrive, each once.
TEST(ManualExecutor, PostFromOtherThreads) {
  ManualExecutor ex;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  int ran = 0;  // touched only by the tasks, on this thread
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i)
        ex.post([&] { ++ran; });
      --running;
    });
  while (running > 0)
    ex.run_pending();
  for (auto& t : threads)
    t.join();
  ex.run_pending();
  EXPECT_EQ(ran, kThreads * kPerThread);
}

TEST(ManualExecutor, WallTimeFollowsManualTime) {
  ManualExecutor ex;
  const WallTime w0 = ex.wall_now();
  ex.advance(seconds(90));
  EXPECT_EQ(ex.wall_now() - w0, seconds(90));
}

}  // namespace
}  // namespace pollux::runtime
