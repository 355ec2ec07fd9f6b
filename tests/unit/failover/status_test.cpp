#include "failover/status.hpp"

#include <gtest/gtest.h>

#include "runtime/manual_executor.hpp"

namespace pollux::failover {
namespace {

Settings two_lines() {
  Settings s;
  s.lines[0] = {true, true, "COM1", runtime::seconds(0), std::nullopt, std::nullopt};
  s.lines[1] = {true, true, "NET1", runtime::seconds(0), std::nullopt, runtime::seconds(60)};
  return s;
}

TEST(FailoverStatus, PointNames) {
  EXPECT_EQ(kStatusPointNames[0], "SYDEVCOMID");
  EXPECT_EQ(kStatusPointNames[1], "SYDEVCOMLN");
  EXPECT_EQ(kStatusPointNames[2], "SYDEVPCOM");
  EXPECT_EQ(kStatusPointNames[3], "SYDEVPRFO");
  EXPECT_EQ(kStatusPointNames[4], "SYDEVSCOM");
  EXPECT_EQ(kStatusPointNames[5], "SYDEVTCOM");
}

// Every transition of a failover/failback round trip, checked against the six values.
TEST(FailoverStatus, FollowsEachTransition) {
  runtime::ManualExecutor ex;
  const Settings s = two_lines();
  State st = initial_state(s, ex.now());
  EXPECT_EQ(status_values(s, st), (StatusValues{"COM1", 1, "COM1", 0, "NET1", ""}));

  ASSERT_TRUE(on_message_failed(s, st, kAllUsable, 1, ex.now()));
  EXPECT_EQ(status_values(s, st), (StatusValues{"NET1", 2, "COM1", 1, "NET1", ""}));

  ex.advance(runtime::seconds(1));
  on_success(st, 2, ex.now());
  EXPECT_EQ(status_values(s, st), (StatusValues{"NET1", 2, "COM1", 1, "NET1", ""}));

  ex.advance(runtime::seconds(59));
  ASSERT_TRUE(before_cycle(s, st, kAllUsable, ex.now()));
  EXPECT_EQ(status_values(s, st), (StatusValues{"COM1", 1, "COM1", 1, "NET1", ""}));

  on_success(st, 1, ex.now());
  EXPECT_EQ(status_values(s, st), (StatusValues{"COM1", 1, "COM1", 0, "NET1", ""}));

  ASSERT_TRUE(select_line(s, st, kAllUsable, 2, ex.now()).change);
  EXPECT_EQ(status_values(s, st), (StatusValues{"NET1", 2, "COM1", 0, "NET1", ""}));
}

}  // namespace
}  // namespace pollux::failover
