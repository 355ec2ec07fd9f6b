// What changed since the active node last sent its runtime state to the standby (spec/
// redundancy.md "Synchronization", "Runtime state"): devices whose failover state or counters
// changed, points whose value, quality or error changed, and per-group "poll completed at T"
// records that move the timestamps of a group's unchanged points with one record.
//
// Filled as things happen (DeviceSession reports through SessionContext::state_changed), so a
// delta costs what changed, never a scan of every device and point.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
  // The session's state, counters or points changed (or a poll of it completed).
  void mark(DeviceSession& s);
  // What changed since the previous take (`all`: every device and live point of `sessions`, no
  // polls: their points carry their own times). Resets the journal. Sessions unloaded since
  // they were marked are skipped.
  template <typename Sessions>
  SyncChanges take(bool all, const Sessions& sessions, const points::PointStore& store,
                   runtime::TimePoint now);

 private:
  void take_device(DeviceSession& s, bool force, SyncChanges& out, runtime::TimePoint now);
  // A marked session: the device when its state or counters changed, its points changed since
  // the last take, its polls completed. Skipped when unloaded since.
  void take_changed(DeviceSession& s, const points::PointStore& store, SyncChanges& out,
                    runtime::TimePoint now);
  void reset();
  std::vector<DeviceSession*> dirty_;
};

template <typename Sessions>
SyncChanges SyncJournal::take(bool all, const Sessions& sessions, const points::PointStore& store,
                              runtime::TimePoint now) {
  SyncChanges out;
  if (all) {
    for (const auto& s : sessions)
      take_device(*s, true, out, now);
    out.points = store.all_points();
  } else {
    for (DeviceSession* s : dirty_)
      take_changed(*s, store, out, now);
  }
  if (all)
    for (const auto& s : sessions)
      s->sync.sent_seq = store.seq();
  reset();
  return out;
}

}  // namespace pollux::engine
