#include "engine/engine.hpp"

#include <algorithm>
#include <utility>

#include "config/canonical.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"

#include <spdlog/spdlog.h>

namespace pollux::engine {

using device::RemoteDevice;

Engine::Engine(runtime::Executor& ex, LinkFactory links, config::Config cfg,
               ReloadSource reload_source)
    : ex_(ex),
      links_(std::move(links)),
      cfg_(std::move(cfg)),
      reload_source_(std::move(reload_source)),
      feed_(ex_),
      journal_(feed_, store_),
      scheduler_(ex_, *this) {
  store_.attach_feed(&feed_);
  // poll_ended() resumes every group whose due time was refused, and remove_channel() those
  // whose poll a closed channel dropped.
  scheduler_.enable_parking();
  version_ = config::config_version(cfg_);
}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  if (running_) return;
  running_ = true;
  spdlog::info("node {}: {} channel(s), {} device(s), config version {}", cfg_.node.name,
               cfg_.channels.size(), cfg_.devices.size(), version_);
  for (const auto& c : cfg_.channels)
    add_channel(c);
  for (const auto& d : cfg_.devices)
    load_device(d, nullptr);
  connect_ahead();
}

void Engine::stop() {
  if (!running_) return;
  running_ = false;
  for (auto* timer : {&drain_timer_, &ahead_timer_, &moved_timer_}) {
    if (*timer) ex_.cancel(*timer);
    *timer = {};
  }
  draining_.clear();
  moved_.clear();
  scheduler_.stop();
  for (auto& [id, r] : runners_)
    r->stop();
  for (auto& s : sessions_)
    s->device().fail_all(make_error_code(transport::Errc::stopped));
}

// ---------------------------------------------------------------------------------- graph ---

void Engine::schedule(DeviceSession& s) {
  if (!activity_.polls() || !s.device().config().enabled) return;
  unschedule(s);
  for (std::uint32_t g = 0; g < s.device().groups().size(); ++g)
    s.schedule.push_back(scheduler_.add(
        &s, g, runtime::milliseconds(std::max(1, s.device().groups()[g].config.interval_ms))));
}

void Engine::unschedule(DeviceSession& s) {
  for (auto h : s.schedule) {
    s.past_overruns += scheduler_.overruns(h);
    scheduler_.remove_entry(h);
  }
  s.schedule.clear();
}

void Engine::add_channel(const config::Channel& c) {
  if (!opens(c)) return;  // standby: the active node owns the port
  auto r = std::make_unique<scheduler::ChannelRunner>(
      ex_, c, links_(c), static_cast<scheduler::RunnerHandler&>(*this),
      [this](const std::string& channel, transport::LinkStatus s) {
        on_channel_status(channel, s);
      });
  auto* raw = r.get();
  runners_[c.id] = std::move(r);
  runtime::channel_logger(c.id)->info(
      "{} {} {}{}", config::to_string(c.type), config::to_string(c.protocol),
      c.type == config::ChannelType::tcp ? "multipoint" : c.port, c.enabled ? "" : " (disabled)");
  raw->start();
  // Serial and modem links report their first status as they open; a TCP MultiPoint channel
  // is ok from the start (its devices fail on their own), so say so once.
  if (c.type == config::ChannelType::tcp && raw->link().status() == transport::LinkStatus::ok)
    runtime::channel_logger(c.id)->info("status ok");
}

void Engine::remove_channel(const std::string& id) {
  auto it = runners_.find(id);
  if (it == runners_.end()) return;
  it->second->stop();
  runners_.erase(it);
  // stop() dropped the polls in flight without ending them: groups parked behind them resume.
  for (auto& s : sessions_)
    for (std::uint32_t g = 0; g < s->schedule.size() && g < s->device().groups().size(); ++g)
      if (!s->device().groups()[g].in_progress) scheduler_.resume(s->schedule[g]);
}

scheduler::ChannelRunner* Engine::runner(const std::string& channel) {
  auto it = runners_.find(channel);
  return it == runners_.end() ? nullptr : it->second.get();
}

std::optional<transport::LinkStatus> Engine::channel_status(std::string_view channel) const {
  auto it = runners_.find(std::string(channel));
  if (it == runners_.end()) return std::nullopt;
  return it->second->link().status();
}

bool Engine::channel_usable(std::string_view channel) const {
  return channel_status(channel) == transport::LinkStatus::ok;
}

