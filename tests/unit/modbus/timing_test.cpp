#include "modbus/timing.hpp"

#include <gtest/gtest.h>

namespace pollux::modbus {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(RtuTiming, NineSixHundredBaud) {
  // 11 bits / 9600 baud = 1145.83 µs per character.
  auto t = rtu_timing(9600);
  EXPECT_EQ(t.t1_5, nanoseconds(1718750));
  EXPECT_EQ(t.t3_5, nanoseconds(4010417));  // rounded up
}

TEST(RtuTiming, NineteenTwoHundredIsStillComputed) {
  auto t = rtu_timing(19200);
  EXPECT_EQ(t.t1_5, nanoseconds(859375));
  EXPECT_EQ(t.t3_5, nanoseconds(2005209));
}

TEST(RtuTiming, AboveNineteenTwoHundredIsFixed) {
  for (int baud : {19201, 38400, 115200}) {
    auto t = rtu_timing(baud);
    EXPECT_EQ(t.t1_5, microseconds(750));
    EXPECT_EQ(t.t3_5, microseconds(1750));
  }
}

TEST(RtuTiming, NonPositiveBaudGetsTheFixedValues) {
  EXPECT_EQ(rtu_timing(0).t3_5, microseconds(1750));
}

}  // namespace
}  // namespace pollux::modbus
