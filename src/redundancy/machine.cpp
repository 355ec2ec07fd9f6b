#include "redundancy/machine.hpp"

#include <algorithm>

namespace pollux::redundancy {

using config::RedundancyMode;
using runtime::TimePoint;

std::string_view to_string(EffectKind k) {
  switch (k) {
    case EffectKind::become_active:
      return "become_active";
    case EffectKind::go_standby:
      return "go_standby";
    case EffectKind::send_full_state:
      return "send_full_state";
    case EffectKind::send_handover_request:
      return "send_handover_request";
    case EffectKind::send_handover_ack:
      return "send_handover_ack";
    case EffectKind::send_handover_done:
      return "send_handover_done";
  }
  return "unknown";
}

Machine::Machine(RedundancyMode mode, const config::RedundancySettings& settings)
    : mode_(mode),
      settings_(settings),
      activity_(mode == RedundancyMode::independent ? Activity::active : Activity::standby) {}

runtime::Duration Machine::timeout() const {
  return runtime::milliseconds(settings_.failover_timeout_ms);
}

Decision Machine::start(TimePoint now) {
  Decision d;
  if (started_ || mode_ == RedundancyMode::independent) return d;
  started_ = true;
  started_at_ = now;
  last_heard_ = now;
  if (is_master()) {
    phase_ = Phase::startup;
    master_back_pending_ = true;
    phase_deadline_ = now + runtime::milliseconds(settings_.startup_allowance_ms);
  }
  return d;
}

void Machine::update_settings(const config::RedundancySettings& settings) {
  settings_ = settings;
  if (phase_ == Phase::startup)
    phase_deadline_ = started_at_ + runtime::milliseconds(settings_.startup_allowance_ms);
}

void Machine::record(Decision& d, TimePoint now, Activity to, std::string_view why) {
  Transition t{next_seq_++, now, activity_, to, std::string(why)};
  history_.push_back(t);
  if (history_.size() > kHistory) history_.pop_front();
  d.transitions.push_back(std::move(t));
}

void Machine::change(Decision& d, TimePoint now, Activity to, std::string_view why) {
  if (to == activity_) return;
  record(d, now, to, why);
  activity_ = to;
  if (to == Activity::active) master_back_pending_ = false;
  if (to == Activity::active) {
    d.effects.push_back({EffectKind::become_active, std::string(why), true});
  } else {
    d.effects.push_back(
        {EffectKind::go_standby, std::string(why), settings_.standby == config::Standby::warm});
  }
}

void Machine::give(Decision& d, TimePoint now, std::string_view why) {
  // The taker starts from our latest state, so send it while we still own it.
  d.effects.push_back({EffectKind::send_full_state, std::string(why), true});
  change(d, now, Activity::standby, why);
  phase_ = Phase::giving;
  phase_reason_ = why;
  phase_deadline_ = now + timeout();
}

void Machine::request(Decision& d, TimePoint now, std::string_view why) {
  d.effects.push_back({EffectKind::send_handover_request, std::string(why), false});
  phase_ = Phase::requested;
  phase_reason_ = why;
  phase_deadline_ = now + timeout();
}

void Machine::take(Decision& d, TimePoint now, std::string_view why) {
  phase_ = Phase::none;
  master_back_pending_ = false;
  change(d, now, Activity::active, why);
  d.effects.push_back({EffectKind::send_handover_done, std::string(why), false});
}

bool Machine::handover_in_progress() const {
  return phase_ == Phase::giving || phase_ == Phase::gave || phase_ == Phase::requested;
}

Activity Machine::advertised_activity() const {
  return phase_ == Phase::giving ? Activity::active : activity_;
}

bool Machine::keep_tcp_open() const {
  return activity_ == Activity::active || settings_.standby == config::Standby::warm;
}

Decision Machine::on_connected(TimePoint now) {
  if (!connected_) connected_since_ = now;
  connected_ = true;
  return {};
}

Decision Machine::on_authenticated(TimePoint now) {
  if (!connected_) connected_since_ = now;
  connected_ = true;
  authenticated_ = true;
  auth_hold_ = false;
  withheld_ = false;
  last_heard_ = now;
  return {};
}

Decision Machine::on_peer_heard(TimePoint now, std::optional<Activity> peer_activity) {
  Decision d;
  if (mode_ == RedundancyMode::independent) return d;
  last_heard_ = now;
  auth_hold_ = false;
  withheld_ = false;
  if (peer_activity) {
    peer_activity_ = peer_activity;
    evaluate_peer(d, now);
  }
  return d;
}

// Rules that depend on what the peer reports (transitions 1 and 3, and the split-brain rule).
void Machine::evaluate_peer(Decision& d, TimePoint now) {
  if (!peer_activity_ || handover_in_progress()) return;
  const bool peer_active = *peer_activity_ == Activity::active;
  if (is_master()) {
    if (activity_ == Activity::active) return;  // a backup that is active too yields
    if (!peer_active) {
      // Nobody polls: take activity at once (transition 1, "backup connected and standby").
      phase_ = Phase::none;
      master_back_pending_ = false;
      change(d, now, Activity::active, reason::backup_standby);
      return;
    }
    if (phase_ == Phase::startup) phase_ = Phase::none;  // the backup answered: decided
    if (!master_back_pending_) return;
    if (settings_.recovery == config::Recovery::manual) {
      master_back_pending_ = false;  // stay standby until recover (transitions 1 and 3)
      return;
    }
    // Stays pending until the backup acknowledges, so a lost request is asked again.
    request(d, now, reason::master_back);
    return;
  }
  // Backup: the master wins when both are active.
  if (activity_ == Activity::active && peer_active)
    change(d, now, Activity::standby, reason::master_active);
}

Decision Machine::on_auth_failed(TimePoint now) {
  if (mode_ == RedundancyMode::independent) return {};
  // The peer answered, so it is alive: this restarts the silence clock and holds off takeover.
  last_heard_ = now;
  auth_hold_ = true;
  connected_ = false;
  authenticated_ = false;
  peer_activity_.reset();
  return {};
}

Decision Machine::on_link_down(TimePoint) {
  connected_ = false;
  authenticated_ = false;
  auth_hold_ = false;
  peer_activity_.reset();
  return {};
}

Decision Machine::on_broker_path(TimePoint now, bool peer_alive) {
  if (mode_ == RedundancyMode::independent || peer_alive == broker_alive_) return {};
  broker_alive_ = peer_alive;
  if (!peer_alive) {
    // The peer was alive until now: its silence starts here, and it gets a whole timeout.
    last_heard_ = std::max(last_heard_, now);
    withheld_ = false;
  }
  return {};
}

void Machine::withhold(Decision& d, TimePoint now) {
  withheld_ = true;
  record(d, now, activity_,
         is_master() ? reason::backup_alive_via_broker : reason::master_alive_via_broker);
}

std::optional<TimePoint> Machine::next_deadline() const {
  if (!started_ || mode_ == RedundancyMode::independent) return std::nullopt;
  switch (phase_) {
    case Phase::startup:
      return startup_deadline();
    case Phase::giving:
    case Phase::gave:
    case Phase::requested:
      return phase_deadline_;
    case Phase::none:
      break;
  }
  if (activity_ == Activity::standby && !auth_hold_ && !withheld_) return last_heard_ + timeout();
  return std::nullopt;
}

// Transitions 1 and 5: a backup that is connecting (handshake running, or authenticated but its
// first heartbeat not yet in) when the allowance runs out may well be active, so the master
// waits to hear its activity rather than open ports beside it. The wait is bounded by
// failover_timeout_ms from the connection: by then the link has dropped an unfinished handshake
// or a silent peer, and a dropped link ends the wait at once (the allowance is long past).
TimePoint Machine::startup_deadline() const {
  if (connected_ && !peer_activity_) return std::max(phase_deadline_, connected_since_ + timeout());
  return phase_deadline_;
}

Decision Machine::on_timer(TimePoint now, runtime::Duration late) {
  Decision d;
  const bool silence_due = phase_ == Phase::none && activity_ == Activity::standby;
  if (silence_due && late > runtime::milliseconds(settings_.heartbeat_interval_ms)) {
    last_heard_ = now;  // this node was away: its own pause is no proof of the peer's silence
    return d;
  }
  // A handover timeout can expose an already expired silence deadline, so loop until stable.
  for (int round = 0; round < 3; ++round) {
    const auto due = next_deadline();
    if (!due || *due > now) break;
    switch (phase_) {
      case Phase::startup:
        phase_ = Phase::none;
        if (broker_alive_) {
          // The backup publishes for the pair: it is active, the link just cannot say so.
          withhold(d, now);
          break;
        }
        change(d, now, Activity::active, reason::startup_allowance_expired);
        break;
      case Phase::giving:
      case Phase::gave:
      case Phase::requested: {
        const Phase was = phase_;
        phase_ = Phase::none;
        // Transition 6: an unfinished handover leaves the master active. A backup that gave
        // stays standby; a requester keeps what it had.
        if (is_master() && was != Phase::requested)
          change(d, now, Activity::active, reason::handover_timeout);
        break;
      }
      case Phase::none:
        if (broker_alive_) {
          withhold(d, now);
          break;
        }
        change(d, now, Activity::active, is_master() ? reason::backup_lost : reason::master_lost);
        break;
    }
  }
  return d;
}

runtime::Duration Machine::stall_threshold() const {
  return timeout() - runtime::milliseconds(settings_.heartbeat_interval_ms);
}

Decision Machine::on_stalled(TimePoint now, runtime::Duration late) {
  Decision d;
  if (!started_ || mode_ == RedundancyMode::independent || late <= stall_threshold()) return d;
  last_heard_ = now;       // the peer gets a whole failover timeout to be heard
  peer_activity_.reset();  // what it said before the stall is stale
  // A node giving activity away still counts as active: its handover timeout would make it
  // active again beside a peer that took over meanwhile.
  const bool giving = phase_ == Phase::giving || phase_ == Phase::gave;
  if (activity_ != Activity::active && !giving) return d;
  change(d, now, Activity::standby, reason::stalled);
  if (is_master()) {
    // As after a restart (transitions 1 and 3): a standby backup hands activity straight back, an
    // active one is asked for it by the recovery rule, a silent one gets the startup allowance.
    phase_ = Phase::startup;
    master_back_pending_ = true;
    started_at_ = now;  // a reload measures the allowance from here
    phase_deadline_ = now + runtime::milliseconds(settings_.startup_allowance_ms);
  } else {
    phase_ = Phase::none;
  }
  return d;
}

std::optional<std::string> Machine::command_refusal() const {
  if (mode_ == RedundancyMode::independent) return "node is not part of a redundant pair";
  if (!connected_) return "peer not connected";
  if (!authenticated_) return "peer not authenticated";
  if (handover_in_progress()) return "handover in progress";
  return std::nullopt;
}

CommandResult Machine::force_failover(TimePoint now) {
  CommandResult r;
  if (auto why = command_refusal()) {
    r.refusal = *why;
    return r;
  }
  r.accepted = true;
  if (activity_ == Activity::active) {
    give(r.decision, now, reason::force_failover);
  } else {
    if (phase_ == Phase::startup) phase_ = Phase::none;
    request(r.decision, now, reason::force_failover);
  }
  return r;
}

CommandResult Machine::recover(TimePoint now) {
  CommandResult r;
  if (auto why = command_refusal()) {
    r.refusal = *why;
    return r;
  }
  r.accepted = true;
  if (is_master()) {
    if (activity_ == Activity::standby) {
      if (phase_ == Phase::startup) phase_ = Phase::none;
      request(r.decision, now, reason::recover);
    }
  } else if (activity_ == Activity::active) {
    give(r.decision, now, reason::recover);
  }
  return r;
}

Decision Machine::on_handover_request(TimePoint now, std::string_view why) {
  Decision d;
  if (mode_ == RedundancyMode::independent) return d;
  switch (phase_) {
    case Phase::giving:
    case Phase::gave:
      return d;  // already letting go; the ack follows
    case Phase::requested:
      // Both asked at once: the master's request wins, the backup withdraws its own.
      if (is_master()) return d;
      break;
    case Phase::startup:
    case Phase::none:
      break;
  }
  if (activity_ == Activity::active) {
    give(d, now, why);
    return d;
  }
  // Holding nothing: our ports are already closed, acknowledge at once.
  phase_ = Phase::gave;
  phase_reason_ = why;
  phase_deadline_ = now + timeout();
  d.effects.push_back({EffectKind::send_handover_ack, std::string(why), false});
  return d;
}

Decision Machine::on_handover_ack(TimePoint now, std::string_view why) {
  Decision d;
  if (mode_ == RedundancyMode::independent || activity_ == Activity::active) return d;
  // Both gave at once: the master takes activity, the backup waits for its done.
  if ((phase_ == Phase::giving || phase_ == Phase::gave) && !is_master()) return d;
  take(d, now, why);
  return d;
}

Decision Machine::on_handover_done(TimePoint) {
  if (phase_ == Phase::gave) phase_ = Phase::none;
  return {};
}

Decision Machine::on_released(TimePoint) {
  Decision d;
  if (phase_ != Phase::giving) return d;
  phase_ = Phase::gave;
  d.effects.push_back({EffectKind::send_handover_ack, phase_reason_, false});
  return d;
}

}  // namespace pollux::redundancy
