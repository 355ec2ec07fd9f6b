// The redundancy state machine (redundancy.md "Roles and activity" and "Transitions" 1-6):
// pure policy that decides this node's activity from link events, commands, handover messages
// and `now`. It does no I/O and reads no clock; it returns effects for the node to carry out and
// one Transition record per activity change (the API's "events" list).
//
// Handover (transition 6) is a two-step with an ack so that two nodes never drive one line:
//   taker  -> giver  handover_request   (only when the taker asked; a giver may start unasked)
//   giver: go_standby (stop polling, close ports), then the node calls on_released()
//   giver  -> taker  handover_ack       ("my ports are closed")
//   taker: become_active (open ports, poll)
//   taker  -> giver  handover_done
// A handover not finished within failover_timeout_ms leaves the master active: a master that
// gave activity away takes it back; a backup that gave it stays standby. A master whose own
// request was never acknowledged stays standby (the backup never let go, so taking activity
// would make two active nodes) and, with automatic recovery, asks again on the next heartbeat.
//
// Master start (transitions 1 and 5): the startup allowance ends the wait only when no backup
// is connecting. A backup whose connection is up but whose activity is not yet heard may be
// active, so the master waits for its first heartbeat (bounded by failover_timeout_ms from the
// connection, and ended at once by a dropped link); an active backup then gives activity back
// only through the handover, never by the master opening ports beside it.
//
// Liveness: only silence lets a standby node take over (transition 2). Silence is measured from
// the last thing heard from the peer: an authenticated message or an authentication failure.
// An authentication failure proves the peer alive, so after one the node does not take over
// until a connection attempt fails outright (on_link_down) -- a wrong key never yields two
// active nodes. When both nodes turn out active (after a partition), the backup yields.
//
// Partitions (redundancy.md "Partitions"): the machine sees the peer links as one (the
// controller reports a link down only when every link is, and a message from either as heard).
// The broker is a further path: while the peer's Sparkplug session is alive there
// (on_broker_path), silence on the links does not let a standby node take over, nor a master's
// startup allowance make it active; the node records one event with the reason "master alive
// via broker" (on the master: "backup alive via broker") and waits. The silence clock runs again
// from the moment the broker reports that session ended.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "redundancy/messages.hpp"
#include "runtime/clock.hpp"

namespace pollux::redundancy {

// One activity change: {"seq","time","from","to","reason"} in GET /api/v1/redundancy.
struct Transition {
  std::uint64_t seq = 0;
  runtime::TimePoint time;
  Activity from = Activity::standby;
  Activity to = Activity::standby;
  std::string reason;
};

enum class EffectKind {
  become_active,          // open channels and poll, from the last runtime state received
  go_standby,             // stop polling, close ports (TCP stays open when keep_tcp_open)
  send_full_state,        // hand the runtime state to the peer (before go_standby)
  send_handover_request,  // ask the peer to give activity to this node
  send_handover_ack,      // tell the peer our ports are closed
  send_handover_done,     // tell the peer we are active
};
std::string_view to_string(EffectKind k);

struct Effect {
  EffectKind kind;
  std::string reason;
  bool keep_tcp_open = false;  // go_standby only: warm standby keeps TCP connections
  friend bool operator==(const Effect&, const Effect&) = default;
};

struct Decision {
  std::vector<Effect> effects;  // carry out in order
  std::vector<Transition> transitions;
  bool empty() const { return effects.empty() && transitions.empty(); }
};

struct CommandResult {
  bool accepted = false;
  std::string refusal;  // why not (the API answers 409 with it)
  Decision decision;
};

// Reasons used in transitions and handover messages.
namespace reason {
inline constexpr std::string_view startup_allowance_expired = "startup_allowance_expired";
inline constexpr std::string_view backup_standby = "backup_standby";
inline constexpr std::string_view master_lost = "master_lost";
inline constexpr std::string_view backup_lost = "backup_lost";
inline constexpr std::string_view master_back = "master_back";
inline constexpr std::string_view master_active = "master_active";
inline constexpr std::string_view force_failover = "force_failover";
inline constexpr std::string_view recover = "recover";
inline constexpr std::string_view handover_timeout = "handover_timeout";
inline constexpr std::string_view master_alive_via_broker = "master alive via broker";
inline constexpr std::string_view backup_alive_via_broker = "backup alive via broker";
inline constexpr std::string_view stalled = "stalled";
}  // namespace reason

class Machine {
 public:
  // `mode` is this node's role; the settings are its own (node-local) redundancy section.
  Machine(config::RedundancyMode mode, const config::RedundancySettings& settings);

  // Starts the clocks: the master waits startup_allowance_ms, the backup's silence clock runs.
  Decision start(runtime::TimePoint now);

  // Link events (from the PeerLink).
  Decision on_connected(runtime::TimePoint now);      // TCP up, handshake running
  Decision on_authenticated(runtime::TimePoint now);  // handshake succeeded
  // Any authenticated message; heartbeats and their acks carry the peer's activity.
  Decision on_peer_heard(runtime::TimePoint now, std::optional<Activity> peer_activity);
  Decision on_auth_failed(runtime::TimePoint now);
  // Connection lost, refused, timed out or dropped for a protocol error.
  Decision on_link_down(runtime::TimePoint now);
  // The broker path: whether the peer's Sparkplug session is alive (its last NBIRTH has no
  // NDEATH after it). Unknown counts as not alive.
  Decision on_broker_path(runtime::TimePoint now, bool peer_alive);
  bool peer_alive_via_broker() const { return broker_alive_; }

