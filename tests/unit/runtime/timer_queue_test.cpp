// TimerQueue against a reference model: random adds, cancels and pops (with compaction on the
// way, since most timers are cancelled) must come out in (due time, insertion order), each live
// timer exactly once, and no cancelled one.
#include "runtime/timer_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace pollux::runtime {
namespace {

TEST(TimerQueue, PopsInDueThenInsertionOrderAndNeverACancelledTimer) {
  std::mt19937 rng(12345);
  TimerQueue q;
  // (due ms, insertion number) -> timer id: the order the queue must follow.
  std::map<std::pair<int, int>, TimerId> model;
  std::vector<std::pair<TimerId, std::pair<int, int>>> issued;
  int inserted = 0, fired = -1, now_ms = 0;
  for (int step = 0; step < 200000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {  // add: due times often shared, so insertion order matters; half of them far
                   // off, like reply timeouts, so cancelled entries pile up and are compacted
      const int due = now_ms + static_cast<int>(rng() % (rng() % 2 ? 50 : 5000));
      const int n = inserted++;
      const TimerId id = q.add(TimePoint(milliseconds(due)), [&fired, n] { fired = n; });
      model.emplace(std::make_pair(due, n), id);
      issued.emplace_back(id, std::make_pair(due, n));
    } else if (op < 8 && !issued.empty()) {  // cancel a recent one, live or not
      const auto& [id, key] =
          issued[issued.size() - 1 - rng() % std::min<std::size_t>(issued.size(), 8)];
      const bool live = model.erase(key) == 1;
      EXPECT_EQ(q.cancel(id), live);
    } else {  // advance time and pop what is due
      now_ms += static_cast<int>(rng() % 5);
      while (auto task = q.pop_due(TimePoint(milliseconds(now_ms)))) {
        ASSERT_FALSE(model.empty());
        const auto first = model.begin();
        ASSERT_LE(first->first.first, now_ms);
        (*task)();
        ASSERT_EQ(fired, first->first.second);
        model.erase(first);
      }
      if (!model.empty()) {
        ASSERT_GT(model.begin()->first.first, now_ms);
      }
    }
    ASSERT_EQ(q.size(), model.size());
    const auto next = q.next_due();
    ASSERT_EQ(next.has_value(), !model.empty());
    if (next) {
      ASSERT_EQ(*next, TimePoint(milliseconds(model.begin()->first.first)));
    }
  }
}

TEST(TimerQueue, DroppingCancelledEntriesKeepsTheOrder) {
  // Reply timeouts: nearly all cancelled long before they are due, so the stale entries become
  // the majority and are dropped in one pass (compaction), after which the order must hold.
  std::mt19937 rng(7);
  TimerQueue q;
  std::vector<std::pair<int, TimerId>> timers;
  for (int i = 0; i < 20000; ++i) {
    const int due = static_cast<int>(rng() % 100000);
    timers.emplace_back(due, q.add(TimePoint(milliseconds(due)), [] {}));
  }
  std::vector<int> kept;
  for (auto& [due, id] : timers) {
    if (rng() % 10 == 0)
      kept.push_back(due);
    else
      ASSERT_TRUE(q.cancel(id));
  }
  std::sort(kept.begin(), kept.end());
  ASSERT_EQ(q.size(), kept.size());
  for (const int due : kept) {
    ASSERT_EQ(q.next_due(), TimePoint(milliseconds(due)));
    ASSERT_TRUE(q.pop_due(TimePoint(milliseconds(due))).has_value());
  }
  EXPECT_FALSE(q.next_due().has_value());
}

TEST(TimerQueue, ACancelledTimersCapturesAreReleasedAtOnce) {
  TimerQueue q;
  auto token = std::make_shared<int>(0);
  const TimerId id = q.add(TimePoint(seconds(10)), [token] {});
  EXPECT_EQ(token.use_count(), 2);
  EXPECT_TRUE(q.cancel(id));
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(q.cancel(id));
}

}  // namespace
}  // namespace pollux::runtime
