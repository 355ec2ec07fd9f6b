#include "history/record.hpp"

#include <gtest/gtest.h>

namespace pollux::history {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(Millis, FloorsToTheMillisecondThatHoldsTheTime) {
  const runtime::WallTime epoch{};
  EXPECT_EQ(to_millis(epoch), 0);
  EXPECT_EQ(to_millis(epoch + microseconds(1999)), 1);
  EXPECT_EQ(to_millis(epoch + milliseconds(1'700'000'000'123) + microseconds(999)),
            1'700'000'000'123);
  // Before 1970: towards the past, not towards zero.
  EXPECT_EQ(to_millis(epoch - microseconds(1)), -1);
  EXPECT_EQ(to_millis(epoch - microseconds(1000)), -1);
  EXPECT_EQ(to_millis(epoch - microseconds(1001)), -2);
}

TEST(Millis, RoundTripsThroughWallTime) {
  for (Millis ms :
       {Millis{0}, Millis{1}, Millis{-1}, Millis{1'700'000'000'123}, Millis{-86'400'000'000}}) {
    EXPECT_EQ(to_millis(from_millis(ms)), ms);
    EXPECT_EQ(from_millis(ms).time_since_epoch(), milliseconds(ms));
  }
}

}  // namespace
}  // namespace pollux::history
