// The point change feed: every change the point store makes, in order, for consumers that read
// at their own pace (DESIGN.md principle 7 and the data flow "PointStore -> change feed"; issue
// "a point change feed" for the redundancy sync journal, spec/history.md and
// spec/northbound.md).
//
// One ring of preallocated records is shared by every subscriber; each subscriber has its own
// cursor into it. Publishing never waits and, once every slot has been written, allocates
// nothing per change (a numeric value is copied into the slot's variant, a string into the
// slot's existing std::string); only a wake posted to the executor may, once per subscriber and
// burst. So a slow consumer cannot delay polling (tools/bench/change_feed_bench measures it). A
// subscriber that falls a whole ring behind is told it lost changes; it then rebuilds its view from
// the store (for_each_current), its cursor already moved to the head. Changes come out in store
// order, so in order per point.
//
// Wake-ups go through the executor: a subscriber that has read everything is woken once, by a
// post, on the first publish after that; never a callback per change, never from inside the
// store write. Everything runs on the executor's one thread; a consumer that does I/O copies
// what it needs out of the Change and does it off the polling thread or asynchronously.
//
// Usage:
//   points::ChangeFeed feed(ex);                // before the engine starts
//   store.attach_feed(&feed);
//   auto sub = feed.subscribe([&] { drain(); });
//   void drain() {  // also called again by the consumer when it stopped before the head
//     auto r = feed.read(sub, 512, [&](const points::Change& c) { ... c.point, c.value ... });
//     if (r.lost) feed.for_each_current(store, [&](const points::Change& c) { ... });
//   }
// Memory: capacity x sizeof(Slot), about 128 bytes, so 8 MiB at the default 65536.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "points/point_store.hpp"
#include "runtime/executor.hpp"

namespace pollux::points {

enum class ChangeKind : std::uint8_t {
  // The point's value, quality or error changed (PointStore bumped its sequence).
  update,
  // The point's device was removed from the store (reload): stop tracking the point. Its id is
  // never reused; store.get(point) still names it.
  removed,
};
std::string_view to_string(ChangeKind k);

// One change as a subscriber sees it. Valid only during the read callback: the slot it lives in
// is reused once the ring wraps.
struct Change {
  ChangeKind kind = ChangeKind::update;
  PointQuality quality = PointQuality::bad;
  // Device and name: store.get(point).device / .name (stable, never copied per change).
  PointId point = 0;
  // The store's sequence after this change (PointRecord::seq). A removal does not bump the
  // store's sequence: it carries the sequence current when the device was removed.
  std::uint64_t seq = 0;
  // Wall time of the poll result that made the change (PointRecord::timestamp).
  runtime::WallTime time{};
  // The value after the change; a bad point keeps its last value (null before any good read).
  StoreValue value;
  // Why the point is bad; empty when good.
  std::string error;
};

// A subscriber's handle. Default-constructed: none.
struct Subscription {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;  // 0: no subscription
  explicit operator bool() const { return generation != 0; }
  friend bool operator==(Subscription, Subscription) = default;
};

struct ReadResult {
  std::size_t count = 0;  // changes handed to the callback
  // The subscriber fell more than a ring behind: changes were dropped and the cursor moved to
  // the head. Rebuild from the store (for_each_current); reading goes on from there.
  bool lost = false;
};

class ChangeFeed {
 public:
  static constexpr std::size_t kDefaultCapacity = 65536;

  // `capacity` changes are kept (rounded up to a power of two, at least 1). All slots are
  // allocated here, so publishing allocates only when a string outgrows a slot's buffer.
  explicit ChangeFeed(runtime::Executor& ex, std::size_t capacity = kDefaultCapacity);
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;
  ~ChangeFeed();

  // Registers a consumer that reads from the current head on. `on_ready` runs on the executor,
  // posted at the first publish after the subscriber had read everything (at most one pending
  // at a time). A subscriber that stops reading before the head is not woken again: it reads on
  // when it is ready (its cursor keeps its place until the ring laps it). Without `on_ready`
  // the subscriber is never woken: it reads on its own schedule (the sync journal's timer).
  Subscription subscribe(std::function<void()> on_ready = {});
  // Stops the subscriber's wakes; its handle reads nothing from now on. Unknown handles are
  // ignored.
  void unsubscribe(Subscription sub);

  // Hands up to `max` unread changes, oldest first, to `fn(const Change&)`. `fn` must not
  // publish into this feed (write to the store) or subscribe.
  template <typename F>
  ReadResult read(Subscription sub, std::size_t max, F&& fn);
  // Unread changes of a subscriber (more than capacity(): it has lost some).
  std::uint64_t backlog(Subscription sub) const;

  // The resync helper: every live point of `store` as an update Change with its current state,
  // in id order. Called right after read() reported `lost` (same executor turn), it gives
  // exactly the state the cursor's new place follows; called later, a change may come both
  // here and from read(), which a consumer of states takes in its stride.
  template <typename F>
  void for_each_current(const PointStore& store, F&& fn) const;

  // Publishing, for PointStore. Cheap when nobody subscribes.
  void publish_update(PointId id, const PointRecord& r);
  // `store_seq`: the store's sequence now (a removal does not bump it).
  void publish_removed(PointId id, const PointRecord& r, std::uint64_t store_seq);

  std::size_t capacity() const { return mask_ + 1; }
  // Changes published since construction.
  std::uint64_t head() const { return head_; }
  std::size_t subscribers() const { return live_; }

 private:
  struct Slot {
    Change change;
    // A string buffer parked while the slot holds a non-string value, so a slot that goes from
    // string to number and back keeps its capacity.
    std::string spare;
  };
  struct Subscriber {
    std::function<void()> on_ready;
    std::uint64_t cursor = 0;
    std::uint32_t generation = 0;  // 0: free
    bool wakes = true;             // has an on_ready (a pull-only subscriber has none)
    bool waiting = false;          // read everything: wake at the next publish
    bool wake_posted = false;
  };

  Slot& claim(ChangeKind kind, PointId id, const PointRecord& r);
  void wake_waiting();
  void run_wake(std::uint32_t index, std::uint32_t generation);
  Subscriber* find(Subscription sub);
  const Subscriber* find(Subscription sub) const;
  void caught_up(Subscriber& s);
  static void copy_record(Change& c, std::string& spare, const PointRecord& r);

  runtime::Executor& ex_;
  std::vector<Slot> ring_;
  std::size_t mask_;
  std::uint64_t head_ = 0;
  std::vector<Subscriber> subs_;
  std::size_t live_ = 0;
  std::size_t waiting_ = 0;  // subscribers with waiting set: publish skips the scan when 0
  std::uint32_t next_generation_ = 1;
  // A posted wake may run after the feed is gone (the executor outlives it).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

template <typename F>
ReadResult ChangeFeed::read(Subscription sub, std::size_t max, F&& fn) {
  ReadResult out;
  Subscriber* s = find(sub);
  if (!s) return out;
  if (head_ - s->cursor > capacity()) {
    s->cursor = head_;
    out.lost = true;
  }
  while (out.count < max && s->cursor != head_) {
    const Change& c = ring_[s->cursor & mask_].change;
    ++s->cursor;
    ++out.count;
    fn(c);
  }
  if (s->cursor == head_) caught_up(*s);
  return out;
}

template <typename F>
void ChangeFeed::for_each_current(const PointStore& store, F&& fn) const {
  Change c;
  std::string spare;
  for (PointId id : store.all_points()) {
    copy_record(c, spare, store.get(id));
    c.point = id;
    fn(static_cast<const Change&>(c));
  }
}

}  // namespace pollux::points
