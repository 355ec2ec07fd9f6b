#include "redundancy/backoff.hpp"

#include <gtest/gtest.h>

namespace pollux::redundancy {
namespace {

using runtime::milliseconds;

TEST(ReconnectBackoff, DoublesFromFloorToCapWithJitterNeverBelowFloor) {
  ReconnectBackoff b(milliseconds(100), milliseconds(3000), 0.3, 42);
  const int bases[] = {100, 200, 400, 800, 1600, 3000, 3000, 3000};
  for (int base : bases) {
    const auto d = b.next();
    EXPECT_LE(d, milliseconds(base));
    EXPECT_GE(d, std::max(milliseconds(100), milliseconds(base * 7 / 10)));
  }
  b.reset();
  EXPECT_LE(b.next(), milliseconds(100));
}

TEST(ReconnectBackoff, JitterSpreadsTwoClients) {
  ReconnectBackoff a(milliseconds(100), milliseconds(3000), 0.3, 1);
  ReconnectBackoff b(milliseconds(100), milliseconds(3000), 0.3, 2);
  int differ = 0;
  for (int i = 0; i < 8; ++i)
    differ += a.next() != b.next();
  EXPECT_GE(differ, 5);
}

TEST(ReconnectBackoff, ManyAttemptsDoNotOverflow) {
  ReconnectBackoff b(milliseconds(10), milliseconds(500), 0.0, 3);
  for (int i = 0; i < 1000; ++i)
    b.next();
  EXPECT_EQ(b.next(), milliseconds(500));
}

}  // namespace
}  // namespace pollux::redundancy
