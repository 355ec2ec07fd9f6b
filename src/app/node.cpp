#include "app/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/prometheus.hpp"
#include "config/canonical.hpp"
#include "redundancy/state_codec.hpp"
#include "runtime/logging.hpp"

namespace pollux::app {

using nlohmann::json;
namespace rd = pollux::redundancy;
namespace prometheus = api::prometheus;

namespace {

constexpr std::string_view kStandby = "node is standby";

}  // namespace

Node::Node(boost::asio::io_context& io, runtime::Executor& ex, LinkFactory links,
           config::Config cfg, std::string version, Engine::ReloadSource reload_source,
           rd::LinkOptions options)
    : ex_(ex),
      engine_(ex, std::move(links), cfg, std::move(reload_source)),
      mode_(cfg.redundancy.mode),
      version_(std::move(version)),
      history_(ex, engine_),
      northbound_(ex, engine_,
                  [this](const std::string& device, const std::string& point,
                         const WriteValue& value, std::function<void(Outcome)> done) {
                    write(device, point, value, std::move(done));
                  }),
      stream_(ex, engine_, [this] { return redundancy().events; }) {
  // config.md "Reload" for the node-local `redundancy:` section: the mode is fixed for the
  // process (a controller cannot appear or change sides in place), so a reload changing it is
  // refused with "restart the node" and changes nothing; everything else applies live (see
  // apply_redundancy()).
  engine_.set_reload_check([this](const config::Config& neu) {
    if (controller_) return controller_->check_settings(neu.redundancy);
    std::vector<std::string> errors;
    if (neu.redundancy.mode != mode_)
      errors.push_back("redundancy.mode: " + std::string(config::to_string(mode_)) + " -> " +
                       std::string(config::to_string(neu.redundancy.mode)) +
                       " cannot change while running: restart the node");
    return errors;
  });
  engine_.set_reload_applied(
      [this](const config::RedundancySettings& before) { on_reload_applied(before); });
  northbound_.set_history([this] { return history_.get(); });
  if (mode_ == config::RedundancyMode::independent) return;
  const auto& rs = cfg.redundancy;
  delta_period_ = runtime::milliseconds(std::clamp(rs.heartbeat_interval_ms, 1, 100));
  if (options.node_name.empty()) options.node_name = cfg.node.name;
  controller_ = std::make_unique<rd::Controller>(io, ex, mode_, rs, hooks(), std::move(options));
  history_.set_peer(mode_, {[this](const rd::Message& m) { controller_->send(m); },
                            [this] { return controller_->peer_authenticated(); }});
  northbound_.set_peer_probe([this] { return controller_->peer_authenticated(); });
  broker_watch_ = std::make_unique<BrokerWatch>(ex, [this](bool alive) {
    if (controller_ && engine_.config().northbound) controller_->set_broker_path(alive);
  });
  // Until the machine says otherwise the node is standby: a master waits for its backup (or the
  // startup allowance), a backup for the master's silence.
  engine_.set_active(false, rs.standby == config::Standby::warm);
}

Node::~Node() {
  stop();
}

rd::Controller::Hooks Node::hooks() {
  rd::Controller::Hooks h;
  h.become_active = [this](std::string_view why) {
    spdlog::warn("becoming active ({}): opening channels", why);
    engine_.set_active(true);
    history_.set_active(true);
    northbound_.set_active(true);
    broker_watch_->set_ask_rebirth(false);
    // Deltas continue from the state we received; the peer resyncs from a full transfer.
    (void)engine_.take_sync_changes(false);
    // The peer learns our state at once rather than through a gap and a state_request.
    ex_.post([this] {
      if (controller_ && active() && controller_->peer_authenticated())
        controller_->send(build_full());
    });
  };
  h.go_standby = [this](std::string_view why, bool keep_tcp_open, std::function<void()> released) {
    spdlog::warn("going standby ({}): closing channels{}", why,
                 keep_tcp_open ? " (TCP connections kept)" : "");
    // `released` once the last answer in flight is in and every port is closed.
    engine_.set_active(false, keep_tcp_open, std::move(released));
    history_.set_active(false);
    northbound_.set_active(false);
    broker_watch_->set_ask_rebirth(true);
  };
  h.full_state = [this] { return build_full(); };
  h.on_sync = [this](const rd::Message& m) { on_sync(m); };
  h.config_to_sync = [this] {
    return rd::ConfigMessage{version_, config::canonical_text(engine_.config())};
  };
  h.summary = [this] {
    rd::LocalSummary s;
    s.config_version = version_;
    s.state_seq = state_seq_;
    return s;
  };
  h.on_transition = [](const rd::TransitionRecord&) {};
  return h;
}

void Node::start() {
  if (running_) return;
  running_ = true;
  engine_.start();
  history_.set_active(active());
  history_.configure(engine_.config());
  northbound_.set_active(active());
  configure_northbound();
  stream_.start();
  if (controller_) {
    spdlog::info("redundancy: {} ({} standby, recovery {})", config::to_string(mode_),
                 config::to_string(engine_.config().redundancy.standby),
                 config::to_string(engine_.config().redundancy.recovery));
    controller_->start();
    arm_delta_timer();
  }
}

void Node::stop() {
  if (!running_) return;
  running_ = false;
  if (delta_timer_) ex_.cancel(delta_timer_);
  delta_timer_ = {};
  if (broker_watch_) broker_watch_->stop();
  if (controller_) controller_->stop();
  northbound_.stop();
  stream_.stop();
  engine_.stop();
  history_.stop();
}

void Node::configure_northbound() {
  const config::Config& cfg = engine_.config();
  northbound_.configure(cfg);
  if (!broker_watch_) return;
  // Only a node that is active never asks for a rebirth: the session it would show is its own.
  broker_watch_->set_ask_rebirth(!active());
  broker_watch_->configure(cfg.northbound, cfg.node.name);
  controller_->set_broker_path(cfg.northbound ? std::optional<bool>(broker_watch_->alive())
                                              : std::nullopt);
}

bool Node::active() const {
  return !controller_ || controller_->activity() == rd::Activity::active;
}

// ------------------------------------------------------------------------ state transfer ---

rd::StateFull Node::build_full() {
  rd::StateFull f;
  const Engine::SyncChanges c = engine_.take_sync_changes(true);
  f.devices = rd::encode_devices(c.devices);
  f.points = rd::encode_points(engine_.store(), c.points);
  f.bd_seq = sent_bd_seq_ = northbound_.bd_seq();
  f.seq = ++state_seq_;
  ++fulls_sent_;
  return f;
}

rd::StateDelta Node::build_delta() {
  rd::StateDelta d;
  const Engine::SyncChanges c = engine_.take_sync_changes(false);
  d.devices = rd::encode_devices(c.devices);
  d.points = rd::encode_points(engine_.store(), c.points);
  // Completed polls: the receiver moves the timestamps of the group's unchanged points, which
  // the point entries (changes only) leave behind.
  d.polls = rd::encode_polls(c.polls);
  if (northbound_.bd_seq() != sent_bd_seq_) d.bd_seq = sent_bd_seq_ = northbound_.bd_seq();
  if (!d.devices.empty() || !d.points.empty() || !d.polls.empty() || d.bd_seq) d.seq = ++state_seq_;
  return d;
}

void Node::arm_delta_timer() {
  delta_timer_ = ex_.schedule_after(delta_period_, [this] {
    delta_timer_ = {};
    send_delta();
    if (running_) arm_delta_timer();
  });
}

void Node::send_delta() {
  if (!controller_ || !active()) return;
  if (!controller_->peer_authenticated()) return;
  rd::StateDelta d = build_delta();
  if (d.seq == 0) return;
  if (controller_->send(d)) ++deltas_sent_;
}

void Node::apply_state(const json& devices, const json& pts, const json& polls) {
  auto& store = engine_.store();
  try {
    // Poll times first: a point entry of the same message carries its own, exact time.
    for (const auto& j : polls)
      engine_.import_poll_done(rd::decode_poll(j));
    for (const auto& j : devices)
      engine_.import_device_runtime(rd::decode_device(j));
    for (const auto& j : pts) {
      const rd::PointUpdate p = rd::decode_point(j);
      auto id = store.find(p.device, p.name);
      if (!id) continue;  // a point our config does not have (config not yet in sync)
      const auto t = p.timestamp ? *p.timestamp : ex_.wall_now();
      if (!std::holds_alternative<std::monostate>(p.value)) store.set_good(*id, p.value, t);
      if (p.quality != points::PointQuality::good) store.set_bad(*id, p.error, t);
    }
  } catch (const json::exception& e) {
    runtime::named_logger("redundancy")
        ->warn("runtime state from the peer not applied: {}", e.what());
  }
}

void Node::apply_config(const rd::ConfigMessage& c) {
  if (mode_ != config::RedundancyMode::backup) return;
  if (sync_loading_) {  // one load at a time: the newest config waits for it
    if (c.version != *sync_loading_) sync_next_ = c;
    return;
  }
  if (c.version != version_) load_config(c);
}

void Node::load_config(const rd::ConfigMessage& c) {
  // Parsed and checked off the I/O thread, like a reload: a 10,000-device config takes
  // seconds, and this thread also keeps the heartbeat and the master's silence watchdog. Only
  // the node-local sections of the running config are needed (they are kept).
  config::Config local;
  local.node = engine_.config().node;
  local.api = engine_.config().api;
  local.redundancy = engine_.config().redundancy;
  auto loaded = std::make_shared<config::LoadResult>();
  sync_loading_ = c.version;
  ex_.offload(
      [text = c.canonical_text, local = std::move(local), loaded] {
        *loaded = config::load_synced(text, local, config::LoadOptions{.as_backup = true});
      },
      [this, alive = std::weak_ptr<int>(alive_), loaded] {
        if (alive.expired()) return;
        const std::string version = *std::exchange(sync_loading_, std::nullopt);
        if (auto next = std::exchange(sync_next_, std::nullopt)) {
          // A newer config came meanwhile: this one is already out of date.
          if (next->version == version_) return;
          if (next->version != version) return load_config(*next);
        }
        finish_config(version, std::move(*loaded));
      });
}

void Node::finish_config(const std::string& version, config::LoadResult r) {
  auto log = runtime::named_logger("redundancy");
  if (!r.ok()) {
    ++configs_refused_;
    sync_error_ = "config " + version + " from the master refused: " +
                  (r.errors.empty() ? std::string("invalid") : r.errors.front().to_string());
    log->error("{}", sync_error_);
    for (const auto& e : r.errors)
      log->error("{}", e.to_string());
    return;
  }
  log->info("config {} from the master (was {}): applying in place", version, version_);
  engine_.apply(std::move(*r.config));
  history_.configure(engine_.config());
  configure_northbound();
  version_ = r.version.empty() ? version : r.version;
  sync_error_.clear();
  ++configs_applied_;
  // Deltas sent before this config arrived skipped the points it adds: ask for everything.
  if (controller_ && !active() && controller_->peer_authenticated())
    controller_->send(rd::StateRequest{state_seq_});
}

void Node::on_sync(const rd::Message& m) {
  if (const auto* c = std::get_if<rd::ConfigMessage>(&m)) return apply_config(*c);
  if (std::holds_alternative<rd::HistoryForward>(m) ||
      std::holds_alternative<rd::HistoryForwarded>(m))
    return history_.on_message(m);
  // The active node's own state wins: only a standby takes the peer's.
  if (active()) return;
  if (const auto* f = std::get_if<rd::StateFull>(&m)) {
    apply_state(f->devices, f->points, json::array());
    if (f->bd_seq) northbound_.adopt_bd_seq(*f->bd_seq);
    state_seq_ = f->seq;
    ++states_applied_;
    runtime::named_logger("redundancy")
        ->info("full runtime state {} applied: {} device(s), {} point(s)", f->seq,
               f->devices.size(), f->points.size());
  } else if (const auto* d = std::get_if<rd::StateDelta>(&m)) {
    apply_state(d->devices, d->points, d->polls);
    if (d->bd_seq) northbound_.adopt_bd_seq(*d->bd_seq);
    state_seq_ = d->seq;
    ++states_applied_;
  }
}

// ------------------------------------------------------------------------------ NodeApi ---

HealthView Node::health() {
  HealthView h = engine_.health();
  h.role = std::string(config::to_string(mode_));
  h.activity = active() ? "active" : "standby";
  h.history = history_.health();
  return h;
}

std::vector<std::string> Node::device_ids() {
  return engine_.device_ids();
}
std::optional<DeviceView> Node::device(const std::string& id) {
  return engine_.device(id);
}
std::optional<std::vector<PointView>> Node::points(const std::string& device) {
  return engine_.points(device);
}
std::vector<ChannelView> Node::channels() {
  return engine_.channels();
}
std::vector<EventView> Node::events(std::uint64_t since) {
  return engine_.events(since);
}

Outcome Node::select_line(const std::string& id, int line) {
  if (standby()) return Outcome::failure(409, std::string(kStandby));
  return engine_.select_line(id, line);
}

Outcome Node::poll_now(const std::string& id) {
  if (standby()) return Outcome::failure(409, std::string(kStandby));
  return engine_.poll_now(id);
}

void Node::write(const std::string& id, const std::string& point, const WriteValue& value,
                 std::function<void(Outcome)> done) {
  if (standby()) return done(Outcome::failure(409, std::string(kStandby)));
  engine_.write(id, point, value, std::move(done));
}

Outcome Node::set_channel_enabled(const std::string& id, bool enabled) {
  if (standby()) return Outcome::failure(409, std::string(kStandby));
  return engine_.set_channel_enabled(id, enabled);
}

void Node::reload(ReloadDone done) {
  if (mode_ == config::RedundancyMode::backup) {
    ReloadOutcome out;
    out.outcome =
        Outcome::failure(403, "this node is a backup: its configuration comes from the master");
    out.version = version_;
    spdlog::warn("reload refused: {}", out.outcome.error);
    return done(std::move(out));
  }
  engine_.reload(std::move(done));  // on_reload_applied() runs before `done`
}

void Node::on_reload_applied(const config::RedundancySettings& before) {
  version_ = engine_.config_version();
  history_.configure(engine_.config());
  configure_northbound();
  apply_redundancy(before);
  if (reload_listener_) reload_listener_(engine_.config());
  // redundancy.md: the master sends its config on every change (the backup's next heartbeat
  // would ask too; sending now shortens the window).
  if (controller_ && controller_->peer_authenticated())
    controller_->send(rd::ConfigMessage{version_, config::canonical_text(engine_.config())});
}

void Node::apply_redundancy(const config::RedundancySettings& before) {
  if (!controller_) return;
  const auto& now = engine_.config().redundancy;
  std::vector<std::string> changed;
  const auto note = [&](bool differs, const char* what) {
    if (differs) changed.emplace_back(what);
  };
  note(before.heartbeat_interval_ms != now.heartbeat_interval_ms, "heartbeat_interval_ms");
  note(before.failover_timeout_ms != now.failover_timeout_ms, "failover_timeout_ms");
  note(before.recovery != now.recovery, "recovery");
  note(before.standby != now.standby, "standby");
  note(before.startup_allowance_ms != now.startup_allowance_ms, "startup_allowance_ms");
  note(before.psk != now.psk, "psk");
  note(before.listen != now.listen, "listen");
  note(before.master != now.master, "master");
  note(before.history != now.history, "history");
  if (changed.empty()) return;
  std::string list;
  for (const auto& c : changed)
    list += (list.empty() ? "" : ", ") + c;
  runtime::named_logger("redundancy")->info("reload: redundancy settings changed ({})", list);
  controller_->update_settings(now);
  delta_period_ = runtime::milliseconds(std::clamp(now.heartbeat_interval_ms, 1, 100));
  if (!active()) engine_.set_keep_tcp_open(controller_->machine().keep_tcp_open());
}

RedundancyView Node::redundancy() {
  if (!controller_) {
    RedundancyView v = engine_.redundancy();
    v.config_version = version_;
    return v;
  }
  const rd::RedundancyStatus s = controller_->status();
  RedundancyView v;
  v.mode = std::string(config::to_string(s.mode));
  v.activity = std::string(rd::to_string(s.activity));
  v.peer_connected = s.peer.connected;
  v.peer_authenticated = s.peer.authenticated;
  v.peer_address = s.peer.address;
  v.peer_last_heartbeat = s.peer.last_heartbeat;
  v.peer_activity = s.peer.peer_activity ? std::string(rd::to_string(*s.peer.peer_activity))
                                         : std::string("unknown");
  v.peer_via = s.peer_via;
  for (const auto& p : s.paths)
    v.paths.push_back({p.name, p.up, p.last_heard});
  v.config_version = version_;
  v.state_seq = state_seq_;
  v.last_error = !s.peer.last_error.empty() ? s.peer.last_error : sync_error_;
  for (const auto& e : s.events)
    v.events.push_back({e.seq, e.time, std::string(rd::to_string(e.from)),
                        std::string(rd::to_string(e.to)), e.reason});
  v.history = history_.redundancy_view();
  return v;
}

Outcome Node::force_failover() {
  if (!controller_) return engine_.force_failover();
  const rd::CommandResult r = controller_->force_failover();
  if (!r.accepted) return Outcome::failure(409, r.refusal);
  return Outcome::success(200);
}

Outcome Node::recover() {
  if (!controller_) return engine_.recover();
  const rd::CommandResult r = controller_->recover();
  if (!r.accepted) return Outcome::failure(409, r.refusal);
  return Outcome::success(200);
}

std::optional<api::NorthboundView> Node::northbound() {
  return northbound_.view();
}

void Node::history(const api::HistoryRequest& request,
                   std::function<void(api::HistoryAnswer)> done) {
  history_.query(request, std::move(done));
}

std::unique_ptr<BodySource> Node::metrics() {
  // The redundancy and history families come last, read when the engine's parts are all out.
  return api::followed_by(engine_.metrics(), [this] {
    return redundancy_metrics() + history_.metrics_text() + northbound_.metrics_text();
  });
}

std::string Node::redundancy_metrics() {
  if (!controller_) return {};
  const rd::RedundancyStatus s = controller_->status();
  prometheus::MetricsWriter w;
  w.gauge("pollux_redundancy_active", "1 while this node is active", {},
          s.activity == rd::Activity::active ? 1.0 : 0.0);
  w.gauge("pollux_redundancy_peer_connected", "1 while the peer link is up", {},
          s.peer.connected ? 1.0 : 0.0);
  w.gauge("pollux_redundancy_peer_authenticated", "1 while the peer link is authenticated", {},
          s.peer.authenticated ? 1.0 : 0.0);
  w.counter("pollux_redundancy_transitions_total", "Activity changes of this node", {},
            s.events.empty() ? 0 : s.events.back().seq);
  w.gauge("pollux_redundancy_state_seq", "Last runtime-state sequence sent or applied", {},
          static_cast<double>(state_seq_));
  w.counter("pollux_redundancy_state_deltas_sent_total", "Runtime-state deltas sent", {},
            deltas_sent_);
  w.counter("pollux_redundancy_state_full_sent_total", "Full runtime-state transfers sent", {},
            fulls_sent_);
  w.counter("pollux_redundancy_state_applied_total", "Runtime-state messages applied", {},
            states_applied_);
  w.counter("pollux_redundancy_config_applied_total", "Configs from the master applied", {},
            configs_applied_);
  w.counter("pollux_redundancy_config_refused_total", "Configs from the master refused", {},
            configs_refused_);
  return w.text();
}

}  // namespace pollux::app
