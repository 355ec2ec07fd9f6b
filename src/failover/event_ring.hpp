// Bounded in-memory ring of device line changes (spec/failover.md "Every change of active line
// is an event ..."; spec/api.md GET /api/v1/events?since=N).
//
// Sequence numbers start at 1 and never repeat, so a client polling `since(last_seen)` misses
// nothing that is still kept; when the ring is full the oldest event is dropped. A standby node
// mirrors the active node's ring with append(), keeping the active node's numbers, so a client
// sees the same seq on both nodes. Not thread-safe: used from the node's I/O thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "failover/policy.hpp"
#include "runtime/clock.hpp"

namespace pollux::failover {

struct Event {
  std::uint64_t seq = 0;
  runtime::WallTime time;
  std::string device;
  int from = 0;
  int to = 0;
  Reason reason = Reason::manual;
  friend bool operator==(const Event&, const Event&) = default;
};

class EventRing {
 public:
  static constexpr std::size_t kDefaultCapacity = 1000;

  // A capacity of 0 is taken as 1: the newest event is always kept.
  explicit EventRing(std::size_t capacity = kDefaultCapacity);

  // Records a change and returns it with its sequence number.
  const Event& push(runtime::WallTime time, std::string device, const LineChange& change);
  // Mirrors an event received from the peer, keeping its seq; later pushes continue after it.
  // Returns false (and keeps nothing) when its seq is not newer than last_seq().
  bool append(Event event);
  // Kept events with seq > `seq`, oldest first (all kept events for 0).
  std::vector<Event> since(std::uint64_t seq) const;

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  // Sequence number of the newest event; 0 before the first.
  std::uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  std::size_t capacity_;
  std::vector<Event> slots_;  // grows to capacity_, then is overwritten in place
  std::size_t size_ = 0;
  std::size_t head_ = 0;  // slot of the oldest event once full
  std::uint64_t next_seq_ = 1;

  void store(Event event);
  const Event& at(std::size_t logical) const;  // 0 = oldest kept
};

}  // namespace pollux::failover
