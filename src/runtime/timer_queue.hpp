// Ordered set of pending timers shared by both executors: a 4-ary heap keyed by (due time,
// insertion order) with lazy cancellation. A timer id names a reusable slot plus the slot's
// generation, so add, cancel and "is this heap entry still live" are array lookups: no hashing
// and no allocation per timer after warm-up beyond the task itself (DESIGN.md principle 6;
// timers are on the hot path: every message arms and cancels its reply timeout). The task
// lives in the slot, not in the heap, so a heap entry is 24 bytes rather than 56, and a node's
// four children share one or two cache lines: a pop through 20,000 entries (10,000 devices'
// poll timers and their reply timeouts) takes half the levels of a binary heap, each a cache
// miss at that size. tools/bench/timer_queue_bench measures one transaction's timer work.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/executor.hpp"

namespace pollux::runtime {

class TimerQueue {
 public:
  TimerId add(TimePoint when, Task task);
  bool cancel(TimerId id);
  // Earliest pending due time, skipping cancelled entries.
  std::optional<TimePoint> next_due();
  // Removes and returns the earliest timer due at or before `now`, if any.
  std::optional<Task> pop_due(TimePoint now);
  std::size_t size() const { return live_; }

 private:
  struct Entry {
    TimePoint when;
    std::uint64_t seq;  // insertion order: equal due times fire first-in first-out
    std::uint64_t id;
  };
  struct Slot {
    std::uint32_t generation = 0;
    bool live = false;
    Task task;
  };
  static bool earlier(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  }
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void pop_top();
  bool live(std::uint64_t id) const;
  void release(std::uint32_t slot);
  void drop_cancelled_top();
  void compact();

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t next_seq_ = 1;
};

}  // namespace pollux::runtime
