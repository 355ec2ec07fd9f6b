// The per-device priority queue (engine issue item 2; failover.md rule 4 "a re-queued message
// goes ahead of regular polls").
//
// Four FIFOs, one per Priority; front() is the oldest job of the most urgent non-empty FIFO.
// Deques keep their blocks, so steady-state push/pop does not allocate.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <functional>

#include "device/message.hpp"

namespace pollux::device {

class DeviceQueue {
 public:
  void push(const Job& job);
  // Puts a job at the head of its priority's FIFO (a retry of the job that was at the front).
  void push_front(const Job& job);
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t size(Priority p) const { return fifo_[static_cast<int>(p)].size(); }
  // Precondition: !empty().
  Job& front();
  void pop_front();
  // True when a poll of `group` is waiting (not counting one in flight).
  bool has_poll(std::uint32_t group) const;
  // Removes every job, oldest-most-urgent first, handing each to `f` (device unloaded or
  // stopped: the owner fails writes and forgets polls).
  void drain(const std::function<void(const Job&)>& f);

 private:
  std::array<std::deque<Job>, kPriorityCount> fifo_;
  std::size_t size_ = 0;
};

}  // namespace pollux::device
