#include "redundancy/controller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "runtime/logging.hpp"

namespace pollux::redundancy {

namespace {

bool has_alt(const config::RedundancySettings& s, config::RedundancyMode mode) {
  return mode == config::RedundancyMode::master ? !s.listen_alt.empty() : !s.master_alt.empty();
}

// The second link's settings: the same pair, another address.
config::RedundancySettings alt_settings(config::RedundancySettings s) {
  s.listen = s.listen_alt;
  s.master = s.master_alt;
  return s;
}

}  // namespace

Controller::Controller(boost::asio::io_context& io, runtime::Executor& executor,
                       config::RedundancyMode mode, const config::RedundancySettings& settings,
                       Hooks hooks, LinkOptions options)
    : io_(io),
      executor_(executor),
      machine_(mode, settings),
      hooks_(std::move(hooks)),
      options_(std::move(options)) {
  if (mode == config::RedundancyMode::independent)
    throw std::invalid_argument("redundancy controller: an independent node has no peer");
  paths_.push_back(std::make_unique<Path>(Path{"link", nullptr, std::nullopt}));
  paths_.back()->link = make_link(settings, options_);
  if (has_alt(settings, mode)) {
    paths_.push_back(std::make_unique<Path>(Path{"link_alt", nullptr, std::nullopt}));
    paths_.back()->link = make_link(alt_settings(settings), options_);
  }
}

std::shared_ptr<PeerLink> Controller::make_link(const config::RedundancySettings& settings,
                                                LinkOptions options) {
  const std::size_t index = paths_.size() - 1;  // the path being made
  LinkCallbacks cb;
  cb.on_event = [this, index](const LinkEvent& e) { on_link_event(*paths_[index], e); };
  cb.on_message = [this, index](const Message& m) { on_peer_message(*paths_[index], m); };
  cb.local_summary = [this] {
    LocalSummary s = hooks_.summary ? hooks_.summary() : LocalSummary{};
    s.activity = machine_.advertised_activity();
    return s;
  };
  if (machine_.mode() == config::RedundancyMode::master)
    return MasterLink::create(io_, executor_, settings, std::move(cb), std::move(options));
  return BackupLink::create(io_, executor_, settings, std::move(cb), std::move(options));
}

Controller::~Controller() {
  *alive_ = false;
  stop();
}

void Controller::start() {
  apply(machine_.start(executor_.now()));
  watch_stalls();
  for (auto& p : paths_)
    p->link->start();
}

void Controller::stop() {
  if (timer_) executor_.cancel(timer_);
  timer_ = {};
  if (stall_watch_) executor_.unwatch_stalls(stall_watch_);
  stall_watch_ = 0;
  for (auto& p : paths_)
    p->link->stop();
}

CommandResult Controller::force_failover() {
  CommandResult r = machine_.force_failover(executor_.now());
  apply(r.decision);
  return r;
}

CommandResult Controller::recover() {
  CommandResult r = machine_.recover(executor_.now());
  apply(r.decision);
  return r;
}

Controller::Path* Controller::sending_path() {
  for (auto& p : paths_)
    if (p->link->status().authenticated) return p.get();
  return nullptr;
}

const Controller::Path* Controller::sending_path() const {
  return const_cast<Controller*>(this)->sending_path();
}

bool Controller::peer_authenticated() const {
  return sending_path() != nullptr;
}

std::size_t Controller::paths_where(bool (*pred)(const LinkStatus&)) const {
  return static_cast<std::size_t>(std::count_if(
      paths_.begin(), paths_.end(), [pred](const auto& p) { return pred(p->link->status()); }));
}

bool Controller::send(const Message& m) {
  Path* p = sending_path();
  return p != nullptr && p->link->send(m);
}

void Controller::set_broker_path(std::optional<bool> peer_alive) {
  if (peer_alive == broker_alive_) return;
  if (broker_alive_.value_or(false)) broker_ended_ = executor_.wall_now();
  broker_alive_ = peer_alive;
  apply(machine_.on_broker_path(executor_.now(), peer_alive.value_or(false)));
}

std::vector<std::string> Controller::check_settings(
    const config::RedundancySettings& settings) const {
  std::vector<std::string> errors;
  if (settings.mode != machine_.mode())
    errors.push_back("redundancy.mode: " + std::string(config::to_string(machine_.mode())) +
                     " -> " + std::string(config::to_string(settings.mode)) +
                     " cannot change while running: restart the node");
  if (std::string why = paths_.front()->link->check_settings(settings); !why.empty())
    errors.push_back(std::move(why));
  if (has_alt(settings, machine_.mode()) && paths_.size() > 1) {
    if (std::string why = paths_[1]->link->check_settings(alt_settings(settings)); !why.empty())
      errors.push_back(std::move(why));
  }
  return errors;
}

void Controller::update_settings(const config::RedundancySettings& settings) {
  machine_.update_settings(settings);
  if (stall_watch_) watch_stalls();  // the threshold follows the timers
  paths_.front()->link->update_settings(settings);
  const bool want_alt = has_alt(settings, machine_.mode());
  if (want_alt && paths_.size() > 1) {
    paths_[1]->link->update_settings(alt_settings(settings));
  } else if (want_alt) {
    paths_.push_back(std::make_unique<Path>(Path{"link_alt", nullptr, std::nullopt}));
    paths_.back()->link = make_link(alt_settings(settings), options_);
    paths_.back()->link->start();
  } else if (paths_.size() > 1) {
    // Dropped from the config: its events no longer reach the machine, so tell it as a link
    // down when it was the last link up.
    paths_[1]->link->stop();
    paths_.pop_back();
    if (paths_where([](const LinkStatus& l) { return l.connected; }) == 0)
      apply(machine_.on_link_down(executor_.now()));
  }
  rearm();
}

// The machine sees one link: the first to connect or authenticate, and the last to go down.
// The link reports its own status before the event, so "others" counts the paths besides this.
void Controller::on_link_event(Path& path, const LinkEvent& e) {
  const auto now = executor_.now();
  const auto others = [&](bool (*pred)(const LinkStatus&)) {
    return paths_where(pred) - (pred(path.link->status()) ? 1 : 0);
  };
  const auto authenticated = [](const LinkStatus& l) { return l.authenticated; };
  const auto connected = [](const LinkStatus& l) { return l.connected; };
  switch (e.kind) {
    case LinkEventKind::connected:
      if (others(connected) == 0) apply(machine_.on_connected(now));
      break;
    case LinkEventKind::authenticated:
      path.last_heard = now;
      if (others(authenticated) > 0) {
        apply(machine_.on_peer_heard(now, std::nullopt));
        break;
      }
      receiver_.reset();
      config_sent_.clear();
      apply(machine_.on_authenticated(now));
      // First connect: the active node sends its whole runtime state.
      if (machine_.activity() == Activity::active && hooks_.full_state)
        path.link->send(hooks_.full_state());
      break;
    case LinkEventKind::auth_failed:
      if (others(authenticated) == 0) apply(machine_.on_auth_failed(now));
      break;
    case LinkEventKind::disconnected:
    case LinkEventKind::connect_failed:
      if (others(connected) == 0) apply(machine_.on_link_down(now));
      break;
  }
}

void Controller::on_peer_message(Path& path, const Message& m) {
  const auto now = executor_.now();
  path.last_heard = now;
  if (const auto* hb = std::get_if<Heartbeat>(&m)) {
    if (hooks_.config_to_sync && machine_.mode() == config::RedundancyMode::master) {
      const std::string mine = hooks_.summary ? hooks_.summary().config_version : std::string();
      if (hb->config_version != mine && config_sent_ != mine) {
        ConfigMessage c = hooks_.config_to_sync();
        config_sent_ = mine;  // once per version and connection: a refusing backup is not flooded
        send(c);
      }
    }
    apply(machine_.on_peer_heard(now, hb->activity));
    return;
  }
  if (const auto* ack = std::get_if<HeartbeatAck>(&m)) {
    apply(machine_.on_peer_heard(now, ack->activity));
    return;
  }
  apply(machine_.on_peer_heard(now, std::nullopt));
  if (const auto* r = std::get_if<HandoverRequest>(&m)) {
    apply(machine_.on_handover_request(now, r->reason));
  } else if (const auto* a = std::get_if<HandoverAck>(&m)) {
    apply(machine_.on_handover_ack(now, a->reason));
  } else if (std::holds_alternative<HandoverDone>(m)) {
    apply(machine_.on_handover_done(now));
  } else if (std::holds_alternative<StateRequest>(m)) {
    if (hooks_.full_state) send(hooks_.full_state());
  } else if (const auto* full = std::get_if<StateFull>(&m)) {
    on_state(m, receiver_.on_full(full->seq));
  } else if (const auto* delta = std::get_if<StateDelta>(&m)) {
    on_state(m, receiver_.on_delta(delta->seq));
  } else if (hooks_.on_sync) {
    hooks_.on_sync(m);
  }
}

void Controller::on_state(const Message& m, StateReceiver::Verdict v) {
  switch (v) {
    case StateReceiver::Verdict::apply:
      if (hooks_.on_sync) hooks_.on_sync(m);
      break;
    case StateReceiver::Verdict::request_full:
      runtime::named_logger("redundancy")
          ->info("state gap at seq {}: asking for a full transfer", std::get<StateDelta>(m).seq);
      send(StateRequest{receiver_.applied().value_or(0)});
      break;
    case StateReceiver::Verdict::ignore:
      break;
  }
}

// Wall time of a past monotonic instant: the executor pairs now() with wall_now().
runtime::WallTime Controller::wall_time_of(runtime::TimePoint t) const {
  const auto age = executor_.now() - t;
  return executor_.wall_now() - std::chrono::duration_cast<runtime::WallTime::duration>(age);
}

TransitionRecord Controller::record(const Transition& t) const {
  return TransitionRecord{t.seq, wall_time_of(t.time), t.from, t.to, t.reason};
}

void Controller::apply(const Decision& d) {
  auto log = runtime::named_logger("redundancy");
  for (const Transition& t : d.transitions) {
    log->info("activity {} -> {} ({})", to_string(t.from), to_string(t.to), t.reason);
    if (hooks_.on_transition) hooks_.on_transition(record(t));
  }
  for (const Effect& e : d.effects) {
    switch (e.kind) {
      case EffectKind::become_active:
        if (hooks_.become_active) hooks_.become_active(e.reason);
        break;
      case EffectKind::go_standby: {
        std::weak_ptr<bool> alive = alive_;
        auto released = [this, alive] {
          // Posted so the machine never re-enters itself from inside a hook.
          executor_.post([this, alive] {
            if (auto a = alive.lock(); a && *a) apply(machine_.on_released(executor_.now()));
          });
        };
        if (hooks_.go_standby)
          hooks_.go_standby(e.reason, e.keep_tcp_open, std::move(released));
        else
          released();
        break;
      }
      case EffectKind::send_full_state:
        if (hooks_.full_state) send(hooks_.full_state());
        break;
      case EffectKind::send_handover_request:
        send(HandoverRequest{e.reason});
        break;
      case EffectKind::send_handover_ack:
        send(HandoverAck{e.reason});
        break;
      case EffectKind::send_handover_done:
        send(HandoverDone{e.reason});
        break;
    }
  }
  rearm();
}

void Controller::watch_stalls() {
  if (stall_watch_) executor_.unwatch_stalls(stall_watch_);
  stall_watch_ = executor_.watch_stalls(machine_.stall_threshold(), [this](runtime::Duration late) {
    apply(machine_.on_stalled(executor_.now(), late));
  });
}

void Controller::rearm() {
  if (timer_) executor_.cancel(timer_);
  timer_ = {};
  const auto due = machine_.next_deadline();
  if (!due) return;
  std::weak_ptr<bool> alive = alive_;
  // A deadline already passed when armed is due now, not late (machine.hpp, on_timer).
  const auto on_time = std::max(*due, executor_.now());
  timer_ = executor_.schedule_at(*due, [this, alive, on_time] {
    if (auto a = alive.lock(); !a || !*a) return;
    timer_ = {};
    apply(machine_.on_timer(executor_.now(), executor_.now() - on_time));
  });
}

RedundancyStatus Controller::status() const {
  RedundancyStatus s;
  s.mode = machine_.mode();
  s.activity = machine_.activity();
  s.keep_tcp_open = machine_.keep_tcp_open();
  s.applied_state_seq = receiver_.applied();
  const Path* in_use = sending_path();
  s.peer = (in_use ? in_use : paths_.front().get())->link->status();
  if (s.peer.last_error.empty())
    for (const auto& p : paths_)
      if (s.peer.last_error.empty()) s.peer.last_error = p->link->status().last_error;
  if (in_use)
    s.peer_via = in_use->name;
  else if (broker_alive_.value_or(false))
    s.peer_via = "broker";
  for (const auto& p : paths_) {
    PathStatus ps{p->name, p->link->status().authenticated, std::nullopt};
    if (p->last_heard) ps.last_heard = wall_time_of(*p->last_heard);
    s.paths.push_back(std::move(ps));
  }
  if (broker_alive_) {
    // While alive the session vouches for the peer now; else the last word was when it ended.
    const bool up = *broker_alive_;
    s.paths.push_back({"broker", up, up ? executor_.wall_now() : broker_ended_});
  }
  for (const Transition& t : machine_.transitions())
    s.events.push_back(record(t));
  return s;
}

}  // namespace pollux::redundancy