failover::Usable Engine::usable(const failover::Settings& settings) const {
  return failover::usable_lines(settings,
                                [this](std::string_view ch) { return channel_usable(ch); });
}

DeviceSession* Engine::find(const std::string& id) {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void Engine::attach(DeviceSession& s) {
  for (int n = 1; n <= 3; ++n)
    if (auto* l = s.device().line(n))
      if (auto* r = runner(l->path.channel)) r->attach(&s.device());
}

void Engine::load_device(const config::Device& d, const failover::State* previous) {
  auto owned =
      std::make_unique<DeviceSession>(d, static_cast<SessionContext&>(*this), store_, previous);
  DeviceSession& s = *owned;
  by_id_[s.id()] = &s;
  sessions_.push_back(std::move(owned));
  s.apply_pending_reload_change();
  attach(s);
  schedule(s);
  // Start-up case of rule 2: a device whose active channel is unusable from the first moment.
  // A standby engine has no channels open: it leaves failover to the active node (a warm one
  // connects ahead to the device's TCP endpoint once its callers loaded every device).
  if (activity_.polls()) s.on_channels();
}

void Engine::unload_device(const std::string& id) {
  DeviceSession* s = find(id);
  if (!s) return;
  auto it = std::find_if(sessions_.begin(), sessions_.end(),
                         [&](const auto& owned) { return owned.get() == s; });
  by_id_.erase(s->id());
  unschedule(*s);
  for (auto& [cid, r] : runners_)
    r->detach(&s->device());
  s->device().fail_all(make_error_code(transport::Errc::stopped));
  store_.remove_device(id);
  s->device().context = nullptr;
  graveyard_.push_back(std::move(*it));
  sessions_.erase(it);
}

void Engine::kick(DeviceSession& s) {
  if (auto* r = runner(s.active_channel())) r->kick(s.device());
}

void Engine::kick_later(DeviceSession& s) {
  moved_.push_back(&s);
  if (moved_timer_) return;
  moved_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
    moved_timer_ = {};
    for (DeviceSession* m : std::exchange(moved_, {}))
      if (m->device().context) kick(*m);  // not unloaded meanwhile
  });
}

void Engine::line_changed(DeviceSession& s, const failover::LineChange& change,
                          const std::string& from_channel) {
  const auto& e = events_.push(ex_.wall_now(), s.id(), change);
  // Info, not warn: a line change is the system working as configured (the failures that
  // caused it were logged as they happened).
  runtime::device_logger(s.id())->info("line {} -> {} ({}), event {}", change.from, change.to,
                                       failover::to_string(change.reason), e.seq);
  if (auto* r = runner(from_channel)) r->kick(s.device());
  kick(s);
}

// ------------------------------------------------------------------ the message path ---

void Engine::before_cycle(RemoteDevice& d) {
  if (DeviceSession* s = session_of(d)) s->before_cycle();
}

std::optional<device::Job> Engine::on_outcome(const device::MessageOutcome& o) {
  DeviceSession* s = session_of(o.device);
  if (!s) return std::nullopt;
  auto next = s->on_outcome(o);
  // Its line moved to another channel meanwhile (failover, an operator): that channel's runner
  // skipped it as busy, or gets the re-queued job, so it must look again once this runner is
  // done with it.
  if (o.kind != device::MessageOutcome::Kind::dropped && s->active_channel() != o.channel)
    kick_later(*s);
  return next;
}

void Engine::poll_ended(DeviceSession& s, std::uint32_t group) {
  // A due time refused while this poll was pending parked the group: serve it again now.
  if (group < s.schedule.size()) scheduler_.resume(s.schedule[group]);
  journal_.mark(s);
}

void Engine::on_channel_status(const std::string& channel, transport::LinkStatus st) {
  auto log = runtime::channel_logger(channel);
  if (st == transport::LinkStatus::ok) {
    log->info("status ok");
  } else {
    log->warn("status {}", transport::to_string(st));
  }
  // A warm standby's idle TCP channel decides no failover; while set_active() opens channels one
  // by one, the first to report must not see the others as unusable (it decides once at the end).
  if (!activity_.polls() || opening_) return;
  for (auto& s : sessions_)
    if (s->uses_channel(channel)) s->on_channels();
}

bool Engine::on_poll_due(void* owner, std::uint32_t group) {
  auto* s = static_cast<DeviceSession*>(owner);
  if (!s->poll_due(group)) return false;
  kick(*s);
  return true;
}

}  // namespace pollux::engine
