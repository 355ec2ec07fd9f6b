// One device at run time: its RemoteDevice (lines, queue, poll plans), its failover settings and
// state, and its SYDEV* status points (spec/failover.md "State kept per remote device", "Status
// points"; DESIGN.md principle 8 "one owner per fact").
//
// The session is the only writer of the device's active line and of its groups' in-progress
// flags: the channel runners read them, and tell the session what each message came to
// (device/outcome.hpp). The session settles that outcome, plugs the pure failover policy in at
// the points failover.md names (before a cycle: rule 5; after a failed message: rules 1, 3, 4;
// on success), decodes answers into the point store and ends poll attempts. What reaches beyond
// the device (the clock, channel usability, the event ring and the runners, the scheduler and
// the sync journal) goes through SessionContext, which the engine implements.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "device/outcome.hpp"
#include "device/remote_device.hpp"
#include "failover/ages.hpp"
#include "failover/policy.hpp"
#include "points/point_store.hpp"
#include "runtime/clock.hpp"
#include "scheduler/poll_scheduler.hpp"

namespace pollux::engine {

class DeviceSession;

class SessionContext {
 public:
  virtual ~SessionContext() = default;
  virtual runtime::TimePoint now() const = 0;
  virtual runtime::WallTime wall_now() const = 0;
  // Lines whose channel is usable now (failover.md "usable").
  virtual failover::Usable usable(const failover::Settings& settings) const = 0;
  // Only an active node decides failover (a standby leaves it to the active node).
  virtual bool decides_failover() const = 0;
  // The active line changed (already written): record the event, and let the runners of
  // `from_channel` and of the new line look at the device again.
  virtual void line_changed(DeviceSession& s, const failover::LineChange& change,
                            const std::string& from_channel) = 0;
  // A poll attempt of `group` ended (good or failed; its time is in s.sync.poll_done): the
  // scheduler may serve the group again, and the sync journal sends the time.
  virtual void poll_ended(DeviceSession& s, std::uint32_t group) = 0;
  // The failover state, counters or status points changed (the sync journal).
  virtual void state_changed(DeviceSession& s) = 0;
};

class DeviceSession {
 public:
  // Loads a device: points registered in the store, failover state new (rule 8, first load) or
  // continued from `previous` (rule 8, reload), status points published.
  DeviceSession(const config::Device& cfg, SessionContext& ctx, points::PointStore& store,
                const failover::State* previous);
  DeviceSession(const DeviceSession&) = delete;
  DeviceSession& operator=(const DeviceSession&) = delete;

  device::RemoteDevice& device() { return *dev_; }
  const device::RemoteDevice& device() const { return *dev_; }
  const std::string& id() const { return dev_->id(); }
  const failover::Settings& settings() const { return settings_; }
  const failover::State& state() const { return state_; }
  const std::array<points::PointId, 6>& status_points() const { return status_points_; }
  // The channel of the active line.
  const std::string& active_channel() const { return dev_->active().path.channel; }
  bool uses_channel(std::string_view channel) const;

  // ---- the runner's two calls (scheduler::RunnerHandler) ----
  void before_cycle();
  std::optional<device::Job> on_outcome(const device::MessageOutcome& o);

  // ---- failover triggers from outside the message path ----
  // A reload's line change (rule 8), decided when the session was made; applied once the
  // engine attached it to its runners.
  void apply_pending_reload_change();
  // Channel usability changed (rule 2), or the node became active.
  void on_channels();
  // Rule 7: operator line selection. Empty: accepted; else why not.
  std::string select_line(int line);
  // A peer's failover state, counters and comm (redundancy.md "Runtime state"). True when the
  // active line moved.
  bool import_runtime(const failover::StateAges& ages, const device::DeviceCounters& counters,
                      std::optional<runtime::WallTime> last_success, bool comm_failed);

  // ---- polls ----
  // A due poll of `group` (scheduler): false when refused (an attempt is in progress or
  // waiting). Skipped polls of a demoted device count as polls_skipped.
  bool poll_due(std::uint32_t group);
  // api.md poll-now: every group queued on demand, refused ranges asked too.
  void poll_now();
  // Stops every attempt: queued jobs fail with `stopped`, nothing is in progress (standby).
  void stop_polls();

  // The scheduler's entries of this session's groups while scheduled, and the overruns of
  // entries removed before (standby, then active again).
  std::vector<scheduler::PollScheduler::Handle> schedule;
  std::uint64_t past_overruns = 0;

  // Sync journal bookkeeping (sync_journal.hpp): what was last exported, and the polls
  // completed since.
  struct SyncMarks {
    std::optional<failover::State> sent_state;
    device::DeviceCounters sent_counters;
    bool queued = false;
    std::vector<std::optional<runtime::WallTime>> poll_done;
  } sync;

 private:
  void apply_change(const failover::LineChange& change);
  void publish_status();
  std::optional<device::Job> fail_over(const device::MessageOutcome& o);
  void decode(const device::MessageOutcome& o);
  void poll_ended(const device::PollEnd& end, runtime::WallTime at);

  SessionContext& ctx_;
  points::PointStore& store_;
  std::unique_ptr<device::RemoteDevice> dev_;
  failover::Settings settings_;
  failover::State state_;
  std::optional<failover::LineChange> reload_change_;
  std::array<points::PointId, 6> status_points_{};
};

}  // namespace pollux::engine
