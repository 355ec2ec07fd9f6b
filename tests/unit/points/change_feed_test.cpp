// The point change feed (src/points/change_feed.hpp): order, values, removals, subscribers at
// their own pace, loss and resync, wake-up coalescing, and allocation-free publishing.
#include "points/change_feed.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "runtime/manual_executor.hpp"

#include "testlib/counting_new.hpp"  // this program counts its allocations

namespace pollux::points {
namespace {

const runtime::WallTime t0{std::chrono::seconds(1000)};
const runtime::WallTime t1{std::chrono::seconds(1001)};
const runtime::WallTime t2{std::chrono::seconds(1002)};

// What a test keeps of a Change (a Change is valid only inside the read callback).
struct Seen {
  ChangeKind kind;
  PointId point;
  std::uint64_t seq;
  std::string value;  // points::to_string
  PointQuality quality;
  runtime::WallTime time;
  std::string error;
};

Seen keep(const Change& c) {
  return {c.kind, c.point, c.seq, to_string(c.value), c.quality, c.time, c.error};
}

// A subscriber that records what it reads, `per_wake` changes per wake (0: none).
struct Reader {
  Reader(ChangeFeed& feed, std::size_t per_wake) : feed(feed), per_wake(per_wake) {
    sub = feed.subscribe([this] {
      ++wakes;
      read(this->per_wake);
    });
  }
  ReadResult read(std::size_t max) {
    auto r = feed.read(sub, max, [this](const Change& c) { seen.push_back(keep(c)); });
    if (r.lost) ++losses;
    return r;
  }

  ChangeFeed& feed;
  std::size_t per_wake;
  Subscription sub;
  std::vector<Seen> seen;
  int wakes = 0;
  int losses = 0;
};

struct Fixture : ::testing::Test {
  void SetUp() override { store.attach_feed(&feed); }

  runtime::ManualExecutor ex;
  ChangeFeed feed{ex, 16};
  PointStore store;
};

using ChangeFeedTest = Fixture;

TEST_F(ChangeFeedTest, ChangesComeOutInStoreOrderWithTheirState) {
  const PointId a = store.add("WELL_01", "PRESSURE");
  const PointId b = store.add("WELL_01", "PUMP_RUN");
  Reader r(feed, 100);
  store.set_good(a, 12.5, t0);
  store.set_good(b, true, t0);
  store.set_good(a, 12.5, t1);  // same value: no change, no record
  store.set_bad(a, "timeout", t1);
  store.set_good(a, 13.0, t2);
  EXPECT_EQ(r.wakes, 0);  // never inline from the store write
  ex.run_pending();
  ASSERT_EQ(r.seen.size(), 4u);
  EXPECT_EQ(r.seen[0].point, a);
  EXPECT_EQ(r.seen[0].value, "12.5");
  EXPECT_EQ(r.seen[0].quality, PointQuality::good);
  EXPECT_EQ(r.seen[0].time, t0);
  EXPECT_EQ(r.seen[1].point, b);
  EXPECT_EQ(r.seen[1].value, "true");
  EXPECT_EQ(r.seen[2].point, a);
  EXPECT_EQ(r.seen[2].quality, PointQuality::bad);
  EXPECT_EQ(r.seen[2].value, "12.5");  // a bad point keeps its last value
  EXPECT_EQ(r.seen[2].error, "timeout");
  EXPECT_EQ(r.seen[2].time, t1);
  EXPECT_EQ(r.seen[3].value, "13");
  EXPECT_EQ(r.seen[3].quality, PointQuality::good);
  EXPECT_EQ(r.seen[3].error, "");
  for (std::size_t i = 0; i < r.seen.size(); ++i) {
    EXPECT_EQ(r.seen[i].kind, ChangeKind::update);
    if (i > 0) {
      EXPECT_GT(r.seen[i].seq, r.seen[i - 1].seq);
    }
  }
  // The last record's sequence is the store's: "what changed since N" agrees with the feed.
  EXPECT_EQ(r.seen.back().seq, store.seq());
  EXPECT_EQ(store.get(r.seen[0].point).device, "WELL_01");
  EXPECT_EQ(store.get(r.seen[0].point).name, "PRESSURE");
}

TEST_F(ChangeFeedTest, StringValuesSurviveSlotReuseAcrossTypes) {
  const PointId s = store.add("D", "NAME");
  const PointId n = store.add("D", "COUNT");
  Reader r(feed, 1000);
  // More than a ring's worth, so every slot is reused with a string after a number and back.
  const std::string long_text(100, 'x');
  for (int i = 0; i < 40; ++i) {
    store.set_good(s, std::string_view(i % 2 ? long_text : "short " + std::to_string(i)), t0);
    store.set_good(n, std::int64_t{i}, t0);
    ex.run_pending();
  }
  ASSERT_EQ(r.seen.size(), 80u);
  EXPECT_EQ(r.losses, 0);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(r.seen[2 * i].value, i % 2 ? long_text : "short " + std::to_string(i));
    EXPECT_EQ(r.seen[2 * i + 1].value, std::to_string(i));
  }
}

TEST_F(ChangeFeedTest, RemovingADeviceSendsARemovalPerPoint) {
  const PointId a = store.add("OLD", "A");
  const PointId b = store.add("OLD", "B");
  const PointId keep_id = store.add("KEPT", "A");
  store.set_good(a, std::int64_t{1}, t0);
  Reader r(feed, 100);
  const auto seq_before = store.seq();
  store.remove_device("OLD");
  ex.run_pending();
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[0].kind, ChangeKind::removed);
  EXPECT_EQ(r.seen[0].point, a);
  EXPECT_EQ(r.seen[0].value, "1");
  EXPECT_EQ(r.seen[1].kind, ChangeKind::removed);
  EXPECT_EQ(r.seen[1].point, b);
  // A removal does not move the store's sequence (metrics and sync read it).
  EXPECT_EQ(store.seq(), seq_before);
  EXPECT_EQ(r.seen[1].seq, seq_before);
  // The id still names the point, so a consumer knows what to stop tracking.
  EXPECT_EQ(store.get(r.seen[1].point).device, "OLD");
  EXPECT_EQ(store.get(r.seen[1].point).name, "B");
  // The same device added again gets new ids; its changes are updates again.
  const PointId again = store.add("OLD", "A");
  EXPECT_NE(again, a);
  store.set_good(again, std::int64_t{2}, t1);
  store.set_good(keep_id, std::int64_t{3}, t1);
  ex.run_pending();
  ASSERT_EQ(r.seen.size(), 4u);
  EXPECT_EQ(r.seen[2].kind, ChangeKind::update);
  EXPECT_EQ(r.seen[2].point, again);
  EXPECT_EQ(r.seen[3].point, keep_id);
}

