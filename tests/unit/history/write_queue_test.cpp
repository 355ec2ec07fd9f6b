// The writer's queue (src/history/write_queue.hpp; spec/history.md "Faults" and "Settled
// details"): order, the bound and its drop count, when a write is due, the retry backoff, and
// that a failed batch stays first. Time is a runtime::TimePoint stepped by hand.
#include "history/write_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pollux::history {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const runtime::TimePoint t0 = runtime::TimePoint{} + std::chrono::hours(1000);
const SeriesRef kSeries = std::make_shared<const Series>(Series{"WELL_01", "PRESSURE"});

// Records numbered by their time: from, from + 1, ... (count of them).
std::vector<Record> records(Millis from, std::size_t count) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(Record{kSeries, from + static_cast<Millis>(i),
                         points::Value{static_cast<double>(from) + static_cast<double>(i)},
                         Quality::good});
  return out;
}

std::vector<Millis> times(std::span<const Record> batch) {
  std::vector<Millis> out;
  for (const Record& r : batch)
    out.push_back(r.time);
  return out;
}

void push(WriteQueue& q, Millis from, std::size_t count, runtime::TimePoint now) {
  std::vector<Record> r = records(from, count);
  q.push(r, now);
}

QueueLimits small() {
  return {.max_records = 100,
          .batch_records = 4,
          .commit_interval = milliseconds(500),
          .retry_min = seconds(1),
          .retry_max = seconds(10)};
}

TEST(HistoryWriteQueue, RecordsLeaveInOrder) {
  WriteQueue q(small());
  push(q, 1, 3, t0);
  push(q, 4, 3, t0 + milliseconds(1));
  EXPECT_EQ(q.size(), 6u);
  auto b = q.batch();
  EXPECT_EQ(times(b), (std::vector<Millis>{1, 2, 3, 4}));
  EXPECT_EQ(b[0].series->point, "PRESSURE");
  EXPECT_EQ(b[3].value, points::Value{4.0});
  q.written(b.size(), t0 + milliseconds(2));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{5, 6}));
  q.written(2, t0 + milliseconds(3));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(HistoryWriteQueue, PushMovesRecordsOutAndKeepsCapacity) {
  WriteQueue q(small());
  std::vector<Record> r = records(1, 3);
  const std::size_t capacity = r.capacity();
  q.push(r, t0);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.capacity(), capacity);
  EXPECT_EQ(kSeries.use_count(), 4);  // the 3 queued records and kSeries: none copied
}

// A partial commit leaves the rest first, ahead of everything pushed later.
TEST(HistoryWriteQueue, PartialWriteKeepsTheRestFirst) {
  WriteQueue q(small());
  push(q, 1, 4, t0);
  ASSERT_EQ(q.batch().size(), 4u);
  push(q, 5, 2, t0);
  q.written(1, t0);
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{2, 3, 4, 5}));
}

TEST(HistoryWriteQueue, BoundDropsOldestAndCounts) {
  QueueLimits l = small();
  l.max_records = 5;
  WriteQueue q(l);
  push(q, 1, 3, t0);
  push(q, 4, 4, t0);  // 7 > 5: 1 and 2 go
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{3, 4, 5, 6}));
  q.written(4, t0);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{7}));
  q.written(1, t0);
  push(q, 8, 12, t0);  // more than the bound in one push
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.dropped(), 9u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{15, 16, 17, 18}));
}

// After a failure the failed batch is the oldest: the bound drops from it first.
TEST(HistoryWriteQueue, BoundDropsFromAFailedBatchFirst) {
  QueueLimits l = small();
  l.max_records = 6;
  WriteQueue q(l);
  push(q, 1, 6, t0);
  ASSERT_EQ(q.batch().size(), 4u);
  q.failed(t0);
  push(q, 7, 3, t0);
  EXPECT_EQ(q.dropped(), 3u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{4, 5, 6, 7}));
}

