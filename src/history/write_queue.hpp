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

  // Appends records (moved from; `records` is left empty, its capacity kept for the caller's
  // next batch); drops the oldest past max_records.
  void push(std::vector<Record>& records, runtime::TimePoint now);

  // When the next write is due; nullopt when nothing waits or a write is under way. `now` or
  // earlier: write now.
  std::optional<runtime::TimePoint> due() const;
  // Starts a write: the batch to write, up to batch_records oldest records. It stays queued
  // until written(n) or failed() ends the write (records pushed meanwhile go behind it). Until
  // then the span and its records stay valid and unchanged whatever push() does, so the writer
  // thread writes them without holding the lock around the queue. Past max_records during the
  // write, the oldest records of the batch are dropped only if the write fails (counted then);
  // a write that succeeds has kept them after all.
  std::span<const Record> batch();
  // Ends the write: its first `n` records were committed.
  void written(std::size_t n, runtime::TimePoint now);
  // Ends the write: it failed; the batch stays first, the next attempt waits per the backoff.
  void failed(runtime::TimePoint now);
  // Makes everything waiting due now (shutdown flush), retry wait included; records pushed
  // before the queue next runs empty are due at once too. A failure after it waits again.
  void flush_now(runtime::TimePoint now);
  // Empties the queue: every waiting record, oldest first, for another queue (a new store's
  // writer). Not while a write is under way.
  std::vector<Record> take_all();

  bool writing() const { return in_flight_; }
  std::size_t size() const { return front_.size() - front_head_ - doomed_ + back_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  int consecutive_failures() const { return failures_; }

 private:
  void enforce_bound();
  void drop_front(std::size_t n);
  void trim_marks();
  runtime::TimePoint oldest_queued_at() const;
  runtime::Duration retry_delay() const;

  QueueLimits limits_;
  // The queue is front_[front_head_..] then back_: batch() moves the oldest records into the
  // contiguous front_ (a span for Store::write) once per batch, so push() only appends to
  // back_, O(records pushed) with no allocation of its own past the deque's blocks.
  std::vector<Record> front_;
  std::size_t front_head_ = 0;
  std::deque<Record> back_;
  // When each push arrived: records with sequence numbers below `end` (and at or past the
  // previous mark's) were queued at `at`. One per push, not per record.
  struct Mark {
    std::uint64_t end;
    runtime::TimePoint at;
  };
  std::deque<Mark> marks_;
  std::uint64_t pushed_ = 0;  // sequence number of the next record pushed
  bool in_flight_ = false;
  // Records at the head of the batch under way that are past the bound (dropped if it fails).
  std::size_t doomed_ = 0;
  std::uint64_t dropped_ = 0;
  int failures_ = 0;
  std::optional<runtime::TimePoint> retry_at_;
  bool flushing_ = false;
  runtime::TimePoint flush_at_{};
};

}  // namespace pollux::history
