#include "points/change_feed.hpp"

#include <bit>
#include <utility>

namespace pollux::points {

std::string_view to_string(ChangeKind k) {
  switch (k) {
    case ChangeKind::update:
      return "update";
    case ChangeKind::removed:
      return "removed";
  }
  return "?";
}

ChangeFeed::ChangeFeed(runtime::Executor& ex, std::size_t capacity)
    : ex_(ex),
      ring_(std::bit_ceil(capacity == 0 ? std::size_t{1} : capacity)),
      mask_(ring_.size() - 1) {}

ChangeFeed::~ChangeFeed() = default;

Subscription ChangeFeed::subscribe(std::function<void()> on_ready) {
  std::uint32_t index = 0;
  while (index < subs_.size() && subs_[index].generation != 0)
    ++index;
  if (index == subs_.size()) subs_.emplace_back();
  Subscriber& s = subs_[index];
  s.wakes = static_cast<bool>(on_ready);
  s.on_ready = std::move(on_ready);
  s.cursor = head_;
  s.generation = next_generation_++;
  s.wake_posted = false;
  s.waiting = false;
  caught_up(s);
  ++live_;
  return {index, s.generation};
}

void ChangeFeed::unsubscribe(Subscription sub) {
  Subscriber* s = find(sub);
  if (!s) return;
  if (s->waiting) --waiting_;
  // A wake already posted finds the generation changed and does nothing.
  *s = Subscriber{};
  --live_;
}

std::uint64_t ChangeFeed::backlog(Subscription sub) const {
  const Subscriber* s = find(sub);
  return s ? head_ - s->cursor : 0;
}

ChangeFeed::Subscriber* ChangeFeed::find(Subscription sub) {
  if (!sub || sub.index >= subs_.size()) return nullptr;
  Subscriber& s = subs_[sub.index];
  return s.generation == sub.generation ? &s : nullptr;
}

const ChangeFeed::Subscriber* ChangeFeed::find(Subscription sub) const {
  return const_cast<ChangeFeed*>(this)->find(sub);
}

void ChangeFeed::caught_up(Subscriber& s) {
  if (s.waiting || !s.wakes) return;  // a subscriber without on_ready reads when it wants
  s.waiting = true;
  ++waiting_;
}

void ChangeFeed::copy_record(Change& c, std::string& spare, const PointRecord& r) {
  c.quality = r.quality;
  c.seq = r.seq;
  c.time = r.timestamp.value_or(runtime::WallTime{});
  if (const auto* text = std::get_if<std::string>(&r.value)) {
    auto* mine = std::get_if<std::string>(&c.value);
    if (!mine) mine = &c.value.emplace<std::string>(std::move(spare));
    mine->assign(*text);  // within the buffer's capacity: no allocation
  } else {
    if (auto* mine = std::get_if<std::string>(&c.value)) spare = std::move(*mine);
    c.value = r.value;  // a scalar (or null): no allocation
  }
  c.error.assign(r.error);
}

ChangeFeed::Slot& ChangeFeed::claim(ChangeKind kind, PointId id, const PointRecord& r) {
  Slot& slot = ring_[head_ & mask_];
  slot.change.kind = kind;
  slot.change.point = id;
  copy_record(slot.change, slot.spare, r);
  return slot;
}

void ChangeFeed::publish_update(PointId id, const PointRecord& r) {
  // Nobody to read it: a subscriber registered later starts at the head anyway.
  if (live_ != 0) claim(ChangeKind::update, id, r);
  ++head_;
  if (waiting_ != 0) wake_waiting();
}

void ChangeFeed::publish_removed(PointId id, const PointRecord& r, std::uint64_t store_seq) {
  if (live_ != 0) claim(ChangeKind::removed, id, r).change.seq = store_seq;
  ++head_;
  if (waiting_ != 0) wake_waiting();
}

void ChangeFeed::wake_waiting() {
  for (std::uint32_t i = 0; i < subs_.size(); ++i) {
    Subscriber& s = subs_[i];
    if (!s.waiting) continue;
    s.waiting = false;
    if (s.wake_posted) continue;  // the pending wake covers this change too
    s.wake_posted = true;
    ex_.post([this, i, generation = s.generation, alive = std::weak_ptr<bool>(alive_)] {
      if (!alive.expired()) run_wake(i, generation);
    });
  }
  waiting_ = 0;
}

void ChangeFeed::run_wake(std::uint32_t index, std::uint32_t generation) {
  Subscriber* s = find({index, generation});
  if (!s) return;  // unsubscribed since
  s->wake_posted = false;
  // It may have read everything meanwhile, on its own: then there is nothing to be woken for.
  if (s->cursor == head_) return;
  // Moved out while it runs: on_ready may unsubscribe (which clears the subscriber) or
  // subscribe another (which may move the subscribers).
  auto on_ready = std::move(s->on_ready);
  if (on_ready) on_ready();
  if (Subscriber* still = find({index, generation})) still->on_ready = std::move(on_ready);
}

}  // namespace pollux::points
