#include "redundancy/sync.hpp"

#include <gtest/gtest.h>

namespace pollux::redundancy {
namespace {

using V = StateReceiver::Verdict;

TEST(PeerStateReceiver, FirstContactNeedsAFullTransfer) {
  StateReceiver r;
  EXPECT_FALSE(r.applied());
  EXPECT_EQ(r.on_delta(5), V::request_full);
  EXPECT_EQ(r.on_delta(6), V::ignore);  // asked once, not per delta
  EXPECT_EQ(r.on_full(6), V::apply);
  EXPECT_EQ(r.applied(), 6u);
  EXPECT_EQ(r.on_delta(7), V::apply);
  EXPECT_EQ(r.on_delta(8), V::apply);
  EXPECT_EQ(r.applied(), 8u);
}

TEST(PeerStateReceiver, GapAsksForFullAndStaleIsIgnored) {
  StateReceiver r;
  r.on_full(10);
  EXPECT_EQ(r.on_delta(10), V::ignore);  // duplicate
  EXPECT_EQ(r.on_delta(3), V::ignore);   // stale
  EXPECT_EQ(r.on_delta(12), V::request_full);
  EXPECT_TRUE(r.awaiting_full());
  EXPECT_EQ(r.on_delta(13), V::ignore);
  EXPECT_EQ(r.applied(), 10u);  // nothing applied past the gap
  EXPECT_EQ(r.on_full(13), V::apply);
  EXPECT_EQ(r.on_delta(14), V::apply);
}

TEST(PeerStateReceiver, ReconnectKeepsAppliedSeqButRequiresFull) {
  StateReceiver r;
  r.on_full(4);
  r.on_delta(5);
  r.reset();
  EXPECT_EQ(r.applied(), 5u);  // still what the API shows
  EXPECT_EQ(r.on_delta(6), V::request_full);
}

}  // namespace
}  // namespace pollux::redundancy
