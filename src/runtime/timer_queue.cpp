#include "runtime/timer_queue.hpp"

#include <algorithm>

namespace pollux::runtime {

TimerId TimerQueue::add(TimePoint when, Task task) {
  const std::uint64_t id = next_id_++;
  heap_.push_back(Entry{when, id, std::move(task)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  live_.insert(id);
  return TimerId{id};
}

bool TimerQueue::cancel(TimerId id) {
  return live_.erase(id.value) > 0;
}

void TimerQueue::drop_cancelled_top() {
  while (!heap_.empty() && !live_.contains(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

std::optional<TimePoint> TimerQueue::next_due() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::optional<Task> TimerQueue::pop_due(TimePoint now) {
  drop_cancelled_top();
  if (heap_.empty() || heap_.front().when > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry e = std::move(heap_.back());
  heap_.pop_back();
  live_.erase(e.id);
  return std::move(e.task);
}

}  // namespace pollux::runtime
