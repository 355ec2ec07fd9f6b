// The per-device priority queue (engine issue item 2; failover.md rule 4 "a re-queued message
// goes ahead of regular polls").
//
// One vector kept in priority order, FIFO within a priority: front() is the oldest job of the
// most urgent priority. A device holds a handful of jobs at most (one per poll group plus
// pending writes), so inserting in place costs less than four std::deques, which allocated
// ~2.3 KB per device up front (10,000 devices: 23 MB; performance issue). The vector keeps its
// capacity, so steady-state push/pop does not allocate.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "device/message.hpp"

namespace pollux::device {

class DeviceQueue {
 public:
  void push(const Job& job);
  // Puts a job at the head of its priority's FIFO (a retry of the job that was at the front).
  void push_front(const Job& job);
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t size(Priority p) const;
  // Precondition: !empty().
  Job& front();
  void pop_front();
  // True when a poll of `group` is waiting (not counting one in flight).
  bool has_poll(std::uint32_t group) const;
  // Removes every job, oldest-most-urgent first, handing each to `f` (device unloaded or
  // stopped: the owner fails writes and forgets polls).
  void drain(const std::function<void(const Job&)>& f);

 private:
  std::vector<Job> jobs_;  // sorted by priority, stable
  std::size_t size_ = 0;
};

}  // namespace pollux::device
