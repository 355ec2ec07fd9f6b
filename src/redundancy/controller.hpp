// The redundancy half of a node: ties the pure Machine (machine.hpp) to the PeerLink
// (peer_link.hpp) and the executor, so the node only supplies engine hooks (redundancy.md
// "Transitions" and "Link and security"). It feeds link events and peer messages to the
// machine, arms one executor timer for the machine's next deadline, and carries out the
// machine's effects: engine hooks for activity, peer messages for handover and state hand-off.
//
// Link event -> machine input: connected -> on_connected, authenticated -> on_authenticated,
// auth_failed -> on_auth_failed (never "peer lost"), disconnected/connect_failed -> on_link_down.
// Every authenticated message counts as hearing the peer; heartbeats carry its activity.
//
// Paths (redundancy.md "Partitions"): the main link, an optional second one (`listen_alt` /
// `master_alt`, each a PeerLink of its own with its own heartbeats and silence watchdog), and,
// when the node has a northbound, the broker (set_broker_path). The machine sees the links as
// one: connected when the first connects, down only when the last goes down, heard when either
// delivers a message. Messages the controller sends go over the main link while it is
// authenticated, else over the second; a delta lost with a link shows up as a gap, which the
// receiver repairs with a full transfer.
//
// Sync plumbing (redundancy.md "Synchronization"): on connect the active node sends its full
// state; incoming deltas pass through a StateReceiver (gap -> one state_request, answered with
// full_state()); the master sends its config once per version and connection when a backup
// heartbeat reports another config_version.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/model.hpp"
#include "redundancy/machine.hpp"
#include "redundancy/peer_link.hpp"
#include "redundancy/sync.hpp"
#include "runtime/executor.hpp"

namespace pollux::redundancy {

// A Transition with wall time, for GET /api/v1/redundancy "events".
struct TransitionRecord {
  std::uint64_t seq = 0;
  runtime::WallTime time;
  Activity from = Activity::standby;
  Activity to = Activity::standby;
  std::string reason;
};

// One entry of "paths" in GET /api/v1/redundancy.
struct PathStatus {
  std::string name;  // link | link_alt | broker
  bool up = false;
  std::optional<runtime::WallTime> last_heard;
};

struct RedundancyStatus {
  config::RedundancyMode mode = config::RedundancyMode::independent;
  Activity activity = Activity::active;
  bool keep_tcp_open = true;
  std::optional<std::uint64_t> applied_state_seq;  // standby: last state sequence applied
  LinkStatus peer;                                 // the link in use (the main one when neither is)
  std::string peer_via;  // link | link_alt | broker | "" (the peer is heard on no path)
  std::vector<PathStatus> paths;
  std::vector<TransitionRecord> events;  // oldest first
};

class Controller {
 public:
  struct Hooks {
    // Open channels and poll (from the last runtime state received).
    std::function<void(std::string_view reason)> become_active;
    // Stop polling and close ports (keeping TCP connections when keep_tcp_open); call
    // `released` once every port is closed: only then may the peer open them.
    std::function<void(std::string_view reason, bool keep_tcp_open, std::function<void()> released)>
        go_standby;
    // The runtime state to hand to the peer (handover, or the peer's state_request).
    std::function<StateFull()> full_state;
    // config, state_full and state_delta from the peer, in order and without gaps; the node
    // applies them.
    std::function<void(const Message&)> on_sync;
    // Master: the synchronized config to send when the backup reports another version.
    std::function<ConfigMessage()> config_to_sync;
    // config_version and state_seq for heartbeats (the controller fills in the activity).
    std::function<LocalSummary()> summary;
    std::function<void(const TransitionRecord&)> on_transition;
  };

  // `mode` master or backup (independent needs no controller). Throws on an empty psk.
  Controller(boost::asio::io_context& io, runtime::Executor& executor, config::RedundancyMode mode,
             const config::RedundancySettings& settings, Hooks hooks, LinkOptions options = {});
  ~Controller();

  // Starts the machine's clocks and the link (the master binds its listen address here).
  void start();
  void stop();

  CommandResult force_failover();
  CommandResult recover();
  // Sends a sync message (config, state_full, state_delta) to the authenticated peer.
  bool send(const Message& m);

  // The broker path: nullopt when this node has no northbound (no "broker" path is listed),
  // else whether the peer's Sparkplug session is alive.
  void set_broker_path(std::optional<bool> peer_alive);

  // Reload of this node's own `redundancy:` section (config.md "Reload"). check_settings()
  // lists why `settings` cannot be applied to the running node ("" entries never): a changed
  // mode needs a restart, a new listen address must be bindable. update_settings() applies the
  // rest live to the machine and the link (see Machine::update_settings and
  // PeerLink::update_settings) and re-arms the machine's timer.
  std::vector<std::string> check_settings(const config::RedundancySettings& settings) const;
  void update_settings(const config::RedundancySettings& settings);

  Activity activity() const { return machine_.activity(); }
  const Machine& machine() const { return machine_; }
  RedundancyStatus status() const;
  // Whether any link to the peer is authenticated (sync can flow).
  bool peer_authenticated() const;

 private:
  struct Path {
    std::string name;
    std::shared_ptr<PeerLink> link;
    std::optional<runtime::TimePoint> last_heard;
  };

  std::shared_ptr<PeerLink> make_link(const config::RedundancySettings& settings,
                                      LinkOptions options);
  void on_link_event(Path& path, const LinkEvent& e);
  void on_peer_message(Path& path, const Message& m);
  // The authenticated path messages go over (main first), or null.
  Path* sending_path();
  const Path* sending_path() const;
  std::size_t paths_where(bool (*pred)(const LinkStatus&)) const;
  void on_state(const Message& m, StateReceiver::Verdict v);
  void apply(const Decision& d);
  void rearm();
  // (Re)registers the stall watch with the machine's current threshold.
  void watch_stalls();
  TransitionRecord record(const Transition& t) const;
  runtime::WallTime wall_time_of(runtime::TimePoint t) const;

  boost::asio::io_context& io_;
  runtime::Executor& executor_;
  Machine machine_;
  Hooks hooks_;
  LinkOptions options_;
  std::vector<std::unique_ptr<Path>> paths_;  // the main link, then the second (if any)
  std::optional<bool> broker_alive_;
  std::optional<runtime::WallTime> broker_ended_;  // when the peer's session last ended
  runtime::TimerId timer_;
  std::uint64_t stall_watch_ = 0;  // Executor::watch_stalls, while started
  StateReceiver receiver_;
  std::string config_sent_;  // version sent on the current connection
  // Outlives the controller in posted tasks, so a late `released` is ignored safely.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::redundancy
