#include "transport/backoff.hpp"

#include <gtest/gtest.h>

#include "modbus/error.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {
namespace {

using runtime::milliseconds;

TEST(Backoff, GrowsExponentiallyWithinFloorAndCap) {
  Backoff b(milliseconds(200), milliseconds(10000), 0.2);
  // Midpoint draw (0.5) is the nominal delay: 200, 400, 800, ... capped at 10 s.
  EXPECT_EQ(b.next(0.5), milliseconds(200));
  EXPECT_EQ(b.next(0.5), milliseconds(400));
  EXPECT_EQ(b.next(0.5), milliseconds(800));
  for (int i = 0; i < 40; ++i)
    EXPECT_LE(b.next(0.999), milliseconds(10000));
  EXPECT_EQ(b.next(0.5), milliseconds(10000));
  b.reset();
  EXPECT_EQ(b.next(0.5), milliseconds(200));
}

TEST(Backoff, JitterNeverGoesBelowFloorNorAboveCap) {
  Jitter j(42);
  for (int round = 0; round < 20; ++round) {
    Backoff b(milliseconds(100), milliseconds(3000), 0.5);
    runtime::Duration prev{};
    for (int i = 0; i < 12; ++i) {
      const auto d = b.next(j.next());
      EXPECT_GE(d, milliseconds(100));  // never a tight loop
      EXPECT_LE(d, milliseconds(3000));
      prev = d;
    }
    EXPECT_GE(prev, milliseconds(1500));  // late retries are near the cap
  }
}

TEST(Backoff, JitterDrawsAreInUnitInterval) {
  Jitter j(7);
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    const double x = j.next();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_LT(lo, 0.01);
  EXPECT_GT(hi, 0.99);
}

TEST(TransportErrors, UnreachableCountsAsTimeout) {
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::channel_down)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::dial_failed)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::connect_timeout)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(Errc::connect_failed)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(modbus::Errc::timeout)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(modbus::Errc::crc_error)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(modbus::Errc::connection_reset)));
}

}  // namespace
}  // namespace pollux::transport
