// The writer's queue: records waiting for the store, in order, bounded, with the retry
// schedule of failed writes (spec/history.md "Faults"). Pure: it takes `now` and outcomes and
// answers what to do, so the rules are unit-tested with a manual clock; writer.hpp runs it on
// a thread.
//
// - Records leave in the order they came (per point that is time order: the recorder sees a
//   point's changes in order).
// - At most `max_records` wait; past that the oldest are dropped and counted (`dropped()`).
//   Nothing else is ever dropped: a failed write keeps its batch at the front.
// - A write is due when a full batch waits, or when the oldest waiting record has waited
//   `commit_interval` (so a kill -9 loses at most about that much), or at flush; never before
//   the retry time after a failure.
// - After a failure the next attempt waits retry_min, doubling per consecutive failure up to
//   retry_max (1 s to 10 s, history.md "Settled details"); a success resets it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "history/record.hpp"
#include "runtime/clock.hpp"

namespace pollux::history {

struct QueueLimits {
  std::size_t max_records = 1'000'000;
  std::size_t batch_records = 20'000;
  runtime::Duration commit_interval = std::chrono::milliseconds(500);
  runtime::Duration retry_min = std::chrono::seconds(1);
  runtime::Duration retry_max = std::chrono::seconds(10);
};

class WriteQueue {
 public:
  explicit WriteQueue(QueueLimits limits = {});

  // Appends records (moved from); drops the oldest past max_records.
  void push(std::vector<Record>& records, runtime::TimePoint now);

  // When the next write is due; nullopt when nothing waits. `now` or earlier: write now.
  std::optional<runtime::TimePoint> due() const;
  // The batch to write: up to batch_records oldest records. It stays queued until
  // written(n) removes it (records pushed meanwhile go behind it).
  std::vector<Record> batch() const;
  // The first `n` records were committed.
  void written(std::size_t n, runtime::TimePoint now);
  // A write failed: the batch stays, the next attempt waits per the backoff.
  void failed(runtime::TimePoint now);
  // Makes everything waiting due now (shutdown flush), retry wait included.
  void flush_now(runtime::TimePoint now);

  std::size_t size() const { return records_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  int consecutive_failures() const { return failures_; }

 private:
  QueueLimits limits_;
  struct Entry {
    Record record;
    runtime::TimePoint queued_at;
  };
  std::deque<Entry> records_;
  std::uint64_t dropped_ = 0;
  int failures_ = 0;
  std::optional<runtime::TimePoint> retry_at_;
  bool flushing_ = false;
};

}  // namespace pollux::history
