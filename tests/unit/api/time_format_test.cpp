#include "api/time_format.hpp"

#include <gtest/gtest.h>

namespace pollux::api {
namespace {

using runtime::WallTime;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(TimeFormat, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(WallTime{milliseconds{1'795'300'801'123}}), "2026-11-21T22:40:01.123Z");
}

TEST(TimeFormat, Epoch) {
  EXPECT_EQ(format_rfc3339(WallTime{}), "1970-01-01T00:00:00.000Z");
}

TEST(TimeFormat, PadsAndTruncatesSubMillisecond) {
  // 2024-02-29T03:04:05.007999Z: a leap day; the .999 us is truncated, never rounded up.
  const WallTime t{microseconds{1'709'175'845'007'999}};
  EXPECT_EQ(format_rfc3339(t), "2024-02-29T03:04:05.007Z");
}

TEST(TimeFormat, BeforeEpochIsFlooredNotTruncatedTowardZero) {
  EXPECT_EQ(format_rfc3339(WallTime{milliseconds{-1}}), "1969-12-31T23:59:59.999Z");
}

TEST(TimeFormat, ParseRoundTrip) {
  const WallTime t{milliseconds{1'795'300'801'123}};
  const auto parsed = parse_rfc3339("2026-11-21T22:40:01.123Z");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, t);
  EXPECT_EQ(parse_rfc3339(format_rfc3339(WallTime{})), WallTime{});
}

TEST(TimeFormat, ParseOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("2026-11-21T23:40:01.123+01:00"),
            WallTime{milliseconds{1'795'300'801'123}});
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:40:01Z"), WallTime{milliseconds{1'795'300'801'000}});
  EXPECT_EQ(parse_rfc3339("2026-11-21T22:40:01.5Z"), WallTime{milliseconds{1'795'300'801'500}});
}

TEST(TimeFormat, ParseRejectsMalformed) {
  for (const char* bad : {"", "2026-11-21", "2026-11-21T22:40:01", "2026-13-01T00:00:00Z",
                          "2026-02-30T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T22:40:01.Z",
                          "2026-11-21T22:40:01.123Zjunk", "2026/11/21T22:40:01Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace pollux::api
