// The engine's activity (spec/redundancy.md "Roles and activity"): active, draining, warm
// standby or cold standby, as one state with its transitions instead of loose flags (the form of
// redundancy::Machine: the redundancy machine decides whether the node is active; this says what
// the engine holds open in each state).
//
//   active       polls; every channel open.
//   draining     going standby with a message in flight on a serial, modem or TCP channel: polls
//                nothing, and a channel closes once its answer is in (the device is still
//                answering on the wire, so a peer opening the line at once would collide).
//   warm standby polls nothing; TCP channels stay open and hold connections, idle.
//   cold standby polls nothing; every channel closed.
// Draining keeps the standby kind it is heading for, so a warm standby's TCP channels stay open
// through it.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/model.hpp"

namespace pollux::engine {

enum class Activity : std::uint8_t { active, draining, warm_standby, cold_standby };
std::string_view to_string(Activity a);

class ActivityState {
 public:
  Activity state() const { return state_; }
  bool polls() const { return state_ == Activity::active; }
  // The standby kind (warm holds TCP connections); false while active.
  bool warm() const { return state_ != Activity::active && warm_; }
  // Whether a channel of this type is open in this state.
  bool opens(config::ChannelType type) const {
    return polls() || (warm() && type == config::ChannelType::tcp);
  }

  // Any state -> active.
  void activate() {
    state_ = Activity::active;
    warm_ = false;
  }
  // Any state -> warm or cold standby.
  void stand_by(bool warm) {
    warm_ = warm;
    state_ = standby();
  }
  // Standby -> draining: a message is still in flight on a channel that closes.
  void drain() {
    if (state_ != Activity::active) state_ = Activity::draining;
  }
  // Draining -> the standby it was heading for.
  void drained() {
    if (state_ == Activity::draining) state_ = standby();
  }
  // A reload changed the standby kind (warm <-> cold); nothing while active.
  void set_warm(bool warm) {
    if (state_ == Activity::active) return;
    warm_ = warm;
    if (state_ != Activity::draining) state_ = standby();
  }

 private:
  Activity standby() const { return warm_ ? Activity::warm_standby : Activity::cold_standby; }
  Activity state_ = Activity::active;
  bool warm_ = false;
};

}  // namespace pollux::engine