TEST_F(ChangeFeedTest, TwoSubscribersReadAtTheirOwnPace) {
  const PointId p = store.add("D", "P");
  Reader fast(feed, 100);
  Reader slow(feed, 3);
  for (int i = 0; i < 10; ++i)
    store.set_good(p, std::int64_t{i}, t0);
  ex.run_pending();
  EXPECT_EQ(fast.seen.size(), 10u);
  EXPECT_EQ(slow.seen.size(), 3u);
  EXPECT_EQ(feed.backlog(slow.sub), 7u);
  // The slow one is not woken again until it has caught up; it reads when it is ready.
  store.set_good(p, std::int64_t{10}, t0);
  ex.run_pending();
  EXPECT_EQ(fast.wakes, 2);
  EXPECT_EQ(slow.wakes, 1);
  while (slow.read(3).count > 0) {
  }
  ASSERT_EQ(slow.seen.size(), 11u);
  ASSERT_EQ(fast.seen.size(), 11u);
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(slow.seen[i].value, std::to_string(i));
    EXPECT_EQ(fast.seen[i].value, std::to_string(i));
  }
  // Caught up: woken again by the next change.
  store.set_good(p, std::int64_t{11}, t0);
  ex.run_pending();
  EXPECT_EQ(slow.wakes, 2);
}

TEST_F(ChangeFeedTest, AStalledSubscriberLosesChangesAndResyncsWhileTheOtherDoesNot) {
  std::vector<PointId> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(store.add("D", "P" + std::to_string(i)));
  Reader live(feed, 1000);
  Reader stalled(feed, 0);  // woken, reads nothing
  // Four ring laps; the publisher goes on regardless of the stalled reader.
  const std::size_t total = 4 * feed.capacity();
  for (std::size_t i = 0; i < total; ++i) {
    store.set_good(ids[i % ids.size()], static_cast<std::int64_t>(i), t0);
    if (i % 7 == 0) ex.run_pending();
  }
  ex.run_pending();
  EXPECT_EQ(feed.head(), total);
  ASSERT_EQ(live.seen.size(), total);
  EXPECT_EQ(live.losses, 0);
  for (std::size_t i = 0; i < total; ++i)
    EXPECT_EQ(live.seen[i].value, std::to_string(i));
  EXPECT_GT(feed.backlog(stalled.sub), feed.capacity());

  const ReadResult r = stalled.read(1000);
  EXPECT_TRUE(r.lost);
  EXPECT_EQ(r.count, 0u);
  EXPECT_EQ(feed.backlog(stalled.sub), 0u);  // the cursor jumped to the head
  // The resync: every live point's current state.
  std::vector<Seen> now;
  feed.for_each_current(store, [&](const Change& c) { now.push_back(keep(c)); });
  ASSERT_EQ(now.size(), ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ(now[k].point, ids[k]);
    EXPECT_EQ(now[k].kind, ChangeKind::update);
    EXPECT_EQ(now[k].seq, store.get(ids[k]).seq);
    EXPECT_EQ(now[k].value, to_string(store.get(ids[k]).value));
  }
  // From there on it reads like anyone else, and is woken again.
  store.set_good(ids[0], std::int64_t{-1}, t1);
  stalled.per_wake = 10;
  ex.run_pending();
  ASSERT_EQ(stalled.seen.size(), 1u);
  EXPECT_EQ(stalled.seen[0].value, "-1");
  EXPECT_EQ(live.seen.back().value, "-1");
}

