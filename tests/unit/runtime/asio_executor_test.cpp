// The Asio executor is checked against real time only loosely (ordering, cancellation), since
// it is the one place that reads the steady clock.
#include "runtime/asio_executor.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pollux::runtime
