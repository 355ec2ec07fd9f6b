#include "failover/ages.hpp"

#include <gtest/gtest.h>

#include "runtime/manual_executor.hpp"

namespace pollux::failover {
namespace {

using runtime::seconds;

Settings three_lines() {
  Settings s;
  s.lines[0] = {true, true, "COM1", seconds(30), seconds(10), std::nullopt};
  s.lines[1] = {true, true, "NET1", seconds(30), seconds(10), seconds(300)};
  s.lines[2] = {true, true, "MODEM1", seconds(30), std::nullopt, seconds(600)};
  return s;
}

TEST(FailoverAges, ExportIsRelativeToNow) {
  runtime::ManualExecutor ex;
  const auto t0 = ex.now();
  const Settings s = three_lines();
  State st = initial_state(s, t0);
  ex.advance(seconds(30));
  ASSERT_TRUE(on_message_failed(s, st, kAllUsable, 1, ex.now()));
  ex.advance(seconds(100));
  const StateAges a = export_ages(st, ex.now());
  EXPECT_EQ(a.active_line, 2);
  EXPECT_EQ(a.last_good_line, 0);
  EXPECT_TRUE(a.primary_failed_over);
  EXPECT_EQ(a.since_last_success, seconds(130));
  EXPECT_EQ(a.since_failed_over, seconds(100));
  EXPECT_FALSE(a.since_restored.has_value());
}

// A Retry primary timer carried to a peer with a different monotonic epoch continues there:
// 100 s spent on the exporter leave 200 s on the importer, not a fresh 300 s.
TEST(FailoverAges, RetryPrimaryContinuesOnPeer) {
  runtime::ManualExecutor a;
  const Settings s = three_lines();
  State st = initial_state(s, a.now());
  a.advance(seconds(30));
  ASSERT_TRUE(on_message_failed(s, st, kAllUsable, 1, a.now()));
  a.advance(seconds(100));
  const StateAges ages = export_ages(st, a.now());

  const runtime::TimePoint peer_now = a.now() + std::chrono::hours(1234);  // unrelated clock
  State peer = import_ages(s, ages, peer_now);
  EXPECT_EQ(peer.active_line, 2);
  EXPECT_TRUE(peer.primary_failed_over);
  EXPECT_EQ(peer_now - peer.last_success_at, seconds(130));
  EXPECT_FALSE(before_cycle(s, peer, kAllUsable, peer_now + seconds(199)));
  const auto back = before_cycle(s, peer, kAllUsable, peer_now + seconds(200));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, (LineChange{2, 1, Reason::retry_primary}));
  // And back again: the restore time and subsequent_active round-trip too.
  const StateAges again = export_ages(peer, peer_now + seconds(205));
  EXPECT_EQ(again.since_restored, seconds(5));
  EXPECT_TRUE(again.subsequent_active);
  const State home = import_ages(s, again, a.now());
  EXPECT_EQ(home.restored_at, a.now() - seconds(5));
  EXPECT_FALSE(home.failed_over_at.has_value());
  EXPECT_EQ(export_ages(home, a.now()), again);
}

TEST(FailoverAges, ImportRepairsWhatLocalSettingsCannotHold) {
  runtime::ManualExecutor ex;
  Settings s = three_lines();
  s.lines[2].available = false;
  StateAges ages;
  ages.active_line = 3;
  ages.last_good_line = 7;
  ages.since_failed_over = seconds(10);
  ages.since_last_success = seconds(-5);  // never exported so; clamped
  const State st = import_ages(s, ages, ex.now());
  EXPECT_EQ(st.active_line, 1);
  EXPECT_FALSE(st.failed_over_at.has_value());
  EXPECT_EQ(st.last_good_line, 0);
  EXPECT_EQ(st.last_success_at, ex.now());

  ages.active_line = 2;
  ages.since_failed_over.reset();
  const State on2 = import_ages(s, ages, ex.now());
  EXPECT_EQ(on2.active_line, 2);
  EXPECT_EQ(on2.failed_over_at, ex.now());
}

}  // namespace
}  // namespace pollux::failover