TEST_F(ChangeFeedTest, APullOnlySubscriberIsNeverWokenAndReadsOnItsOwnSchedule) {
  const PointId p = store.add("D", "P");
  const Subscription sub = feed.subscribe();  // the sync journal: reads on its own timer
  for (int i = 0; i < 5; ++i)
    store.set_good(p, std::int64_t{i}, t0);
  EXPECT_EQ(ex.run_pending(), 0u);
  std::vector<std::int64_t> values;
  const auto r = feed.read(
      sub, 100, [&](const Change& c) { values.push_back(std::get<std::int64_t>(c.value)); });
  EXPECT_EQ(r.count, 5u);
  EXPECT_EQ(values, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  store.set_good(p, std::int64_t{9}, t0);
  EXPECT_EQ(ex.run_pending(), 0u);
}

TEST_F(ChangeFeedTest, AThousandChangesWakeASubscriberOnce) {
  const PointId p = store.add("D", "P");
  ChangeFeed big(ex, 4096);
  store.attach_feed(&big);
  int wakes = 0;
  std::size_t read = 0;
  Subscription sub;
  sub = big.subscribe([&] {
    ++wakes;
    read += big.read(sub, 100000, [](const Change&) {}).count;
  });
  for (int i = 0; i < 1000; ++i)
    store.set_good(p, std::int64_t{i}, t0);
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(ex.run_pending(), 1u);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(read, 1000u);
  // Nothing new: no wake.
  EXPECT_EQ(ex.run_pending(), 0u);
  // Read everything before the posted wake ran: the wake finds nothing and stays quiet.
  store.set_good(p, std::int64_t{-1}, t0);
  big.read(sub, 10, [](const Change&) {});
  EXPECT_EQ(ex.run_pending(), 1u);
  EXPECT_EQ(wakes, 1);
  // At most one wake pending even when the subscriber caught up and changes came again.
  store.set_good(p, std::int64_t{-2}, t0);
  big.read(sub, 10, [](const Change&) {});
  store.set_good(p, std::int64_t{-3}, t0);
  EXPECT_EQ(ex.run_pending(), 1u);
  EXPECT_EQ(wakes, 2);
}

TEST_F(ChangeFeedTest, UnsubscribedReadersGetNothingAndAreNotWoken) {
  const PointId p = store.add("D", "P");
  Reader a(feed, 100);
  Reader b(feed, 100);
  EXPECT_EQ(feed.subscribers(), 2u);
  store.set_good(p, std::int64_t{1}, t0);  // wakes posted for both
  feed.unsubscribe(a.sub);
  EXPECT_EQ(feed.subscribers(), 1u);
  ex.run_pending();
  EXPECT_EQ(a.wakes, 0);
  EXPECT_EQ(b.seen.size(), 1u);
  store.set_good(p, std::int64_t{2}, t0);
  ex.run_pending();
  EXPECT_EQ(a.wakes, 0);
  EXPECT_EQ(a.read(100).count, 0u);
  EXPECT_EQ(b.seen.size(), 2u);
  // A new subscriber may take the freed place; the old handle stays dead.
  Reader c(feed, 100);
  EXPECT_NE(c.sub, a.sub);
  store.set_good(p, std::int64_t{3}, t0);
  ex.run_pending();
  EXPECT_EQ(a.read(100).count, 0u);
  EXPECT_EQ(c.seen.size(), 1u);
  feed.unsubscribe(a.sub);  // twice: ignored
  EXPECT_EQ(feed.subscribers(), 2u);
  // A subscriber may leave from its own wake.
  Subscription self;
  int self_wakes = 0;
  self = feed.subscribe([&] {
    ++self_wakes;
    feed.unsubscribe(self);
  });
  store.set_good(p, std::int64_t{4}, t0);
  ex.run_pending();
  store.set_good(p, std::int64_t{5}, t0);
  ex.run_pending();
  EXPECT_EQ(self_wakes, 1);
  EXPECT_EQ(feed.subscribers(), 2u);
}

TEST_F(ChangeFeedTest, AWakeLeftPendingByADestroyedFeedDoesNothing) {
  const PointId p = store.add("D", "P");
  int wakes = 0;
  {
    ChangeFeed gone(ex, 8);
    store.attach_feed(&gone);
    gone.subscribe([&] { ++wakes; });
    store.set_good(p, std::int64_t{1}, t0);
    store.attach_feed(nullptr);
  }
  EXPECT_EQ(ex.run_pending(), 1u);
  EXPECT_EQ(wakes, 0);
}

TEST_F(ChangeFeedTest, CapacityIsAPowerOfTwo) {
  EXPECT_EQ(ChangeFeed(ex, 1000).capacity(), 1024u);
  EXPECT_EQ(ChangeFeed(ex, 1).capacity(), 1u);
  EXPECT_EQ(ChangeFeed(ex, 0).capacity(), 1u);
  EXPECT_EQ(ChangeFeed(ex).capacity(), ChangeFeed::kDefaultCapacity);
}

// The hot path: after the first lap, publishing a numeric change allocates nothing, whether the
// subscribers keep up, stall or are already woken; string values and error texts reuse the
// slot's buffers once they have grown.
TEST_F(ChangeFeedTest, PublishingAllocatesNothingAfterWarmUp) {
  const PointId num = store.add("D", "NUM");
  const PointId text = store.add("D", "TEXT");
  Reader keeping_up(feed, 1 << 20);
  Reader stalled(feed, 0);
  Reader third(feed, 0);
  const std::string long_text(64, 'y');
  const auto lap = [&](int base) {
    for (std::size_t i = 0; i < feed.capacity(); ++i) {
      const auto v = static_cast<std::int64_t>(base + static_cast<int>(i));
      store.set_good(num, v, t0);
      store.set_good(num, static_cast<double>(v) + 0.5, t0);
      store.set_bad(num, "illegal data address (a long error text)", t0);
      store.set_good(text, std::string_view(long_text.data(), 40 + i % 20), t0);
    }
  };
  // Warm-up: a lap at every alignment of the ring, so each slot's strings have grown to the
  // longest text and error it will hold.
  for (int shift = 0; shift < static_cast<int>(feed.capacity()); ++shift) {
    lap(0);
    store.set_good(num, std::int64_t{-1 - shift}, t0);
    ex.run_pending();
  }
  keeping_up.seen.reserve(keeping_up.seen.size() + 8 * feed.capacity());
  // One wake per subscriber is posted at the first change after it caught up; post that now.
  store.set_good(num, std::int64_t{-100}, t0);

  const auto before = pollux::testlib::allocations();
  lap(1000);
  lap(2000);
  const auto during = pollux::testlib::allocations() - before;
  EXPECT_EQ(during, 0u) << "allocations while publishing " << 8 * feed.capacity() << " changes";
  EXPECT_GT(feed.backlog(stalled.sub), feed.capacity());

  // A subscriber reading as it goes does not change that: count only the publishing side.
  ex.run_pending();
  std::uint64_t publishing = 0;
  for (int round = 0; round < 50; ++round) {
    const auto start = pollux::testlib::allocations();
    for (int i = 0; i < 100; ++i)
      store.set_good(num, static_cast<std::int64_t>(round * 100 + i), t0);
    publishing += pollux::testlib::allocations() - start;
    keeping_up.seen.clear();
    keeping_up.read(1 << 20);
    keeping_up.seen.clear();
  }
  // Each round's first change posts one wake (the executor's task); the 99 others nothing.
  EXPECT_LE(publishing, 50u * 3);
  EXPECT_EQ(stalled.read(10).lost, true);
}

TEST_F(ChangeFeedTest, WithoutSubscribersTheRingIsNotWritten) {
  const PointId p = store.add("D", "P");
  store.set_good(p, std::int64_t{1}, t0);
  EXPECT_EQ(feed.head(), 1u);
  EXPECT_EQ(ex.run_pending(), 0u);
  // A later subscriber starts at the head: it never sees what was published before it.
  Reader r(feed, 10);
  EXPECT_EQ(feed.backlog(r.sub), 0u);
  store.set_good(p, std::int64_t{2}, t0);
  ex.run_pending();
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].value, "2");
}

}  // namespace
}  // namespace pollux::points
