// Ordered set of pending timers shared by both executors: a binary heap keyed by (due time,
// insertion order) with lazy cancellation, so cancel is O(1) and the heap vector is reused
// (no allocation per timer after warm-up beyond the task itself).
#pragma once

#include <optional>
#include <unordered_set>
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
  std::size_t size() const { return live_.size(); }

 private:
  struct Entry {
    TimePoint when;
    std::uint64_t id;
    Task task;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.id > b.id;
  }
  void drop_cancelled_top();

  std::vector<Entry> heap_;
  std::unordered_set<std::uint64_t> live_;
  std::uint64_t next_id_ = 1;
};

}  // namespace pollux::runtime
