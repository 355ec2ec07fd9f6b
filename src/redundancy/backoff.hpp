// Reconnect backoff for the backup's peer link (redundancy.md "Link and security" and
// "Transitions" 5): the program's one backoff (runtime/backoff.hpp, JitterKind::shorten:
// exponential from a floor up to a cap, each delay shrunk by a random fraction so that restarts
// of both nodes do not retry in lockstep, never below the floor) -- except that a lost master
// (refused, timed-out or dropped connections) is tried again at least every `lost_cap` (the
// heartbeat interval): a restarting master must hear of an active backup before its startup
// allowance runs out, so that backoff never grows past it. Only an authentication failure, which
// proves the master alive, backs off up to the full cap.
#pragma once

#include <cstdint>
#include <random>

#include "config/model.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"

namespace pollux::redundancy {

// Why the last connection attempt ended.
enum class RetryCause {
  master_unreachable,  // refused, timed out, or an established link dropped: the master is lost
  auth_failed,         // the master answered but the handshake failed: it is alive
};

class ReconnectBackoff {
 public:
  // `jitter` in [0, 1): the fraction by which a delay may be shortened at random. `lost_cap`
  // bounds every delay after master_unreachable (and wins over a larger floor).
  ReconnectBackoff(runtime::Duration floor, runtime::Duration cap, double jitter,
                   std::uint64_t seed, runtime::Duration lost_cap = runtime::Duration::max());

  // The delay before the next attempt; each call doubles the base up to the cap.
  runtime::Duration next(RetryCause why);
  // After a successful (authenticated) connection.
  void reset() { backoff_.reset(); }
  int attempts() const { return backoff_.failures(); }

 private:
  runtime::Backoff backoff_;
  runtime::Duration lost_cap_;
  std::mt19937_64 rng_;
};

// The backup's backoff from its settings: floor heartbeat_interval_ms, cap failover_timeout_ms
// (after authentication failures), a lost master tried at least every heartbeat_interval_ms.
// A positive `floor` or `cap` replaces the one from the settings (tests use short ones); neither
// lifts the lost-master bound.
ReconnectBackoff backup_reconnect_backoff(const config::RedundancySettings& settings,
                                          runtime::Duration floor, runtime::Duration cap,
                                          double jitter, std::uint64_t seed);

}  // namespace pollux::redundancy
