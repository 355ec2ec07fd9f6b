#include "failover/event_ring.hpp"

#include <algorithm>

namespace pollux::failover {

EventRing::EventRing(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

const Event& EventRing::push(runtime::WallTime time, std::string device, const LineChange& change) {
  Event e{next_seq_++, time, std::move(device), change.from, change.to, change.reason};
  if (slots_.size() < capacity_) {
    slots_.push_back(std::move(e));
    ++size_;
    return slots_.back();
  }
  Event& slot = slots_[head_];
  slot = std::move(e);
  head_ = (head_ + 1) % capacity_;
  return slot;
}

std::vector<Event> EventRing::since(std::uint64_t seq) const {
  std::vector<Event> out;
  if (size_ == 0) return out;
  // Kept events carry consecutive numbers, so the first one wanted is found by arithmetic.
  const std::uint64_t oldest = next_seq_ - size_;
  const std::uint64_t first = std::max(oldest, seq + 1);
  if (seq >= last_seq()) return out;
  out.reserve(static_cast<std::size_t>(next_seq_ - first));
  for (std::uint64_t s = first; s < next_seq_; ++s) {
    out.push_back(slots_[(head_ + static_cast<std::size_t>(s - oldest)) % slots_.size()]);
  }
  return out;
}

}  // namespace pollux::failover
