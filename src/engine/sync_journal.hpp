// What changed since the active node last sent its runtime state to the standby (spec/
// redundancy.md "Synchronization", "Runtime state"): devices whose failover state or counters
// changed, points whose value, quality or error changed, and per-group "poll completed at T"
// records that move the timestamps of a group's unchanged points with one record.
//
// Devices are marked as things happen (DeviceSession reports through
// SessionContext::state_changed); points come from the store's change feed, whose first
// subscriber the journal is. So a delta costs what changed, never a scan of every device and
// point. The journal reads the feed only when a delta is taken; one that fell a whole ring
// behind (a peer link down for long under heavy change) sends every live point instead.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "points/change_feed.hpp"
#include "points/point_store.hpp"
#include "redundancy/state_codec.hpp"
#include "runtime/clock.hpp"

namespace pollux::engine {

class DeviceSession;

using redundancy::DeviceRuntime;
using redundancy::PollDone;

struct SyncChanges {
  std::vector<DeviceRuntime> devices;
  std::vector<points::PointId> points;
  std::vector<PollDone> polls;
};

class SyncJournal {
 public:
  SyncJournal(points::ChangeFeed& feed, const points::PointStore& store);
  // The session's state or counters changed (or a poll of it completed).
  void mark(DeviceSession& s);
  // What changed since the previous take (`all`: every device of `sessions` and every live
  // point, no polls: their points carry their own times). Resets the journal. Sessions unloaded
  // since they were marked are skipped.
  SyncChanges take(bool all, const std::vector<std::unique_ptr<DeviceSession>>& sessions,
                   runtime::TimePoint now);
  // Changes the feed lapped before they were taken (each made a delta send every point).
  std::uint64_t resyncs() const { return resyncs_; }

 private:
  void take_device(DeviceSession& s, bool force, SyncChanges& out, runtime::TimePoint now);
  // The points changed since the last take, each once, in id order; all live points when the
  // feed lapped the journal (or `all`).
  void take_points(bool all, SyncChanges& out);
  void reset();
  points::ChangeFeed& feed_;
  const points::PointStore& store_;
  points::Subscription sub_;
  std::vector<DeviceSession*> dirty_;
  std::uint64_t resyncs_ = 0;
};

}  // namespace pollux::engine