// During a write the batch's records are not touched; those past the bound are dropped only if
// the write fails, and a write that succeeds has kept them.
TEST(HistoryWriteQueue, BoundDuringAWriteThatSucceeds) {
  QueueLimits l = small();
  l.max_records = 5;
  WriteQueue q(l);
  push(q, 1, 4, t0);
  auto b = q.batch();
  const Record* data = b.data();
  push(q, 5, 3, t0);  // 7 waiting > 5: 1 and 2 are past the bound
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(times(b), (std::vector<Millis>{1, 2, 3, 4}));  // untouched
  EXPECT_EQ(b.data(), data);
  q.written(4, t0);
  EXPECT_EQ(q.dropped(), 0u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{5, 6, 7}));
}

TEST(HistoryWriteQueue, BoundDuringAWriteThatFails) {
  QueueLimits l = small();
  l.max_records = 5;
  WriteQueue q(l);
  push(q, 1, 4, t0);
  ASSERT_EQ(q.batch().size(), 4u);
  push(q, 5, 3, t0);
  EXPECT_EQ(q.dropped(), 0u);
  q.failed(t0);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{3, 4, 5, 6}));
}

// Past the whole batch under way, the records behind it go at once.
TEST(HistoryWriteQueue, BoundDuringAWriteBeyondTheBatch) {
  QueueLimits l = small();
  l.max_records = 3;
  WriteQueue q(l);
  push(q, 1, 2, t0);
  auto b = q.batch();
  push(q, 3, 5, t0);  // 7 > 3: 1, 2 (in the batch) and 3, 4 (behind it)
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(times(b), (std::vector<Millis>{1, 2}));
  q.failed(t0);
  EXPECT_EQ(q.dropped(), 4u);
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{5, 6, 7}));
}

TEST(HistoryWriteQueue, DueAfterCommitIntervalOfTheOldest) {
  WriteQueue q(small());
  EXPECT_EQ(q.due(), std::nullopt);
  push(q, 1, 1, t0);
  EXPECT_EQ(q.due(), t0 + milliseconds(500));
  push(q, 2, 1, t0 + milliseconds(300));
  EXPECT_EQ(q.due(), t0 + milliseconds(500));
  q.batch();
  EXPECT_EQ(q.due(), std::nullopt);  // a write is under way
  q.written(1, t0 + milliseconds(501));
  // The one left counts from when it was pushed.
  EXPECT_EQ(q.due(), t0 + milliseconds(800));
  q.batch();
  q.written(1, t0 + milliseconds(801));
  EXPECT_EQ(q.due(), std::nullopt);
}

TEST(HistoryWriteQueue, DueAtOnceWhenABatchIsFull) {
  WriteQueue q(small());
  push(q, 1, 3, t0);
  EXPECT_EQ(q.due(), t0 + milliseconds(500));
  push(q, 4, 1, t0 + milliseconds(10));
  ASSERT_TRUE(q.due());
  EXPECT_LE(*q.due(), t0 + milliseconds(10));
}

TEST(HistoryWriteQueue, BackoffDoublesFromOneToTenSeconds) {
  WriteQueue q(small());
  push(q, 1, 1, t0);
  runtime::TimePoint now = t0 + seconds(1);
  std::vector<std::int64_t> waits;
  for (int i = 0; i < 7; ++i) {
    ASSERT_LE(*q.due(), now);
    q.batch();
    q.failed(now);
    EXPECT_EQ(q.consecutive_failures(), i + 1);
    waits.push_back(runtime::to_ms(*q.due() - now));
    now = *q.due();
  }
  EXPECT_EQ(waits, (std::vector<std::int64_t>{1000, 2000, 4000, 8000, 10000, 10000, 10000}));
}