  // Deadlines: the node arms one executor timer for next_deadline() and calls on_timer.
  std::optional<runtime::TimePoint> next_deadline() const;
  // `late`: how long after its time the timer ran (measured by the node from when it armed
  // it). A timer late by more than a heartbeat interval means this node itself was not running
  // (SIGSTOP, a paused VM, a starved CPU): the silence it would act on was partly its own, and
  // the peer's messages may be waiting unread on the link, so the silence clock starts again
  // and the peer gets a whole failover_timeout_ms to be heard.
  Decision on_timer(runtime::TimePoint now, runtime::Duration late = {});

  // Stalls: the node's own executor found itself `late` (Executor::watch_stalls, with
  // stall_threshold()). Away that long, an active node must assume its peer has taken over (or is
  // about to): it goes standby before its overdue polls and publishes run, and rejoins as a
  // restarted node does: a master waits out a fresh startup allowance and asks for activity
  // back by the recovery rule, a backup lets the master be heard for a whole failover timeout.
  // A standby only restarts its silence clock, as on_timer does.
  Decision on_stalled(runtime::TimePoint now, runtime::Duration late);
  // Failover timeout minus one heartbeat interval: by then the peer may already have taken over.
  runtime::Duration stall_threshold() const;

  // Operator commands (POST /api/v1/redundancy/force-failover and /recover).
  CommandResult force_failover(runtime::TimePoint now);
  CommandResult recover(runtime::TimePoint now);

  // Handover messages from the peer, and the node's report that its ports are closed.
  Decision on_handover_request(runtime::TimePoint now, std::string_view why);
  Decision on_handover_ack(runtime::TimePoint now, std::string_view why);
  Decision on_handover_done(runtime::TimePoint now);
  Decision on_released(runtime::TimePoint now);

  // Reload (config.md "Reload"): new heartbeat/timeout/recovery/standby/startup allowance take
  // effect from now on; the mode is fixed for the process (a change needs a restart, which the
  // node reports). A master still in its startup allowance measures the new allowance from its
  // start. A new `standby` reaches the engine through keep_tcp_open(). Decides nothing by
  // itself: the node re-arms the timer from next_deadline().
  void update_settings(const config::RedundancySettings& settings);
  const config::RedundancySettings& settings() const { return settings_; }

  config::RedundancyMode mode() const { return mode_; }
  Activity activity() const { return activity_; }
  // What heartbeats report: a node still closing its ports counts as active, so the peer never
  // reads "standby" before the ports are really closed.
  Activity advertised_activity() const;
  // Whether TCP channel connections stay open (active, or a warm standby).
  bool keep_tcp_open() const;
  bool peer_connected() const { return connected_; }
  bool peer_authenticated() const { return authenticated_; }
  std::optional<Activity> peer_activity() const { return peer_activity_; }
  bool handover_in_progress() const;
  // The most recent transitions, oldest first (bounded).
  const std::deque<Transition>& transitions() const { return history_; }

  static constexpr std::size_t kHistory = 256;

 private:
  enum class Phase { none, startup, giving, gave, requested };

  // One entry of the events list and of `d`, from the current activity to `to`.
  void record(Decision& d, runtime::TimePoint now, Activity to, std::string_view why);
  void change(Decision& d, runtime::TimePoint now, Activity to, std::string_view why);
  void give(Decision& d, runtime::TimePoint now, std::string_view why);
  void request(Decision& d, runtime::TimePoint now, std::string_view why);
  void take(Decision& d, runtime::TimePoint now, std::string_view why);
  void evaluate_peer(Decision& d, runtime::TimePoint now);
  // A takeover the broker path holds off: one event (from == to), then no deadline until the
  // broker reports the peer's session ended or the links hear it again.
  void withhold(Decision& d, runtime::TimePoint now);
  std::optional<std::string> command_refusal() const;
  bool is_master() const { return mode_ == config::RedundancyMode::master; }
  runtime::Duration timeout() const;
  runtime::TimePoint startup_deadline() const;

  config::RedundancyMode mode_;
  config::RedundancySettings settings_;
  Activity activity_;
  Phase phase_ = Phase::none;
  std::string phase_reason_;
  runtime::TimePoint phase_deadline_{};
  runtime::TimePoint last_heard_{};
  runtime::TimePoint started_at_{};
  bool started_ = false;
  bool auth_hold_ = false;
  bool broker_alive_ = false;
  bool withheld_ = false;  // the current silence's takeover was withheld (see withhold)
  // Set by start(): the next report of an active backup is "master back" (transition 3). Not
  // set after a forced failover, so automatic recovery never undoes an operator's command.
  bool master_back_pending_ = false;
  bool connected_ = false;
  runtime::TimePoint connected_since_{};
  bool authenticated_ = false;
  std::optional<Activity> peer_activity_;
  std::uint64_t next_seq_ = 1;
  std::deque<Transition> history_;
};

}  // namespace pollux::redundancy
