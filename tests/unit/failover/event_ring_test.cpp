#include "failover/event_ring.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "runtime/manual_executor.hpp"

namespace pollux::failover {
namespace {

std::vector<std::uint64_t> seqs(const std::vector<Event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events)
    out.push_back(e.seq);
  return out;
}

TEST(EventRing, SeqStartsAtOneAndKeepsFields) {
  runtime::ManualExecutor ex;
  EventRing ring;
  EXPECT_EQ(ring.capacity(), 1000u);
  EXPECT_EQ(ring.last_seq(), 0u);
  EXPECT_TRUE(ring.since(0).empty());
  const Event& e = ring.push(ex.wall_now(), "WELL_01", {1, 2, Reason::initial_fail});
  EXPECT_EQ(e, (Event{1, ex.wall_now(), "WELL_01", 1, 2, Reason::initial_fail}));
  ex.advance(runtime::seconds(5));
  ring.push(ex.wall_now(), "WELL_02", {2, 1, Reason::retry_primary});
  const auto all = ring.since(0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1], (Event{2, ex.wall_now(), "WELL_02", 2, 1, Reason::retry_primary}));
  EXPECT_EQ(all[1].time - all[0].time, runtime::seconds(5));
}

TEST(EventRing, SinceReturnsNewerOldestFirst) {
  EventRing ring(10);
  for (int i = 0; i < 5; ++i)
    ring.push({}, "D", {1, 2, Reason::manual});
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(seqs(ring.since(3)), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_TRUE(ring.since(5).empty());
  EXPECT_TRUE(ring.since(99).empty());
}

TEST(EventRing, BoundedDropsOldest) {
  EventRing ring(3);
  for (int i = 0; i < 7; ++i)
    ring.push({}, "D" + std::to_string(i + 1), {1, 2, Reason::reload});
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.last_seq(), 7u);
  const auto all = ring.since(0);
  EXPECT_EQ(seqs(all), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(all[0].device, "D5");
  EXPECT_EQ(all[2].device, "D7");
  // A client that last saw 2 gets what is still kept, not a duplicate or a gap filler.
  EXPECT_EQ(seqs(ring.since(2)), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(seqs(ring.since(5)), (std::vector<std::uint64_t>{6, 7}));
  // Wrapping many times keeps order.
  for (int i = 0; i < 1001; ++i)
    ring.push({}, "X", {2, 3, Reason::channel_unusable});
  EXPECT_EQ(seqs(ring.since(1005)), (std::vector<std::uint64_t>{1006, 1007, 1008}));
}

TEST(EventRing, DefaultCapacityHoldsThousand) {
  EventRing ring;
  for (int i = 0; i < 1500; ++i)
    ring.push({}, "D", {1, 2, Reason::manual});
  EXPECT_EQ(ring.size(), 1000u);
  const auto all = ring.since(0);
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.front().seq, 501u);
  EXPECT_EQ(all.back().seq, 1500u);
}

TEST(EventRing, ZeroCapacityKeepsNewest) {
  EventRing ring(0);
  ring.push({}, "A", {1, 2, Reason::manual});
  ring.push({}, "B", {2, 1, Reason::manual});
  const auto all = ring.since(0);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].device, "B");
  EXPECT_EQ(all[0].seq, 2u);
}

// A standby mirrors the active node's events with their numbers, including gaps where it
// missed some; since() still answers by seq, and local pushes continue after the last one.
TEST(EventRing, AppendMirrorsPeerNumbering) {
  EventRing ring(4);
  EXPECT_TRUE(ring.append(Event{3, {}, "A", 1, 2, Reason::initial_fail}));
  EXPECT_TRUE(ring.append(Event{4, {}, "B", 2, 1, Reason::retry_primary}));
  EXPECT_TRUE(ring.append(Event{9, {}, "C", 1, 3, Reason::manual}));
  EXPECT_FALSE(ring.append(Event{9, {}, "dup", 1, 3, Reason::manual}));
  EXPECT_FALSE(ring.append(Event{2, {}, "old", 1, 3, Reason::manual}));
  EXPECT_EQ(ring.last_seq(), 9u);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{3, 4, 9}));
  EXPECT_EQ(seqs(ring.since(4)), (std::vector<std::uint64_t>{9}));
  EXPECT_EQ(seqs(ring.since(5)), (std::vector<std::uint64_t>{9}));
  EXPECT_EQ(ring.push({}, "D", {3, 1, Reason::reload}).seq, 10u);
  EXPECT_EQ(ring.push({}, "E", {1, 2, Reason::reload}).seq, 11u);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{4, 9, 10, 11}));
  EXPECT_EQ(seqs(ring.since(8)), (std::vector<std::uint64_t>{9, 10, 11}));
  EXPECT_EQ(ring.since(0).front().device, "B");
}

}  // namespace
}  // namespace pollux::failover
