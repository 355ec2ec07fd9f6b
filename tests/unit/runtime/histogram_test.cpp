// The one histogram (runtime/histogram.hpp): which bucket a value lands in, the running sum and
// count, and the compile-time check of the bounds.
#include "runtime/histogram.hpp"

#include <gtest/gtest.h>

namespace pollux::runtime {
namespace {

inline constexpr std::array<double, 3> kBounds{1, 10, 100};

TEST(Histogram, AValueOnABoundCountsInThatBucketAndAboveAllInTheLast) {
  Histogram<kBounds> h;
  for (double ms : {0.0, 1.0, 1.5, 10.0, 99.0, 100.0, 100.5, 5000.0})
    h.observe(ms);
  EXPECT_EQ(h.buckets, (std::array<std::uint64_t, 4>{2, 2, 2, 2}));
  EXPECT_EQ(h.count, 8u);
  EXPECT_DOUBLE_EQ(h.sum_ms, 5312.0);
  EXPECT_EQ(&h.kBoundsMs, &kBounds) << "the bounds are shared, not stored per histogram";
  EXPECT_EQ(sizeof h, sizeof(std::uint64_t) * 5 + sizeof(double));
}

TEST(Histogram, BoundsMustIncreaseStrictly) {
  EXPECT_TRUE(strictly_increasing(kBounds));
  EXPECT_TRUE(strictly_increasing(std::array<double, 1>{5}));
  EXPECT_FALSE(strictly_increasing(std::array<double, 2>{1, 1}));
  EXPECT_FALSE(strictly_increasing(std::array<double, 2>{2, 1}));
  EXPECT_FALSE(strictly_increasing(std::array<double, 3>{1, 3, 2}));
}

}  // namespace
}  // namespace pollux::runtime
