// The one backoff (runtime/backoff.hpp): the links' spread jitter and the peer link's shortening
// jitter, each pinned to the delays it gave before the two were one class.
#include "runtime/backoff.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace pollux::runtime {
namespace {

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

// The peer link's shape: the nominal delay (floor doubled up to the cap) shortened by up to
// the jitter fraction of itself, never below the floor (base - base x draw x jitter, as the
// peer link's own class computed it).
TEST(Backoff, ShortenKeepsTheCappedNominalAndOnlyShortensIt) {
  Backoff b(milliseconds(100), milliseconds(3000), 0.25, JitterKind::shorten);
  EXPECT_EQ(b.next(0.0), milliseconds(100));
  EXPECT_EQ(b.next(0.5), milliseconds(175));   // 200 - 200 x 0.125
  EXPECT_EQ(b.next(0.75), milliseconds(325));  // 400 - 400 x 0.1875
  EXPECT_EQ(b.next(0.0), milliseconds(800));
  EXPECT_EQ(b.next(0.0), milliseconds(1600));
  EXPECT_EQ(b.next(0.0), milliseconds(3000));  // capped before the jitter
  EXPECT_EQ(b.next(0.5), milliseconds(2625));
  EXPECT_EQ(b.failures(), 7);
  b.reset();
  EXPECT_EQ(b.next(0.99), milliseconds(100));  // never below the floor
}

// The links' shape: around the uncapped nominal, then clamped, so a draw below the midpoint
// still gives the cap while the nominal is well past it.
TEST(Backoff, SpreadJittersTheUncappedNominalThenClamps) {
  Backoff b(milliseconds(1000), milliseconds(5000), 0.25);
  EXPECT_EQ(b.next(0.0), milliseconds(1000));   // 750 held at the floor
  EXPECT_EQ(b.next(1.0), milliseconds(2500));   // 2000 x 1.25
  EXPECT_EQ(b.next(0.25), milliseconds(3500));  // 4000 x 0.875
  EXPECT_EQ(b.next(0.0), milliseconds(5000));   // 8000 x 0.75 = 6000, clamped
}

}  // namespace
}  // namespace pollux::runtime
