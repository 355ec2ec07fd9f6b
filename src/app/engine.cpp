#include "app/engine.hpp"

#include <algorithm>
#include <utility>

#include "config/canonical.hpp"
#include "config/diff.hpp"
#include "device/read_blocks.hpp"
#include "device/refused_ranges.hpp"
#include "failover/status.hpp"
#include "modbus/error.hpp"
#include "points/register_codec.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"

#include <spdlog/spdlog.h>

namespace pollux::app {

using device::Priority;
using device::RemoteDevice;

namespace {

Quality to_quality(points::PointQuality q) {
  switch (q) {
    case points::PointQuality::good:
      return Quality::good;
    case points::PointQuality::bad:
      return Quality::bad;
    case points::PointQuality::uncertain:
      return Quality::uncertain;
  }
  return Quality::bad;
}

ChannelStatus to_channel_status(transport::LinkStatus s) {
  switch (s) {
    case transport::LinkStatus::ok:
      return ChannelStatus::ok;
    case transport::LinkStatus::down:
      return ChannelStatus::down;
    case transport::LinkStatus::disabled:
      return ChannelStatus::disabled;
  }
  return ChannelStatus::down;
}

// api.md: 504 when the device never answered, 502 when it answered with an exception or a bad
// frame.
Outcome write_outcome(std::error_code ec) {
  if (!ec) return Outcome::success(200);
  std::string why = ec.message();
  if (ec.category() == modbus::exception_category()) return Outcome::failure(502, why);
  if (transport::counts_as_timeout(ec) || ec == modbus::Errc::connection_reset ||
      ec == transport::Errc::stopped || ec == transport::Errc::connect_failed ||
      ec == transport::Errc::max_connections)
    return Outcome::failure(504, why);
  return Outcome::failure(502, why);
}

points::Value to_value(const WriteValue& v) {
  return std::visit([](const auto& x) { return points::Value{x}; }, v);
}

}  // namespace

Engine::Engine(runtime::Executor& ex, LinkFactory links, config::Config cfg,
               ReloadSource reload_source)
    : ex_(ex),
      links_(std::move(links)),
      cfg_(std::move(cfg)),
      reload_source_(std::move(reload_source)),
      scheduler_(ex_, *this) {
  // on_poll_done() resumes every group whose due time was refused, and remove_channel() those
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
  if (drain_timer_) ex_.cancel(drain_timer_);
  drain_timer_ = {};
  if (ahead_timer_) ex_.cancel(ahead_timer_);
  ahead_timer_ = {};
  draining_.clear();
  scheduler_.stop();
  for (auto& [id, r] : runners_)
    r->stop();
  for (auto& rt : devices_)
    rt->dev->fail_all(make_error_code(transport::Errc::stopped));
}

// ---------------------------------------------------------------------------------- graph ---

bool Engine::opens(const config::Channel& c) const {
  return active_ || (keep_tcp_open_ && c.type == config::ChannelType::tcp);
}

void Engine::schedule(DeviceRt& rt) {
  if (!active_ || !rt.dev->config().enabled) return;
  unschedule(rt);
  for (std::uint32_t g = 0; g < rt.dev->groups().size(); ++g)
    rt.schedule.push_back(scheduler_.add(
        &rt, g, runtime::milliseconds(std::max(1, rt.dev->groups()[g].config.interval_ms))));
}

void Engine::unschedule(DeviceRt& rt) {
  for (auto h : rt.schedule) {
    rt.past_overruns += scheduler_.overruns(h);
    scheduler_.remove_entry(h);
  }
  rt.schedule.clear();
}

void Engine::add_channel(const config::Channel& c) {
  if (!opens(c)) return;  // standby: the active node owns the port
  auto r = std::make_unique<scheduler::ChannelRunner>(ex_, c, links_(c), *this);
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
  for (auto& rt : devices_)
    for (std::uint32_t g = 0; g < rt->schedule.size() && g < rt->dev->groups().size(); ++g)
      if (!rt->dev->groups()[g].in_progress) scheduler_.resume(rt->schedule[g]);
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

CommStatus Engine::comm_of(const DeviceRt& rt) const {
  const RemoteDevice& d = *rt.dev;
  bool switched_on_line = false;
  for (int n = 1; n <= 3; ++n)
    if (const auto* l = d.line(n)) {
      const auto s = channel_status(l->path.channel);
      switched_on_line = switched_on_line || (s && *s != transport::LinkStatus::disabled);
    }
  if (!d.enabled() || !switched_on_line) return CommStatus::disabled;
  return d.comm_failed ? CommStatus::failed : CommStatus::ok;
}

failover::Usable Engine::usable(const DeviceRt& rt) const {
  return failover::usable_lines(rt.settings,
                                [this](std::string_view ch) { return channel_usable(ch); });
}

Engine::DeviceRt* Engine::find(const std::string& id) {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Engine::DeviceRt* Engine::rt_of(const RemoteDevice& d) {
  return static_cast<DeviceRt*>(d.context);  // null once unloaded
}

void Engine::load_device(const config::Device& d, const failover::State* previous) {
  auto rt = std::make_unique<DeviceRt>();
  rt->dev = std::make_unique<RemoteDevice>(d);
  rt->settings = failover::Settings::from_config(d.comm);
  const auto now = ex_.now();
  std::optional<failover::LineChange> reload_change;
  if (previous) {
    rt->state = *previous;
    reload_change = failover::on_reload(rt->settings, rt->state, now);
  } else {
    rt->state = failover::initial_state(rt->settings, now);
  }
  rt->dev->last_success_wall = ex_.wall_now();  // failover.md: set on load/reload
  for (auto& g : rt->dev->groups()) {
    g.point_ids.clear();
    for (const auto& p : g.config.points)
      g.point_ids.push_back(store_.add(d.id, p.name));
  }
  for (std::size_t i = 0; i < failover::kStatusPointNames.size(); ++i)
    rt->status_points[i] = store_.add(d.id, failover::kStatusPointNames[i]);
  rt->poll_done.resize(rt->dev->groups().size());
  DeviceRt* raw = rt.get();
  raw->dev->context = raw;
  by_id_[raw->dev->id()] = raw;
  devices_.push_back(std::move(rt));
  sync_state(*raw);
  publish_status(*raw);
  if (reload_change) apply_change(*raw, *reload_change);
  for (int n = 1; n <= 3; ++n)
    if (auto* l = raw->dev->line(n))
      if (auto* r = runner(l->path.channel)) r->attach(raw->dev.get());
  schedule(*raw);
  // Start-up case of rule 2: a device whose active channel is unusable from the first moment.
  // A standby engine has no channels open: it leaves failover to the active node (a warm one
  // connects ahead to the device's TCP endpoint once its callers loaded every device).
  if (!active_) return;
  if (auto change = failover::on_channels(raw->settings, raw->state, usable(*raw), now))
    apply_change(*raw, *change);
}

void Engine::unload_device(const std::string& id) {
  DeviceRt* rt = find(id);
  if (!rt) return;
  auto it = std::find_if(devices_.begin(), devices_.end(),
                         [&](const auto& owned) { return owned.get() == rt; });
  by_id_.erase(rt->dev->id());
  unschedule(*rt);
  for (auto& [cid, r] : runners_)
    r->detach(rt->dev.get());
  rt->dev->fail_all(make_error_code(transport::Errc::stopped));
  store_.remove_device(id);
  rt->dev->context = nullptr;
  graveyard_.push_back(std::move(*it));
  devices_.erase(it);
}

void Engine::sync_state(DeviceRt& rt) {
  RemoteDevice& d = *rt.dev;
  d.active_line = d.line(rt.state.active_line) ? rt.state.active_line : 1;
  d.primary_failed_over = rt.state.primary_failed_over;
  d.failed_over_at = rt.state.failed_over_at;
}

void Engine::mark_sync(DeviceRt& rt) {
  if (rt.sync_queued) return;
  rt.sync_queued = true;
  sync_dirty_.push_back(&rt);
}

void Engine::publish_status(DeviceRt& rt) {
  mark_sync(rt);
  const auto v = failover::status_values(rt.settings, rt.state);
  const auto t = ex_.wall_now();
  store_.set_good(rt.status_points[0], std::string_view(v.sydevcomid), t);
  store_.set_good(rt.status_points[1], static_cast<std::int64_t>(v.sydevcomln), t);
  store_.set_good(rt.status_points[2], std::string_view(v.sydevpcom), t);
  store_.set_good(rt.status_points[3], static_cast<std::int64_t>(v.sydevprfo), t);
  store_.set_good(rt.status_points[4], std::string_view(v.sydevscom), t);
  store_.set_good(rt.status_points[5], std::string_view(v.sydevtcom), t);
}

void Engine::kick(DeviceRt& rt) {
  if (auto* r = runner(rt.dev->active().path.channel)) r->kick(*rt.dev);
}

void Engine::apply_change(DeviceRt& rt, const failover::LineChange& change) {
  const std::string from_channel =
      rt.dev->line(change.from) ? rt.dev->line(change.from)->path.channel : std::string();
  sync_state(rt);
  const auto& e = events_.push(ex_.wall_now(), rt.dev->id(), change);
  // Info, not warn: a line change is the system working as configured (the failures that
  // caused it were logged as they happened).
  runtime::device_logger(rt.dev->id())
      ->info("line {} -> {} ({}), event {}", change.from, change.to,
             failover::to_string(change.reason), e.seq);
  publish_status(rt);
  if (auto* r = runner(from_channel)) r->kick(*rt.dev);
  kick(rt);
}

// --------------------------------------------------------------------- runner callbacks ---

void Engine::before_cycle(RemoteDevice& d) {
  DeviceRt* rt = rt_of(d);
  if (!rt || !active_) return;
  if (auto change = failover::before_cycle(rt->settings, rt->state, usable(*rt), ex_.now()))
    apply_change(*rt, *change);
}

void Engine::on_block_ok(RemoteDevice& d, std::uint32_t group, std::uint32_t block,
                         const modbus::ResponseView& response) {
  auto& g = d.groups()[group];
  if (block >= g.blocks.size()) return;
  device::PlanBlock* pb = g.plan.find(g.blocks[block].plan_id);
  if (!pb) return;
  if (device::refused_answered(g, block, *pb))
    runtime::device_logger(d.id())->info("group {}: refused range {} (+{}) answers again",
                                         g.config.name, pb->start, pb->count);
  // The runner stamped this answer's arrival just before calling: no second clock read.
  const auto t = d.last_success_wall ? *d.last_success_wall : ex_.wall_now();
  device::for_each_value(g.config, *pb, response, [&](std::uint32_t point, points::Value v) {
    if (point < g.point_ids.size()) store_.set_good(g.point_ids[point], v, t);
  });
}

void Engine::on_poll_done(RemoteDevice& d, std::uint32_t group, std::error_code error,
                          std::uint32_t failed_block) {
  // A due time refused while this poll was pending parked the group: serve it again now.
  if (DeviceRt* rt = rt_of(d); rt && group < rt->schedule.size())
    scheduler_.resume(rt->schedule[group]);
  auto& g = d.groups()[group];
  // A poll ends well only on an answer, which the runner has just stamped.
  const auto t = !error && d.last_success_wall ? *d.last_success_wall : ex_.wall_now();
  if (DeviceRt* rt = rt_of(d); rt && group < rt->poll_done.size()) {
    rt->poll_done[group] = t;  // the standby moves the group's timestamps with one record
    mark_sync(*rt);
  }
  if (error) {
    const std::string why = error.message();
    for (auto id : g.point_ids)
      store_.set_bad(id, why, t);
    if (error == modbus::ExceptionCode::illegal_data_address && failed_block < g.blocks.size()) {
      // One bad address must not blank the group forever: the planner splits the block and
      // the next attempt asks for the halves.
      if (device::split_on_illegal_address(g.plan, g.blocks[failed_block].plan_id))
        runtime::device_logger(d.id())->info("group {}: block split after exception 02",
                                             g.config.name);
      else
        device::refused_found(g, d.config().refused_retry_s, ex_.now());
      device::rebuild_blocks(g);
    }
    if (device::refused_pending(g)) device::prepare_attempt(g, ex_.now());
    return;
  }
  if (device::refused_pending(g)) {
    const auto now = ex_.now();
    if (g.asking_refused) device::refused_asked(g, d.config(), now);
    device::prepare_attempt(g, now);
  }
  // Points the device refuses (a single-range block answered exception 02) or that no request
  // can read stay bad.
  for (const auto& b : g.plan.blocks)
    if (b.illegal_address)
      for (const auto& p : b.points)
        store_.set_bad(g.point_ids[p.point], "illegal data address", t);
  for (auto p : g.plan.unplannable)
    store_.set_bad(g.point_ids[p], "too wide to read", t);
}

bool Engine::on_message_failed(RemoteDevice& d, const device::Job& job, std::error_code error,
                               int line) {
  DeviceRt* rt = rt_of(d);
  if (!rt || !active_) return false;
  mark_sync(*rt);  // its counters changed
  failover::Usable u = usable(*rt);
  // A link fails its message in flight before it reports its new status (port vanished or
  // disabled). The error already says the channel is unusable: decide rule 1a now, so the
  // message follows the device under rule 4 instead of failing just before the rule 2 move.
  if (error == make_error_code(transport::Errc::channel_down) ||
      error == make_error_code(transport::Errc::channel_disabled)) {
    if (const auto* failed = d.line(line))
      for (int n = 1; n <= 3; ++n)
        if (const auto* l = d.line(n); l && l->path.channel == failed->path.channel)
          u[static_cast<std::size_t>(n - 1)] = false;
  }
  auto change = failover::on_message_failed(rt->settings, rt->state, u, line, ex_.now());
  if (!change) return false;
  apply_change(*rt, *change);
  if (!failover::requeue_failed_message(rt->settings, job.master_mode())) return false;
  // Rule 4: the failed message (and the rest of its poll attempt) goes first on the new line.
  device::Job retry = job;
  retry.priority = Priority::failover_retry;
  d.queue().push_front(retry);
  if (job.kind == device::JobKind::poll) d.groups()[job.group].in_progress = true;
  kick(*rt);
  return true;
}

void Engine::on_io_success(RemoteDevice& d, int line) {
  DeviceRt* rt = rt_of(d);
  if (!rt) return;
  mark_sync(*rt);  // last success and counters changed
  const bool prfo = rt->state.primary_failed_over;
  // The runner stamped the answer just before calling: no second clock read.
  failover::on_success(rt->state, line, d.last_success_at ? *d.last_success_at : ex_.now());
  sync_state(*rt);
  if (prfo != rt->state.primary_failed_over) publish_status(*rt);
}

void Engine::on_device_free(RemoteDevice& d) {
  if (DeviceRt* rt = rt_of(d)) kick(*rt);
}

void Engine::on_channel_status(const std::string& channel, transport::LinkStatus s) {
  auto log = runtime::channel_logger(channel);
  if (s == transport::LinkStatus::ok) {
    log->info("status ok");
  } else {
    log->warn("status {}", transport::to_string(s));
  }
  // A warm standby's idle TCP channel decides no failover; while set_active() opens channels one
  // by one, the first to report must not see the others as unusable (it decides once at the end).
  if (!active_ || opening_) return;
  const auto now = ex_.now();
  for (auto& rt : devices_) {
    bool uses = false;
    for (int n = 1; n <= 3; ++n)
      if (auto* l = rt->dev->line(n)) uses = uses || l->path.channel == channel;
    if (!uses) continue;
    if (auto change = failover::on_channels(rt->settings, rt->state, usable(*rt), now))
      apply_change(*rt, *change);
  }
}

bool Engine::on_poll_due(void* owner, std::uint32_t group) {
  auto* rt = static_cast<DeviceRt*>(owner);
  RemoteDevice& d = *rt->dev;
  if (!d.enabled() || group >= d.groups().size()) return true;
  if (d.demoted_until && ex_.now() < *d.demoted_until) {
    ++d.counters.polls_skipped;  // auto-demotion: not an overrun, a deliberate skip
    mark_sync(*rt);
    return true;
  }
  auto& g = d.groups()[group];
  if (g.in_progress) return false;
  if (device::refused_pending(g)) device::prepare_attempt(g, ex_.now());
  if (!d.enqueue_poll(group, Priority::scheduled)) return false;
  kick(*rt);
  return true;
}

// ------------------------------------------------------------------------------ NodeApi ---

HealthView Engine::health() {
  HealthView h;
  h.node = cfg_.node.name;
  h.role = std::string(config::to_string(cfg_.redundancy.mode));
  h.activity = "active";
  return h;
}

DeviceView Engine::view(const DeviceRt& rt) const {
  const RemoteDevice& d = *rt.dev;
  DeviceView v;
  v.id = d.id();
  v.enabled = d.enabled();
  v.unit = d.config().unit;
  v.auto_failover = rt.settings.auto_failover;
  v.active_line = d.active_line;
  v.active_channel = d.active().path.channel;
  for (int n = 1; n <= 3; ++n) {
    const auto* l = d.line(n);
    if (!l) continue;
    v.lines.push_back({n, l->path.channel, rt.settings.eligible(n), channel_usable(l->path.channel),
                       l->path.retry_primary_s});
  }
  v.primary_failed_over = rt.state.primary_failed_over;
  v.last_success = d.last_success_wall;
  v.last_good_line = rt.state.last_good_line;
  v.comm = comm_of(rt);
  const auto& c = d.counters;
  v.stats.messages_ok = c.messages_ok;
  v.stats.messages_failed = c.messages_failed;
  v.stats.exceptions = c.exceptions;
  v.stats.timeouts = c.timeouts;
  v.stats.crc_errors = c.crc_errors;
  v.stats.framing_errors = c.framing_errors;
  v.stats.polls_ok = c.polls_ok;
  v.stats.polls_failed = c.polls_failed;
  v.stats.demoted = d.demoted_until && ex_.now() < *d.demoted_until;
  v.stats.polls_skipped = c.polls_skipped;
  v.stats.overruns = overruns_of(rt);
  return v;
}

std::uint64_t Engine::overruns_of(const DeviceRt& rt) const {
  std::uint64_t n = rt.past_overruns;
  for (auto h : rt.schedule)
    n += scheduler_.overruns(h);
  return n;
}

std::vector<std::string> Engine::device_ids() {
  std::vector<std::string> out;
  out.reserve(devices_.size());
  for (const auto& rt : devices_)
    out.push_back(rt->dev->id());
  return out;
}

std::optional<DeviceView> Engine::device(const std::string& id) {
  if (auto* rt = find(id)) return view(*rt);
  return std::nullopt;
}

PointView Engine::point_view(points::PointId id) const {
  const auto& r = store_.get(id);
  PointView p;
  p.device = r.device;
  p.name = r.name;
  p.value = r.value;
  p.quality = to_quality(r.quality);
  p.timestamp = r.timestamp;
  if (r.quality != points::PointQuality::good) p.error = r.error;
  return p;
}

std::optional<std::vector<PointView>> Engine::points(const std::string& device) {
  if (!find(device)) return std::nullopt;
  std::vector<PointView> out;
  for (auto id : store_.device_points(device))
    out.push_back(point_view(id));
  return out;
}

std::vector<ChannelView> Engine::channels() {
  std::vector<ChannelView> out;
  for (const auto& c : cfg_.channels) {
    auto* r = runner(c.id);
    ChannelView v;
    v.id = c.id;
    v.type = std::string(config::to_string(c.type));
    v.protocol = std::string(config::to_string(c.protocol));
    if (!r) {  // closed on a standby node
      v.enabled = c.enabled;
      v.status = ChannelStatus::down;
      out.push_back(std::move(v));
      continue;
    }
    v.enabled = r->config().enabled;
    v.status = to_channel_status(r->link().status());
    const auto& k = r->counters();
    v.stats = {{"messages", k.messages},
               {"answers", k.answers},
               {"failures", k.failures},
               {"queued", r->queued()},
               {"in_flight", r->in_flight()}};
    for (auto& s : r->link().stats())
      v.stats.push_back(std::move(s));
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<EventView> Engine::events(std::uint64_t since) {
  std::vector<EventView> out;
  for (const auto& e : events_.since(since))
    out.push_back(
        {e.seq, e.time, e.device, e.from, e.to, std::string(failover::to_string(e.reason))});
  return out;
}

Outcome Engine::select_line(const std::string& id, int line) {
  DeviceRt* rt = find(id);
  if (!rt) return Outcome::failure(404, "unknown device " + id);
  if (line < 1 || line > 3) return Outcome::failure(400, "line must be 1..3");
  auto sel = failover::select_line(rt->settings, rt->state, usable(*rt), line, ex_.now());
  if (!sel.accepted()) return Outcome::failure(409, sel.refusal);
  if (sel.change) apply_change(*rt, *sel.change);
  return Outcome::success(200);
}

Outcome Engine::poll_now(const std::string& id) {
  DeviceRt* rt = find(id);
  if (!rt) return Outcome::failure(404, "unknown device " + id);
  if (!rt->dev->enabled()) return Outcome::failure(409, "device is disabled");
  const auto now = ex_.now();
  for (std::uint32_t g = 0; g < rt->dev->groups().size(); ++g) {
    auto& group = rt->dev->groups()[g];
    // A poll-now asks the refused ranges too (api.md settled).
    device::ask_refused_now(group);
    if (!group.in_progress) device::prepare_attempt(group, now);
    rt->dev->enqueue_poll(g, Priority::on_demand);
  }
  kick(*rt);
  return Outcome::success(202);
}

void Engine::write(const std::string& id, const std::string& point, const WriteValue& value,
                   std::function<void(Outcome)> done) {
  DeviceRt* rt = find(id);
  if (!rt) return done(Outcome::failure(404, "unknown device " + id));
  RemoteDevice& d = *rt->dev;
  const config::Point* cfg_point = nullptr;
  std::optional<std::uint32_t> group;
  for (std::uint32_t g = 0; g < d.groups().size() && !cfg_point; ++g)
    for (const auto& p : d.groups()[g].config.points)
      if (p.name == point) {
        cfg_point = &p;
        group = g;
        break;
      }
  // Refusals say why in words, naming the point and the value (api.md "Settled details").
  if (!cfg_point) {
    const auto& status = failover::kStatusPointNames;
    if (std::find(status.begin(), status.end(), point) != status.end())
      return done(Outcome::failure(400, point + " is a status point"));
    return done(Outcome::failure(404, "unknown point " + point));
  }
  const auto& w = d.config().writable;
  if (std::find(w.begin(), w.end(), point) == w.end())
    return done(Outcome::failure(
        400, point + " is not writable: it is not in the 'writable' list of " + id));
  if (!d.enabled()) return done(Outcome::failure(409, "device is disabled"));
  modbus::Request req;
  if (auto ec = device::plan_write(*cfg_point, to_value(value), req))
    return done(Outcome::failure(400, points::describe_refusal(*cfg_point, to_value(value), ec)));
  auto log = runtime::device_logger(id);
  log->info("write {} = {}", point, points::to_string(to_value(value)));
  d.enqueue_write(
      req, [this, id, g = *group, log, done = std::move(done)](const device::WriteResult& r) {
        if (r.error) {
          log->warn("write failed: {}", r.error.message());
        } else if (DeviceRt* rt2 = find(id)) {
          // Read the point back soon so its shown value reflects the write.
          rt2->dev->enqueue_poll(g, Priority::on_demand);
          kick(*rt2);
        }
        done(write_outcome(r.error));
      });
  kick(*rt);
}

Outcome Engine::set_channel_enabled(const std::string& id, bool enabled) {
  auto* r = runner(id);
  if (!r) return Outcome::failure(404, "unknown channel " + id);
  runtime::channel_logger(id)->info("{} by operator", enabled ? "enabled" : "disabled");
  r->set_enabled(enabled);
  return Outcome::success(200);
}

void Engine::reload(ReloadDone done) {
  if (!reload_source_) {
    ReloadOutcome out;
    out.outcome = Outcome::failure(400, "no configuration file to reload");
    out.version = version_;
    return done(std::move(out));
  }
  reload_waiting_.push_back(std::move(done));
  if (!reload_loading_) start_reload_load();
}

void Engine::start_reload_load() {
  reload_loading_ = true;
  auto waiting = std::make_shared<std::vector<ReloadDone>>(std::exchange(reload_waiting_, {}));
  auto loaded = std::make_shared<config::LoadResult>();
  const auto started = ex_.now();
  ex_.offload([source = reload_source_, loaded] { *loaded = source(); },
              [this, alive = std::weak_ptr<int>(alive_), waiting, loaded, started] {
                if (alive.expired()) return;
                const auto read = ex_.now();
                const ReloadOutcome out = apply_loaded(std::move(*loaded));
                spdlog::info(
                    "reload: file read and checked in {} ms off the I/O thread, {} in {} ms",
                    runtime::to_ms(read - started), out.outcome.ok() ? "applied" : "refused",
                    runtime::to_ms(ex_.now() - read));
                reload_loading_ = false;
                for (auto& done : *waiting)
                  done(out);
                if (!reload_waiting_.empty()) start_reload_load();
              });
}

ReloadOutcome Engine::apply_loaded(config::LoadResult result) {
  ReloadOutcome out;
  std::vector<std::string> vetoes;
  if (result.ok() && reload_check_) vetoes = reload_check_(*result.config);
  if (!result.ok() || !vetoes.empty()) {
    ++reload_failures_;
    for (const auto& e : result.errors)
      out.errors.push_back(e.to_string());
    for (auto& v : vetoes)
      out.errors.push_back(std::move(v));
    spdlog::error("reload refused: {} error(s); the running configuration is unchanged",
                  out.errors.size());
    for (const auto& e : out.errors)
      spdlog::error("{}", e);
    out.outcome =
        Outcome::failure(400, result.ok() ? "configuration cannot be applied to the running node"
                                          : "invalid configuration");
    out.version = version_;
    return out;
  }
  const config::RedundancySettings before = cfg_.redundancy;
  apply(std::move(*result.config), std::move(result.version));
  if (reload_applied_) reload_applied_(before);
  out.outcome = Outcome::success(200);
  out.version = version_;
  return out;
}

void Engine::apply(config::Config neu, std::string version) {
  ++reloads_;
  const auto changed_ch = config::changed_channels(cfg_, neu);
  const auto removed_ch = config::removed_channels(cfg_, neu);
  const auto changed_dev = config::changed_devices(cfg_, neu);
  const auto removed_dev = config::removed_devices(cfg_, neu);
  std::map<std::string, failover::State> previous;
  for (const auto& id : removed_dev)
    unload_device(id);
  for (const auto& id : changed_dev) {
    if (DeviceRt* rt = find(id)) {
      previous[id] = rt->state;
      unload_device(id);
    }
  }
  for (const auto& id : removed_ch)
    remove_channel(id);
  for (const auto& id : changed_ch)
    remove_channel(id);
  cfg_.node = neu.node;
  cfg_.api = neu.api;
  cfg_.redundancy = neu.redundancy;
  for (const auto& id : changed_ch)
    if (const auto* c = neu.find_channel(id)) add_channel(*c);
  // Position of each device in the new config: where to find it, and the order of devices_.
  std::unordered_map<std::string_view, std::size_t> position;
  for (std::size_t i = 0; i < neu.devices.size(); ++i)
    position.emplace(neu.devices[i].id, i);
  for (const auto& id : changed_dev) {
    const auto at = position.find(id);
    if (at == position.end()) continue;
    auto it = previous.find(id);
    load_device(neu.devices[at->second], it == previous.end() ? nullptr : &it->second);
  }
  // Keep devices_ in the new config's order (every device left is in it).
  auto rank = [&](const std::unique_ptr<DeviceRt>& rt) {
    const auto it = position.find(rt->dev->id());
    return it == position.end() ? position.size() : it->second;
  };
  std::stable_sort(devices_.begin(), devices_.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  cfg_ = std::move(neu);
  version_ = version.empty() ? config::config_version(cfg_) : std::move(version);
  connect_ahead();  // a warm standby holds the (re)loaded devices' endpoints too
  spdlog::info(
      "reload applied: version {}, {} device(s) (re)loaded, {} removed, {} channel(s) "
      "(re)opened, {} removed",
      version_, changed_dev.size(), removed_dev.size(), changed_ch.size(), removed_ch.size());
}

// ------------------------------------------------------------------- redundancy hooks ---

void Engine::set_active(bool active, bool keep_tcp_open, std::function<void()> released) {
  const bool was = active_;
  active_ = active;
  keep_tcp_open_ = !active && keep_tcp_open;
  if (drain_timer_) ex_.cancel(drain_timer_);
  drain_timer_ = {};
  if (!draining_.empty()) {  // activity changed again mid-drain: close what was waiting now
    for (const auto& id : draining_)
      remove_channel(id);
    draining_.clear();
    if (auto done = std::exchange(drained_, {})) done();
  }
  if (!running_ || was == active) {
    if (released) released();
    return;
  }
  if (was && !active) {
    for (auto& rt : devices_) {
      unschedule(*rt);
      rt->dev->fail_all(make_error_code(transport::Errc::stopped));
      for (auto& g : rt->dev->groups())
        g.in_progress = false;
    }
    std::vector<std::string> closing;
    int wait_ms = 0;
    for (const auto& [id, r] : runners_) {
      if (opens(r->config())) continue;
      if (r->in_flight() > 0) {
        draining_.push_back(id);
        wait_ms = std::max(wait_ms, r->config().timing.message_timeout_ms);
        for (const auto& rt : devices_)
          for (int n = 1; n <= 3; ++n)
            if (const auto* l = rt->dev->line(n); l && l->path.channel == id)
              wait_ms = std::max(wait_ms, l->path.timing.message_timeout_ms);
      } else {
        closing.push_back(id);
      }
    }
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
    opening_ = true;
    for (const auto& c : cfg_.channels)
      if (!runner(c.id)) add_channel(c);
    opening_ = false;
    connect_ahead();  // active: the held connections are simply used, no longer held
    const auto now = ex_.now();
    for (auto& rt : devices_) {
      for (int n = 1; n <= 3; ++n)
        if (auto* l = rt->dev->line(n))
          if (auto* r = runner(l->path.channel)) r->attach(rt->dev.get());
      schedule(*rt);
      if (auto change = failover::on_channels(rt->settings, rt->state, usable(*rt), now))
        apply_change(*rt, *change);
    }
    spdlog::info("active: {} channel(s) open, polling {} device(s)", runners_.size(),
                 devices_.size());
  }
}

void Engine::set_keep_tcp_open(bool keep) {
  if (active_ || keep == keep_tcp_open_) return;
  keep_tcp_open_ = keep;
  if (!running_) return;
  for (const auto& c : cfg_.channels) {
    if (c.type != config::ChannelType::tcp) continue;
    if (keep && !runner(c.id)) add_channel(c);
    // Nothing is in flight on a standby's TCP channel (it polls nothing), so it closes at once.
    if (!keep && std::find(draining_.begin(), draining_.end(), c.id) == draining_.end())
      remove_channel(c.id);
  }
  if (keep) {
    for (auto& rt : devices_)
      for (int n = 1; n <= 3; ++n)
        if (auto* l = rt->dev->line(n))
          if (auto* r = runner(l->path.channel)) r->attach(rt->dev.get());
  }
  connect_ahead();
  spdlog::info("standby is now {}", keep ? "warm (TCP connections held)" : "cold (TCP closed)");
}

void Engine::connect_ahead() {
  if (!running_) return;
  const bool hold = !active_ && keep_tcp_open_;
  std::map<std::string, std::vector<transport::Target>> wanted;
  if (hold) {
    // The active line only: a takeover starts on the line the active node last used (state
    // transfer), so that is the connect it saves; a failover path is needed only after
    // failures, whose detection dwarfs a connect, and devices with few connection slots are not
    // burdened with idle connections on paths nobody polls.
    for (const auto& rt : devices_) {
      if (!rt->dev->config().enabled) continue;
      const auto& line = rt->dev->active();
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
    spdlog::info("standby: every channel closed");
    if (auto done = std::exchange(drained_, {})) done();
    return;
  }
  drain_timer_ = ex_.schedule_after(runtime::milliseconds(2), [this] { drain(); });
}

Engine::SyncChanges Engine::take_sync_changes(bool all) {
  SyncChanges out;
  const auto now = ex_.now();
  const auto same = [](const device::DeviceCounters& a, const device::DeviceCounters& b) {
    return a.messages_ok == b.messages_ok && a.messages_failed == b.messages_failed &&
           a.exceptions == b.exceptions && a.timeouts == b.timeouts &&
           a.crc_errors == b.crc_errors && a.framing_errors == b.framing_errors &&
           a.polls_ok == b.polls_ok && a.polls_failed == b.polls_failed &&
           a.polls_skipped == b.polls_skipped && a.overruns == b.overruns;
  };
  const auto take_device = [&](DeviceRt& rt, bool force) {
    const auto& c = rt.dev->counters;
    if (force || rt.sent_state != rt.state || !same(rt.sent_counters, c)) {
      rt.sent_state = rt.state;
      rt.sent_counters = c;
      out.devices.push_back({rt.dev->id(), failover::export_ages(rt.state, now), c,
                             rt.dev->last_success_wall, rt.dev->comm_failed});
    }
  };
  if (all) {
    for (auto& rt : devices_) {
      take_device(*rt, true);
      rt->sent_seq = store_.seq();
    }
    out.points = store_.all_points();
  } else {
    for (DeviceRt* rt : sync_dirty_) {
      if (!rt_of(*rt->dev)) continue;  // unloaded since (the graveyard)
      take_device(*rt, false);
      const auto changed = [&](points::PointId id) {
        if (store_.get(id).seq > rt->sent_seq) out.points.push_back(id);
      };
      auto& groups = rt->dev->groups();
      for (std::uint32_t g = 0; g < groups.size(); ++g) {
        for (auto id : groups[g].point_ids)
          changed(id);
        if (g < rt->poll_done.size() && rt->poll_done[g])
          out.polls.push_back({rt->dev->id(), groups[g].config.name, *rt->poll_done[g]});
      }
      for (auto id : rt->status_points)
        changed(id);
      rt->sent_seq = store_.seq();
    }
  }
  for (DeviceRt* rt : sync_dirty_) {
    rt->sync_queued = false;
    for (auto& p : rt->poll_done)
      p.reset();
  }
  sync_dirty_.clear();
  return out;
}

bool Engine::import_poll_done(const PollDone& p) {
  DeviceRt* rt = find(p.device);
  if (!rt) return false;
  for (auto& g : rt->dev->groups()) {
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
  DeviceRt* rt = find(r.id);
  if (!rt) return false;
  const int line_before = rt->dev->active_line;
  rt->state = failover::import_ages(rt->settings, r.ages, ex_.now());
  rt->dev->counters = r.counters;
  if (r.last_success) rt->dev->last_success_wall = r.last_success;
  rt->dev->comm_failed = r.comm_failed;
  sync_state(*rt);
  publish_status(*rt);
  // A warm standby follows the active node's line with its held connection.
  // Deferred to one pass after the whole transfer is applied.
  if (!active_ && keep_tcp_open_ && rt->dev->active_line != line_before && !ahead_timer_)
    ahead_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
      ahead_timer_ = {};
      connect_ahead();
    });
  return true;
}

RedundancyView Engine::redundancy() {
  RedundancyView v;
  v.mode = std::string(config::to_string(cfg_.redundancy.mode));
  v.activity = "active";
  v.config_version = version_;
  return v;
}

Outcome Engine::force_failover() {
  return Outcome::failure(409, "no redundancy peer on this node");
}

Outcome Engine::recover() {
  return Outcome::failure(409, "no redundancy peer on this node");
}

}  // namespace pollux::app
