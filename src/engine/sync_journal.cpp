#include "engine/sync_journal.hpp"

#include <algorithm>

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

SyncJournal::SyncJournal(points::ChangeFeed& feed, const points::PointStore& store)
    : feed_(feed), store_(store), sub_(feed.subscribe()) {}

void SyncJournal::mark(DeviceSession& s) {
  if (s.sync.queued) return;
  s.sync.queued = true;
  dirty_.push_back(&s);
}

SyncChanges SyncJournal::take(bool all, const std::vector<std::unique_ptr<DeviceSession>>& sessions,
                              runtime::TimePoint now) {
  SyncChanges out;
  if (all) {
    for (const auto& s : sessions)
      take_device(*s, true, out, now);
  } else {
    for (DeviceSession* s : dirty_)
      if (s->device().context) take_device(*s, false, out, now);  // not unloaded since
  }
  take_points(all, out);
  if (!all) {
    for (DeviceSession* s : dirty_) {
      if (!s->device().context) continue;
      auto& groups = s->device().groups();
      for (std::uint32_t g = 0; g < groups.size() && g < s->sync.poll_done.size(); ++g)
        if (s->sync.poll_done[g])
          out.polls.push_back({s->id(), groups[g].config.name, *s->sync.poll_done[g]});
    }
  }
  reset();
  return out;
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

void SyncJournal::take_points(bool all, SyncChanges& out) {
  bool lost = false;
  for (;;) {
    const auto r = feed_.read(sub_, 4096, [&](const points::Change& c) {
      if (!all && c.kind == points::ChangeKind::update) out.points.push_back(c.point);
    });
    lost = lost || r.lost;
    if (r.count == 0) break;
  }
  if (lost && !all) ++resyncs_;
  if (all || lost) {
    out.points = store_.all_points();
    return;
  }
  // A point that changed several times goes once, with its state now; a removed device's
  // points are no longer live (the peer drops them with the config).
  std::sort(out.points.begin(), out.points.end());
  out.points.erase(std::unique(out.points.begin(), out.points.end()), out.points.end());
  std::erase_if(out.points, [&](points::PointId id) { return store_.get(id).removed; });
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
