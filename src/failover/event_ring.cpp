#include "failover/event_ring.hpp"

#include <algorithm>

namespace pollux::failover {

EventRing::EventRing(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void EventRing::store(Event event) {
  next_seq_ = event.seq + 1;
  if (slots_.size() < capacity_) {
    slots_.push_back(std::move(event));
    ++size_;
    return;
  }
  slots_[head_] = std::move(event);
  head_ = (head_ + 1) % capacity_;
}

const Event& EventRing::at(std::size_t logical) const {
  return slots_[(head_ + logical) % slots_.size()];
}

const Event& EventRing::push(runtime::WallTime time, std::string device, const LineChange& change) {
  store(Event{next_seq_, time, std::move(device), change.from, change.to, change.reason});
  return at(size_ - 1);
}

bool EventRing::append(Event event) {
  if (event.seq <= last_seq()) return false;
  store(std::move(event));
  return true;
}

std::vector<Event> EventRing::since(std::uint64_t seq) const {
  // Kept events are in increasing seq order, with gaps only where a mirrored peer skipped
  // numbers, so the first one wanted is found by bisection.
  std::size_t lo = 0;
  std::size_t hi = size_;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (at(mid).seq <= seq) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  std::vector<Event> out;
  out.reserve(size_ - lo);
  for (std::size_t i = lo; i < size_; ++i)
    out.push_back(at(i));
  return out;
}

}  // namespace pollux::failover
