// The engine's side of redundancy (redundancy.md "Roles and activity"; activity.hpp): going
// active or standby, draining, warm standby's held connections, and importing the active node's
// runtime state.
#include <algorithm>
#include <map>

#include "engine/engine.hpp"
#include "runtime/logging.hpp"

#include <spdlog/spdlog.h>

namespace pollux::engine {

void Engine::set_active(bool active, bool keep_tcp_open, std::function<void()> released) {
  const bool was = activity_.polls();
  if (drain_timer_) ex_.cancel(drain_timer_);
  drain_timer_ = {};
  if (!draining_.empty()) {  // activity changed again mid-drain: close what was waiting now
    for (const auto& id : draining_)
      remove_channel(id);
    draining_.clear();
    activity_.drained();
    if (auto done = std::exchange(drained_, {})) done();
  }
  if (!running_ || was == active) {
    if (active)
      activity_.activate();
    else
      activity_.stand_by(keep_tcp_open);
    if (released) released();
    return;
  }
  if (was && !active) {
    activity_.stand_by(keep_tcp_open);  // stops failover decisions at once
    for (auto& s : sessions_) {
      unschedule(*s);
      s->stop_polls();
    }
    std::vector<std::string> closing;
    int wait_ms = 0;
    for (const auto& [id, r] : runners_) {
      if (opens(r->config())) continue;
      if (r->in_flight() > 0) {
        draining_.push_back(id);
        wait_ms = std::max(wait_ms, r->config().timing.message_timeout_ms);
        for (const auto& s : sessions_)
          for (int n = 1; n <= 3; ++n)
            if (const auto* l = s->device().line(n); l && l->path.channel == id)
              wait_ms = std::max(wait_ms, l->path.timing.message_timeout_ms);
      } else {
        closing.push_back(id);
      }
    }
    if (!draining_.empty()) activity_.drain();
    for (const auto& id : closing)
      remove_channel(id);
    connect_ahead();
    spdlog::info("standby: {} channel(s) closed, {} waiting for an answer in flight",
                 closing.size(), draining_.size());
    if (draining_.empty()) {
      if (released) released();
      return;
    }
    drained_ = std::move(released);
    drain_deadline_ = ex_.now() + runtime::milliseconds(wait_ms + 20);
    drain();
  } else if (!was && active) {
    activity_.activate();
    opening_ = true;
    for (const auto& c : cfg_.channels)
      if (!runner(c.id)) add_channel(c);
    opening_ = false;
    connect_ahead();  // active: the held connections are simply used, no longer held
    for (auto& s : sessions_) {
      attach(*s);
      schedule(*s);
      s->on_channels();
    }
    spdlog::info("active: {} channel(s) open, polling {} device(s)", runners_.size(),
                 sessions_.size());
  }
}

void Engine::set_keep_tcp_open(bool keep) {
  if (activity_.polls() || keep == activity_.warm()) return;
  activity_.set_warm(keep);
  if (!running_) return;
  for (const auto& c : cfg_.channels) {
    if (c.type != config::ChannelType::tcp) continue;
    if (keep && !runner(c.id)) add_channel(c);
    // Nothing is in flight on a standby's TCP channel (it polls nothing), so it closes at once.
    if (!keep && std::find(draining_.begin(), draining_.end(), c.id) == draining_.end())
      remove_channel(c.id);
  }
  if (keep)
    for (auto& s : sessions_)
      attach(*s);
  connect_ahead();
  spdlog::info("standby is now {}", keep ? "warm (TCP connections held)" : "cold (TCP closed)");
}

void Engine::connect_ahead() {
  if (!running_) return;
  std::map<std::string, std::vector<transport::Target>> wanted;
  if (activity_.warm()) {
    // The active line only: a takeover starts on the line the active node last used (state
    // transfer), so that is the connect it saves; a failover path is needed only after
    // failures, whose detection dwarfs a connect, and devices with few connection slots are not
    // burdened with idle connections on paths nobody polls.
    for (const auto& s : sessions_) {
      if (!s->device().config().enabled) continue;
      const auto& line = s->device().active();
      wanted[line.path.channel].push_back(line.target);
    }
  }
  for (auto& [id, r] : runners_) {
    if (r->config().type != config::ChannelType::tcp) continue;
    auto it = wanted.find(id);
    if (it == wanted.end()) {
      r->link().connect_ahead({});
    } else {
      r->link().connect_ahead(it->second);
    }
  }
}

void Engine::drain() {
  drain_timer_ = {};
  const bool late = ex_.now() >= drain_deadline_;
  std::vector<std::string> waiting;
  for (const auto& id : draining_) {
    auto* r = runner(id);
    if (r && r->in_flight() > 0 && !late)
      waiting.push_back(id);
    else
      remove_channel(id);
  }
  draining_ = std::move(waiting);
  if (draining_.empty()) {
    activity_.drained();
    spdlog::info("standby: every channel closed");
    if (auto done = std::exchange(drained_, {})) done();
    return;
  }
  drain_timer_ = ex_.schedule_after(runtime::milliseconds(2), [this] { drain(); });
}

Engine::SyncChanges Engine::take_sync_changes(bool all) {
  return journal_.take(all, sessions_, ex_.now());
}

bool Engine::import_poll_done(const PollDone& p) {
  DeviceSession* s = find(p.device);
  if (!s) return false;
  for (auto& g : s->device().groups()) {
    if (g.config.name != p.group) continue;
    for (auto id : g.point_ids) {
      const auto& r = store_.get(id);
      // Same value, quality and error: only the timestamp moves (no change sequence).
      if (r.quality == points::PointQuality::good)
        store_.set_good(id, r.value, p.at);
      else if (r.timestamp)
        store_.set_bad(id, r.error, p.at);
    }
    return true;
  }
  return false;
}

bool Engine::import_device_runtime(const DeviceRuntime& r) {
  DeviceSession* s = find(r.id);
  if (!s) return false;
  const bool moved = s->import_runtime(r.ages, r.counters, r.last_success, r.comm_failed);
  // A warm standby follows the active node's line with its held connection.
  // Deferred to one pass after the whole transfer is applied.
  if (activity_.warm() && moved && !ahead_timer_)
    ahead_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
      ahead_timer_ = {};
      connect_ahead();
    });
  return true;
}

}  // namespace pollux::engine
