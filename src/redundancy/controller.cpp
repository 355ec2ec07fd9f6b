#include "redundancy/controller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "runtime/logging.hpp"

namespace pollux::redundancy {

Controller::Controller(boost::asio::io_context& io, runtime::Executor& executor,
                       config::RedundancyMode mode, const config::RedundancySettings& settings,
                       Hooks hooks, LinkOptions options)
    : executor_(executor), machine_(mode, settings), hooks_(std::move(hooks)) {
  LinkCallbacks cb;
  cb.on_event = [this](const LinkEvent& e) { on_link_event(e); };
  cb.on_message = [this](const Message& m) { on_peer_message(m); };
  cb.local_summary = [this] {
    LocalSummary s = hooks_.summary ? hooks_.summary() : LocalSummary{};
    s.activity = machine_.advertised_activity();
    return s;
  };
  switch (mode) {
    case config::RedundancyMode::master:
      link_ = MasterLink::create(io, executor, settings, std::move(cb), std::move(options));
      break;
    case config::RedundancyMode::backup:
      link_ = BackupLink::create(io, executor, settings, std::move(cb), std::move(options));
      break;
    case config::RedundancyMode::independent:
      throw std::invalid_argument("redundancy controller: an independent node has no peer");
  }
}

Controller::~Controller() {
  *alive_ = false;
  stop();
}

void Controller::start() {
  apply(machine_.start(executor_.now()));
  link_->start();
}

void Controller::stop() {
  if (timer_) executor_.cancel(timer_);
  timer_ = {};
  link_->stop();
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

bool Controller::send(const Message& m) {
  return link_->send(m);
}

std::vector<std::string> Controller::check_settings(
    const config::RedundancySettings& settings) const {
  std::vector<std::string> errors;
  if (settings.mode != machine_.mode())
    errors.push_back("redundancy.mode: " + std::string(config::to_string(machine_.mode())) +
                     " -> " + std::string(config::to_string(settings.mode)) +
                     " cannot change while running: restart the node");
  if (std::string why = link_->check_settings(settings); !why.empty())
    errors.push_back(std::move(why));
  return errors;
}

void Controller::update_settings(const config::RedundancySettings& settings) {
  machine_.update_settings(settings);
  link_->update_settings(settings);
  rearm();
}

void Controller::on_link_event(const LinkEvent& e) {
  const auto now = executor_.now();
  switch (e.kind) {
    case LinkEventKind::connected:
      apply(machine_.on_connected(now));
      break;
    case LinkEventKind::authenticated:
      receiver_.reset();
      config_sent_.clear();
      apply(machine_.on_authenticated(now));
      // First connect: the active node sends its whole runtime state.
      if (machine_.activity() == Activity::active && hooks_.full_state)
        link_->send(hooks_.full_state());
      break;
    case LinkEventKind::auth_failed:
      apply(machine_.on_auth_failed(now));
      break;
    case LinkEventKind::disconnected:
    case LinkEventKind::connect_failed:
      apply(machine_.on_link_down(now));
      break;
  }
}

void Controller::on_peer_message(const Message& m) {
  const auto now = executor_.now();
  if (const auto* hb = std::get_if<Heartbeat>(&m)) {
    if (hooks_.config_to_sync && machine_.mode() == config::RedundancyMode::master) {
      const std::string mine = hooks_.summary ? hooks_.summary().config_version : std::string();
      if (hb->config_version != mine && config_sent_ != mine) {
        ConfigMessage c = hooks_.config_to_sync();
        config_sent_ = mine;  // once per version and connection: a refusing backup is not flooded
        link_->send(c);
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
    if (hooks_.full_state) link_->send(hooks_.full_state());
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
      link_->send(StateRequest{receiver_.applied().value_or(0)});
      break;
    case StateReceiver::Verdict::ignore:
      break;
  }
}

TransitionRecord Controller::record(const Transition& t) const {
  // Wall time of a past monotonic instant: the executor pairs now() with wall_now().
  const auto age = executor_.now() - t.time;
  return TransitionRecord{
      t.seq, executor_.wall_now() - std::chrono::duration_cast<runtime::WallTime::duration>(age),
      t.from, t.to, t.reason};
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
        if (hooks_.full_state) link_->send(hooks_.full_state());
        break;
      case EffectKind::send_handover_request:
        link_->send(HandoverRequest{e.reason});
        break;
      case EffectKind::send_handover_ack:
        link_->send(HandoverAck{e.reason});
        break;
      case EffectKind::send_handover_done:
        link_->send(HandoverDone{e.reason});
        break;
    }
  }
  rearm();
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
  s.peer = link_->status();
  for (const Transition& t : machine_.transitions())
    s.events.push_back(record(t));
  return s;
}

}  // namespace pollux::redundancy
