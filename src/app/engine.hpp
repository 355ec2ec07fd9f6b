// The polling engine: builds the run-time graph from a config::Config (channels -> runners with
// their links, devices with their queues and read plans, poll groups in the scheduler, points
// in the store) and implements app::NodeApi for the HTTP layer (spec/api.md; engine issue
// item 5; DESIGN.md data flow).
//
// Everything runs on one executor thread. Failover (spec/failover.md) is the pure policy of
// src/failover plugged in at the two points the spec names: before a message cycle (rule 5) and
// after a failed message (rules 1, 3, 4), plus channel usability changes (rule 2), operator line
// selection (rule 7) and reload (rule 8). Line changes are events in a bounded ring and show in
// the SYDEV* points of the device, published in the same step.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "app/node_api.hpp"
#include "config/loader.hpp"
#include "config/model.hpp"
#include "device/remote_device.hpp"
#include "failover/ages.hpp"
#include "failover/event_ring.hpp"
#include "failover/policy.hpp"
#include "points/point_store.hpp"
#include "runtime/executor.hpp"
#include "scheduler/channel_runner.hpp"
#include "scheduler/poll_scheduler.hpp"
#include "transport/link.hpp"

namespace pollux::app {

// Makes the link of a channel: the real transports in `pollux run`, fakes in tests.
using LinkFactory = std::function<std::unique_ptr<transport::Link>(const config::Channel&)>;

class Engine final : public NodeApi, public scheduler::RunnerHandler, public scheduler::PollSink {
 public:
  // `reload_source` loads the config again for reload() (normally config::load_file on the
  // path given at start-up). It runs off the I/O thread, so it may touch no engine state.
  using ReloadSource = std::function<config::LoadResult()>;

  Engine(runtime::Executor& ex, LinkFactory links, config::Config cfg,
         ReloadSource reload_source = {});
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void start();
  // Stops polling: cancels timers, closes links, fails pending writes. Idempotent.
  void stop();

  const config::Config& config() const { return cfg_; }
  const std::string& config_version() const { return version_; }
  points::PointStore& store() { return store_; }
  const scheduler::PollScheduler& poll_scheduler() const { return scheduler_; }

  // NodeApi
  HealthView health() override;
  std::vector<std::string> device_ids() override;
  std::optional<DeviceView> device(const std::string& id) override;
  std::optional<std::vector<PointView>> points(const std::string& device) override;
  std::vector<ChannelView> channels() override;
  std::vector<EventView> events(std::uint64_t since) override;
  Outcome select_line(const std::string& id, int line) override;
  Outcome poll_now(const std::string& id) override;
  void write(const std::string& id, const std::string& point, const WriteValue& value,
             std::function<void(Outcome)> done) override;
  Outcome set_channel_enabled(const std::string& id, bool enabled) override;
  void reload(ReloadDone done) override;
  RedundancyView redundancy() override;
  Outcome force_failover() override;
  Outcome recover() override;
  std::unique_ptr<BodySource> metrics() override;

  // A veto on reload() after the file validated: reasons the running node cannot take this
  // config (the node's redundancy rules: a mode change needs a restart). Non-empty: refused
  // like an invalid file (400, those errors, nothing changed).
  using ReloadCheck = std::function<std::vector<std::string>(const config::Config&)>;
  void set_reload_check(ReloadCheck check) { reload_check_ = std::move(check); }

  // Applies an already validated config as a difference (used by reload()). `version` is
  // config_version(neu) when the caller has it (a reload's loader computed it off the I/O
  // thread); empty, it is computed here.
  void apply(config::Config neu, std::string version = {});
  // Runs after reload() applied a config, before its callers hear of it, with the redundancy
  // settings it replaced (the node hands the new ones to its controller).
  using ReloadApplied = std::function<void(const config::RedundancySettings& before)>;
  void set_reload_applied(ReloadApplied applied) { reload_applied_ = std::move(applied); }

  // Redundancy hooks (app/node.hpp; redundancy.md "Roles and activity"). A standby engine keeps
  // its graph (devices, points, failover state) for display and state transfer but polls
  // nothing: no scheduled polls, no failover decisions, every serial/modem channel closed, TCP
  // channels closed too unless keep_tcp_open (warm standby: connections stay, idle). A channel
  // with a message in flight closes once its answer is in (or after its message_timeout_ms):
  // the device is still answering on the wire, so a peer opening the line at once would
  // collide with it. `released` runs once every port is closed (on a later executor turn when
  // something was in flight). Before start() it only sets how start() opens channels.
  void set_active(bool active, bool keep_tcp_open = false, std::function<void()> released = {});
  bool active() const { return active_; }
  // Warm or cold standby while standby (a reload changed redundancy.standby): opens the TCP
  // channels and holds their connections, or closes them. Nothing else changes.
  void set_keep_tcp_open(bool keep);

  // Runtime-state transfer (redundancy.md "Synchronization"): failover state as ages, counters
  // and last success of a device.
  struct DeviceRuntime {
    std::string id;
    failover::StateAges ages;
    device::DeviceCounters counters;
    std::optional<runtime::WallTime> last_success;
    bool comm_failed = false;  // DEVICE.comm "failed"
  };
  // A poll attempt of a group that completed (good or failed) at `at`: every point of the
  // group then carries that time, so one record moves all their timestamps on the standby.
  struct PollDone {
    std::string device;
    std::string group;
    runtime::WallTime at;
  };
  // What changed since the previous call, from a journal the runner callbacks fill (no scan of
  // every device and point): devices whose failover state or counters changed, points whose
  // value, quality or error changed, and the polls completed. `all` (full transfer): every
  // device and live point, no polls (their points carry their own times). Resets the journal.
  struct SyncChanges {
    std::vector<DeviceRuntime> devices;
    std::vector<points::PointId> points;
    std::vector<PollDone> polls;
  };
  SyncChanges take_sync_changes(bool all);
  // Applies a PollDone from the active node: the group's points take its time (values,
  // qualities and errors unchanged; a point never read keeps no time). False when unknown.
  bool import_poll_done(const PollDone& p);
  // Takes a peer's state of a device: its failover timers continue from their ages. False when
  // the device is unknown here.
  bool import_device_runtime(const DeviceRuntime& r);

