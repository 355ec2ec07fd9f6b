// The Asio executor is checked against real time only loosely (ordering, cancellation), since
// it is the one place that reads the steady clock.
#include "runtime/asio_executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace pollux::runtime {
namespace {

TEST(AsioExecutor, RunsTimersInOrderAndHonoursCancel) {
  boost::asio::io_context io;
  AsioExecutor ex(io);
  std::vector<int> order;
  // Taken before scheduling: the timers are due 20 ms after the moment they were scheduled.
  const TimePoint start = ex.now();
  ex.schedule_after(milliseconds(20), [&] { order.push_back(2); });
  TimerId cancelled = ex.schedule_after(milliseconds(5), [&] { order.push_back(99); });
  ex.schedule_after(milliseconds(10), [&] { order.push_back(1); });
  ex.post([&] { order.push_back(0); });
  EXPECT_TRUE(ex.cancel(cancelled));
  io.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_GE(ex.now() - start, milliseconds(20));
}

// Stalls on the real clock: a task that holds the I/O thread for 300 ms (a starved or stopped
// process) leaves the next timer 250 ms overdue; the watch hears of it before that timer runs.
TEST(AsioExecutor, AStallIsReportedBeforeTheOverdueTimerRuns) {
  boost::asio::io_context io;
  AsioExecutor ex(io);
  std::vector<std::string> log;
  Duration reported{};
  ex.watch_stalls(milliseconds(100), [&](Duration late) {
    log.push_back("stall");
    reported = late;
  });
  ex.schedule_after(milliseconds(10), [&] {
    log.push_back("hold");
    std::this_thread::sleep_for(milliseconds(300));
  });
  ex.schedule_after(milliseconds(60), [&] { log.push_back("overdue"); });
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"hold", "stall", "overdue"}));
  EXPECT_GE(reported, milliseconds(200));
}

// offload(): the work runs on another thread while the I/O thread goes on; `then` runs on the
// I/O thread after it.
TEST(AsioExecutor, OffloadRunsWorkElsewhereThenFinishesOnTheIoThread) {
  boost::asio::io_context io;
  AsioExecutor ex(io);
  const auto io_thread = std::this_thread::get_id();
  std::atomic<bool> release{false};
  std::thread::id work_thread;
  std::thread::id then_thread;
  bool ticked_during_work = false;
  ex.offload(
      [&] {
        work_thread = std::this_thread::get_id();
        while (!release)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      },
      [&] { then_thread = std::this_thread::get_id(); });
  // A timer on the I/O thread fires while the work is still going, then lets it finish.
  ex.schedule_after(milliseconds(10), [&] {
    ticked_during_work = then_thread == std::thread::id{};
    release = true;
  });
  io.run();
  EXPECT_TRUE(ticked_during_work);
  EXPECT_NE(work_thread, io_thread);
  EXPECT_EQ(then_thread, io_thread);
}

// An executor that goes while its work runs waits for the work, and `then` never runs.
TEST(AsioExecutor, OffloadWorkOutlivingTheExecutorIsJoinedAndItsThenDropped) {
  boost::asio::io_context io;
  std::atomic<bool> finished{false};
  bool then_ran = false;
  {
    AsioExecutor ex(io);
    ex.offload(
        [&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          finished = true;
        },
        [&] { then_ran = true; });
  }
  EXPECT_TRUE(finished);
  io.run();
  EXPECT_FALSE(then_ran);
}

}  // namespace
}  // namespace pollux::runtime
