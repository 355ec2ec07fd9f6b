#include "redundancy/backoff.hpp"

#include <gtest/gtest.h>

namespace pollux::redundancy {
namespace {

using runtime::milliseconds;

TEST(ReconnectBackoff, DoublesFromFloorToCapWithJitterNeverBelowFloor) {
  ReconnectBackoff b(milliseconds(100), milliseconds(3000), 0.3, 42);
  const int bases[] = {100, 200, 400, 800, 1600, 3000, 3000, 3000};
  for (int base : bases) {
    const auto d = b.next(RetryCause::auth_failed);
    EXPECT_LE(d, milliseconds(base));
    EXPECT_GE(d, std::max(milliseconds(100), milliseconds(base * 7 / 10)));
  }
  b.reset();
  EXPECT_LE(b.next(RetryCause::auth_failed), milliseconds(100));
}

TEST(ReconnectBackoff, JitterSpreadsTwoClients) {
  ReconnectBackoff a(milliseconds(100), milliseconds(3000), 0.3, 1);
  ReconnectBackoff b(milliseconds(100), milliseconds(3000), 0.3, 2);
  int differ = 0;
  for (int i = 0; i < 8; ++i)
    differ += a.next(RetryCause::auth_failed) != b.next(RetryCause::auth_failed);
  EXPECT_GE(differ, 5);
}

TEST(ReconnectBackoff, ManyAttemptsDoNotOverflow) {
  ReconnectBackoff b(milliseconds(10), milliseconds(500), 0.0, 3);
  for (int i = 0; i < 1000; ++i)
    b.next(RetryCause::auth_failed);
  EXPECT_EQ(b.next(RetryCause::auth_failed), milliseconds(500));
}

// redundancy.md transition 5: a restarting master must hear of an active backup before its
// startup allowance runs out, so the backup reaches a lost master at least every heartbeat
// interval, however long it has been gone. Settings of the restart scenario: heartbeat 200 ms,
// failover timeout 1500 ms, startup allowance 1000 ms.
config::RedundancySettings restart_settings() {
  config::RedundancySettings s;
  s.heartbeat_interval_ms = 200;
  s.failover_timeout_ms = 1500;
  s.startup_allowance_ms = 1000;
  return s;
}

TEST(ReconnectBackoff, LostMasterIsTriedAtLeastEveryHeartbeatInterval) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto b = backup_reconnect_backoff(restart_settings(), {}, {}, 0.3, seed);
    for (int i = 0; i < 100; ++i)
      ASSERT_LE(b.next(RetryCause::master_unreachable), milliseconds(200))
          << "seed " << seed << " attempt " << i;
  }
}

TEST(ReconnectBackoff, OnlyAuthenticationFailuresBackOffToTheCap) {
  auto b = backup_reconnect_backoff(restart_settings(), {}, {}, 0.3, 5);
  runtime::Duration longest{};
  for (int i = 0; i < 10; ++i)
    longest = std::max(longest, b.next(RetryCause::auth_failed));
  // A live master with the wrong key is not hammered: up to failover_timeout_ms.
  EXPECT_GE(longest, milliseconds(1050));
  EXPECT_LE(longest, milliseconds(1500));
  // ...but once it stops answering, it is lost: back within a heartbeat interval at once.
  EXPECT_LE(b.next(RetryCause::master_unreachable), milliseconds(200));
  EXPECT_GE(b.next(RetryCause::auth_failed), milliseconds(1050));
}

TEST(ReconnectBackoff, OverridesNeverLiftTheLostMasterBound) {
  auto b =
      backup_reconnect_backoff(restart_settings(), milliseconds(1000), milliseconds(5000), 0.3, 9);
  for (int i = 0; i < 20; ++i)
    EXPECT_LE(b.next(RetryCause::master_unreachable), milliseconds(200)) << i;
  b.reset();
  EXPECT_GE(b.next(RetryCause::auth_failed), milliseconds(1000));
}

}  // namespace
}  // namespace pollux::redundancy
