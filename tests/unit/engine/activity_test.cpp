// The engine's activity states (engine/activity.hpp; redundancy.md "Roles and activity").
#include "engine/activity.hpp"

#include <gtest/gtest.h>

namespace pollux::engine {
namespace {

using config::ChannelType;

TEST(Activity, ActiveOpensEveryChannelAndPolls) {
  ActivityState a;
  EXPECT_EQ(a.state(), Activity::active);
  EXPECT_TRUE(a.polls());
  EXPECT_FALSE(a.warm());
  EXPECT_TRUE(a.opens(ChannelType::serial));
  EXPECT_TRUE(a.opens(ChannelType::modem));
  EXPECT_TRUE(a.opens(ChannelType::tcp));
}

TEST(Activity, WarmStandbyKeepsOnlyTcpOpenAndColdNothing) {
  ActivityState a;
  a.stand_by(true);
  EXPECT_EQ(a.state(), Activity::warm_standby);
  EXPECT_FALSE(a.polls());
  EXPECT_TRUE(a.opens(ChannelType::tcp));
  EXPECT_FALSE(a.opens(ChannelType::serial));
  a.stand_by(false);
  EXPECT_EQ(a.state(), Activity::cold_standby);
  EXPECT_FALSE(a.opens(ChannelType::tcp));
}

TEST(Activity, DrainingPollsNothingAndKeepsTheStandbyKindItHeadsFor) {
  ActivityState a;
  a.stand_by(true);
  a.drain();
  EXPECT_EQ(a.state(), Activity::draining);
  EXPECT_FALSE(a.polls());
  EXPECT_TRUE(a.opens(ChannelType::tcp));  // a warm standby's TCP stays open through it
  EXPECT_FALSE(a.opens(ChannelType::serial));
  a.set_warm(false);  // a reload made it cold meanwhile
  EXPECT_EQ(a.state(), Activity::draining);
  a.drained();
  EXPECT_EQ(a.state(), Activity::cold_standby);
}

TEST(Activity, OnlyAStandbyDrainsAndAnActiveNodeIgnoresTheStandbyKind) {
  ActivityState a;
  a.drain();
  EXPECT_EQ(a.state(), Activity::active);
  a.set_warm(true);
  EXPECT_EQ(a.state(), Activity::active);
  EXPECT_FALSE(a.warm());
  a.drained();
  EXPECT_EQ(a.state(), Activity::active);
}

TEST(Activity, ActivateFromAnyStateAndNames) {
  for (int start = 0; start < 3; ++start) {
    ActivityState a;
    a.stand_by(start == 1);
    if (start == 2) a.drain();
    a.activate();
    EXPECT_EQ(a.state(), Activity::active);
  }
  EXPECT_EQ(to_string(Activity::warm_standby), "warm standby");
  EXPECT_EQ(to_string(Activity::draining), "draining");
}

}  // namespace
}  // namespace pollux::engine