 private:
  struct DeviceRt {
    std::unique_ptr<device::RemoteDevice> dev;
    failover::Settings settings;
    failover::State state;
    std::array<points::PointId, 6> status_points{};
    std::vector<scheduler::PollScheduler::Handle> schedule;  // per poll group, while scheduled
    std::uint64_t past_overruns = 0;  // of groups unscheduled before (standby, then active again)
    // What take_sync_changes() last exported, to send only changes.
    std::optional<failover::State> sent_state;
    device::DeviceCounters sent_counters;
    std::uint64_t sent_seq = 0;  // store sequence when the device's points were last taken
    // Sync journal: queued in sync_dirty_; per group, a poll completed since the last take.
    bool sync_queued = false;
    std::vector<std::optional<runtime::WallTime>> poll_done;
  };

  // RunnerHandler
  void before_cycle(device::RemoteDevice& d) override;
  void on_block_ok(device::RemoteDevice& d, std::uint32_t group, std::uint32_t block,
                   const modbus::ResponseView& response) override;
  void on_poll_done(device::RemoteDevice& d, std::uint32_t group, std::error_code error,
                    std::uint32_t failed_block) override;
  bool on_message_failed(device::RemoteDevice& d, const device::Job& job, std::error_code error,
                         int line) override;
  void on_io_success(device::RemoteDevice& d, int line) override;
  void on_device_free(device::RemoteDevice& d) override;
  void on_channel_status(const std::string& channel, transport::LinkStatus s) override;
  // PollSink
  bool on_poll_due(void* owner, std::uint32_t group) override;

  // Warm standby: every open TCP channel holds a connection to the active line of each device
  // on it (transport::Link::connect_ahead); active or cold: no holds.
  void connect_ahead();
  void add_channel(const config::Channel& c);
  bool opens(const config::Channel& c) const;
  void schedule(DeviceRt& rt);
  void unschedule(DeviceRt& rt);
  void drain();
  void remove_channel(const std::string& id);
  void load_device(const config::Device& d, const failover::State* previous);
  void unload_device(const std::string& id);
  DeviceRt* find(const std::string& id);
  DeviceRt* rt_of(const device::RemoteDevice& d);
  scheduler::ChannelRunner* runner(const std::string& channel);
  std::optional<transport::LinkStatus> channel_status(std::string_view channel) const;
  bool channel_usable(std::string_view channel) const;
  CommStatus comm_of(const DeviceRt& rt) const;
  failover::Usable usable(const DeviceRt& rt) const;
  void apply_change(DeviceRt& rt, const failover::LineChange& change);
  void start_reload_load();
  ReloadOutcome apply_loaded(config::LoadResult result);
  void sync_state(DeviceRt& rt);
  void publish_status(DeviceRt& rt);
  void mark_sync(DeviceRt& rt);
  void kick(DeviceRt& rt);
  DeviceView view(const DeviceRt& rt) const;
  PointView point_view(points::PointId id) const;
  // Scheduled polls missed, over the device's groups now and before (api.md stats.overruns).
  std::uint64_t overruns_of(const DeviceRt& rt) const;
  // GET /metrics in parts (engine_metrics.cpp): the node's and channels' families, then each
  // per-device family a range of devices per part, then the histograms.
  class MetricsBody;
  std::string metrics_head();
  std::string metrics_tail();

  runtime::Executor& ex_;
  LinkFactory links_;
  config::Config cfg_;
  ReloadSource reload_source_;
  ReloadCheck reload_check_;
  ReloadApplied reload_applied_;
  // Reload requests waiting for the next file load; one load runs at a time, and a request
  // made during a load waits for the next one, so each answer reflects a read of the file
  // made after its request.
  std::vector<ReloadDone> reload_waiting_;
  bool reload_loading_ = false;
  // A load finishing after the engine went must not touch it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  points::PointStore store_;
  scheduler::PollScheduler scheduler_;
  failover::EventRing events_;
  std::map<std::string, std::unique_ptr<scheduler::ChannelRunner>> runners_;
  std::vector<std::unique_ptr<DeviceRt>> devices_;  // config order
  // Device by id (keys view the RemoteDevice's own id): API calls, listings and state imports
  // name devices, and a scan of 10,000 per lookup made those quadratic.
  std::unordered_map<std::string_view, DeviceRt*> by_id_;
  // Unloaded devices live on until the engine goes: a link may still hold a pointer to their
  // target or request for the rest of an exchange that was in flight during a reload.
  std::vector<std::unique_ptr<DeviceRt>> graveyard_;
  bool running_ = false;
  bool active_ = true;
  bool keep_tcp_open_ = false;
  bool opening_ = false;
  // Going standby: channels waiting for their in-flight message before closing.
  std::vector<std::string> draining_;
  runtime::TimePoint drain_deadline_{};
  runtime::TimerId drain_timer_;
  std::function<void()> drained_;
  runtime::TimerId ahead_timer_;       // one connect_ahead() pass after a state import
  std::vector<DeviceRt*> sync_dirty_;  // devices that changed since take_sync_changes()
  std::string version_;
  std::uint64_t reloads_ = 0, reload_failures_ = 0;
};

}  // namespace pollux::app
