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
constexpr std::size_t kArity = 4;
}  // namespace

void TimerQueue::sift_up(std::size_t i) {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!earlier(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

void TimerQueue::sift_down(std::size_t i) {
  const std::size_t n = heap_.size();
  const Entry e = heap_[i];
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    for (std::size_t c = first + 1; c < std::min(first + kArity, n); ++c)
      if (earlier(heap_[c], heap_[best])) best = c;
    if (!earlier(heap_[best], e)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = e;
}

void TimerQueue::pop_top() {
  heap_.front() = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0);
}

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
  s.task = std::move(task);
  ++live_;
  const std::uint64_t id = (static_cast<std::uint64_t>(s.generation) << 32) | slot;
  heap_.push_back(Entry{when, next_seq_++, id});
  sift_up(heap_.size() - 1);
  return TimerId{id};
}

bool TimerQueue::live(std::uint64_t id) const {
  const std::uint32_t slot = slot_of(id);
  return slot < slots_.size() && slots_[slot].live && slots_[slot].generation == generation_of(id);
}

void TimerQueue::release(std::uint32_t slot) {
  slots_[slot].live = false;
  slots_[slot].task = nullptr;  // a cancelled timer's captures go now, not when its entry does
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
  if (heap_.size() < 2) return;
  for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;)  // every parent, last first
    sift_down(i);
}

void TimerQueue::drop_cancelled_top() {
  while (!heap_.empty() && !live(heap_.front().id))
    pop_top();
}

std::optional<TimePoint> TimerQueue::next_due() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::optional<Task> TimerQueue::pop_due(TimePoint now) {
  drop_cancelled_top();
  if (heap_.empty() || heap_.front().when > now) return std::nullopt;
  const std::uint32_t slot = slot_of(heap_.front().id);
  pop_top();
  Task task = std::move(slots_[slot].task);
  release(slot);
  return task;
}

}  // namespace pollux::runtime
