#include "runtime/timer_queue.hpp"

#include <algorithm>

namespace pollux::runtime {

namespace {
std::uint32_t slot_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id & 0xFFFFFFFFu);
}
std::uint32_t generation_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id >> 32);
}
}  // namespace

TimerId TimerQueue::add(TimePoint when, Task task) {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  if (++s.generation == 0) s.generation = 1;  // id 0 means "no timer"
  s.live = true;
  ++live_;
  const std::uint64_t id = (static_cast<std::uint64_t>(s.generation) << 32) | slot;
  heap_.push_back(Entry{when, next_seq_++, id, std::move(task)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  return TimerId{id};
}

bool TimerQueue::live(std::uint64_t id) const {
  const std::uint32_t slot = slot_of(id);
  return slot < slots_.size() && slots_[slot].live && slots_[slot].generation == generation_of(id);
}

void TimerQueue::release(std::uint32_t slot) {
  slots_[slot].live = false;
  --live_;
  free_.push_back(slot);
}

bool TimerQueue::cancel(TimerId id) {
  if (!live(id.value)) return false;
  // The heap entry stays until it reaches the top; the slot's next generation makes it stale.
  release(slot_of(id.value));
  // Reply timeouts are nearly always cancelled long before they are due, so stale entries
  // would outnumber live ones many times over (a deeper heap, more cache misses per push and
  // pop). Dropping them all once they are the majority costs O(1) amortized per cancel.
  if (heap_.size() > 2 * live_ + 1024) compact();
  return true;
}

void TimerQueue::compact() {
  std::erase_if(heap_, [this](const Entry& e) { return !live(e.id); });
  std::make_heap(heap_.begin(), heap_.end(), later);
}

void TimerQueue::drop_cancelled_top() {
  while (!heap_.empty() && !live(heap_.front().id)) {
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
  release(slot_of(e.id));
  return std::move(e.task);
}

}  // namespace pollux::runtime