// A full batch, or one whose commit interval has passed, still waits for the retry time.
TEST(HistoryWriteQueue, RetryWaitHoldsEvenAFullBatch) {
  WriteQueue q(small());
  push(q, 1, 4, t0);
  q.batch();
  q.failed(t0);
  push(q, 5, 8, t0 + milliseconds(100));
  EXPECT_EQ(q.due(), t0 + seconds(1));
}

TEST(HistoryWriteQueue, SuccessResetsTheBackoff) {
  WriteQueue q(small());
  push(q, 1, 8, t0);
  q.batch();
  q.failed(t0);
  q.batch();
  q.failed(t0 + seconds(1));
  q.batch();
  q.failed(t0 + seconds(3));
  ASSERT_EQ(q.due(), t0 + seconds(7));
  q.batch();
  q.written(4, t0 + seconds(7));
  EXPECT_EQ(q.consecutive_failures(), 0);
  // The next batch is full: due at once, with no retry wait left.
  ASSERT_TRUE(q.due());
  EXPECT_LE(*q.due(), t0 + seconds(7));
  q.batch();
  q.failed(t0 + seconds(8));
  EXPECT_EQ(q.due(), t0 + seconds(9));  // 1 s again
}

TEST(HistoryWriteQueue, FailedBatchStaysFirstWithLaterPushesBehind) {
  WriteQueue q(small());
  push(q, 1, 3, t0);
  auto b = q.batch();
  EXPECT_EQ(times(b), (std::vector<Millis>{1, 2, 3}));
  push(q, 4, 3, t0 + milliseconds(10));
  q.failed(t0 + milliseconds(20));
  EXPECT_EQ(q.size(), 6u);
  EXPECT_EQ(q.dropped(), 0u);
  // The retry tops the batch up from behind, in order.
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{1, 2, 3, 4}));
  q.failed(t0 + seconds(2));
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{1, 2, 3, 4}));
  q.written(4, t0 + seconds(5));
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{5, 6}));
}

TEST(HistoryWriteQueue, FlushNowMakesEverythingDueIncludingRetryWait) {
  WriteQueue q(small());
  push(q, 1, 1, t0);
  q.batch();
  q.failed(t0);
  ASSERT_EQ(q.due(), t0 + seconds(1));
  q.flush_now(t0 + milliseconds(100));
  EXPECT_EQ(q.due(), t0 + milliseconds(100));
  // Pushed after the flush: due at once too, no commit interval.
  push(q, 2, 1, t0 + milliseconds(150));
  EXPECT_EQ(q.due(), t0 + milliseconds(100));
  // A failure after the flush waits again.
  q.batch();
  q.failed(t0 + milliseconds(200));
  EXPECT_EQ(q.due(), t0 + milliseconds(200) + seconds(2));
  q.batch();
  q.written(2, t0 + seconds(3));
  // Once empty, the flush is over: the commit interval applies again.
  push(q, 3, 1, t0 + seconds(4));
  EXPECT_EQ(q.due(), t0 + seconds(4) + milliseconds(500));
}

// A failed batch and what came behind it leave together, oldest first; the queue is then empty
// and works on as before.
TEST(HistoryWriteQueue, TakeAllEmptiesTheQueueInOrder) {
  WriteQueue q(small());
  push(q, 1, 3, t0);
  q.batch();
  q.failed(t0 + milliseconds(10));
  push(q, 4, 3, t0 + milliseconds(20));
  const std::vector<Record> all = q.take_all();
  EXPECT_EQ(times(all), (std::vector<Millis>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.due(), std::nullopt);
  EXPECT_EQ(q.dropped(), 0u);
  push(q, 7, 1, t0 + seconds(5));
  EXPECT_EQ(times(q.batch()), (std::vector<Millis>{7}));
}

TEST(HistoryWriteQueue, FlushNowOnAnEmptyQueue) {
  WriteQueue q(small());
  q.flush_now(t0);
  EXPECT_EQ(q.due(), std::nullopt);
}

}  // namespace
}  // namespace pollux::history
