#include "engine/sync_journal.hpp"

#include "engine/device_session.hpp"

namespace pollux::engine {

namespace {

bool same(const device::DeviceCounters& a, const device::DeviceCounters& b) {
  return a.messages_ok == b.messages_ok && a.messages_failed == b.messages_failed &&
         a.exceptions == b.exceptions && a.timeouts == b.timeouts && a.crc_errors == b.crc_errors &&
         a.framing_errors == b.framing_errors && a.polls_ok == b.polls_ok &&
         a.polls_failed == b.polls_failed && a.polls_skipped == b.polls_skipped &&
         a.overruns == b.overruns;
}

}  // namespace

void SyncJournal::mark(DeviceSession& s) {
  if (s.sync.queued) return;
  s.sync.queued = true;
  dirty_.push_back(&s);
}

void SyncJournal::take_device(DeviceSession& s, bool force, SyncChanges& out,
                              runtime::TimePoint now) {
  auto& m = s.sync;
  const auto& c = s.device().counters;
  if (force || m.sent_state != s.state() || !same(m.sent_counters, c)) {
    m.sent_state = s.state();
    m.sent_counters = c;
    out.devices.push_back({s.id(), failover::export_ages(s.state(), now), c,
                           s.device().last_success_wall, s.device().comm_failed});
  }
}

void SyncJournal::take_changed(DeviceSession& s, const points::PointStore& store, SyncChanges& out,
                               runtime::TimePoint now) {
  if (!s.device().context) return;  // unloaded since it was marked
  take_device(s, false, out, now);
  const auto changed = [&](points::PointId id) {
    if (store.get(id).seq > s.sync.sent_seq) out.points.push_back(id);
  };
  auto& groups = s.device().groups();
  for (std::uint32_t g = 0; g < groups.size(); ++g) {
    for (auto id : groups[g].point_ids)
      changed(id);
    if (g < s.sync.poll_done.size() && s.sync.poll_done[g])
      out.polls.push_back({s.id(), groups[g].config.name, *s.sync.poll_done[g]});
  }
  for (auto id : s.status_points())
    changed(id);
  s.sync.sent_seq = store.seq();
}

void SyncJournal::reset() {
  for (DeviceSession* s : dirty_) {
    s->sync.queued = false;
    for (auto& p : s->sync.poll_done)
      p.reset();
  }
  dirty_.clear();
}

}  // namespace pollux::engine
