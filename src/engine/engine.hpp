// The polling engine: builds the run-time graph from a config::Config (channels -> runners with
// their links, devices -> DeviceSessions with their queues and read plans, poll groups in the
// scheduler, points in the store) and offers the node what the API shows and does (spec/api.md;
// DESIGN.md data flow).
//
// Everything runs on one executor thread. The per-message path: a ChannelRunner sends a device's
// message and reports its end (device::MessageOutcome) here; the device's DeviceSession settles
// it (failover, points, the end of a poll attempt). Failover triggers outside that path are
// channel usability changes (rule 2), operator line selection (rule 7) and reload (rule 8,
// reload.cpp). Line changes are events in a bounded ring and show in the SYDEV* points, published
// in the same step. Activity (activity.hpp, standby.cpp) says whether the engine polls and which
// channels it holds open; the sync journal (sync_journal.hpp) and the views (views.cpp,
// metrics_view.cpp) read the graph for the peer and the API.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/body_source.hpp"
#include "api/node_api.hpp"
#include "config/loader.hpp"
#include "config/model.hpp"
#include "engine/activity.hpp"
#include "engine/device_session.hpp"
#include "engine/sync_journal.hpp"
#include "failover/event_ring.hpp"
#include "points/change_feed.hpp"
#include "points/point_store.hpp"
#include "runtime/executor.hpp"
#include "scheduler/channel_runner.hpp"
#include "scheduler/poll_scheduler.hpp"
#include "transport/link.hpp"

namespace pollux::engine {

// Makes the link of a channel: the real transports in `pollux run`, fakes in tests.
using LinkFactory = std::function<std::unique_ptr<transport::Link>(const config::Channel&)>;

class Engine final : private scheduler::RunnerHandler,
                     private scheduler::PollSink,
                     private SessionContext {
 public:
  // `reload_source` loads the config again for reload() (normally config::load_file on the
  // path given at start-up). It runs off the I/O thread, so it may touch no engine state.
  using ReloadSource = std::function<config::LoadResult()>;
  using DeviceRuntime = engine::DeviceRuntime;
  using PollDone = engine::PollDone;
  using SyncChanges = engine::SyncChanges;

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
  // Every point change, in order (points/change_feed.hpp): consumers subscribe before start().
  // The sync journal is its first subscriber.
  points::ChangeFeed& changes() { return feed_; }
  const scheduler::PollScheduler& poll_scheduler() const { return scheduler_; }

  // ---- what the API shows and does (views.cpp; app::Node adds the redundancy parts) ----
  api::HealthView health();
  std::vector<std::string> device_ids();
  std::optional<api::DeviceView> device(const std::string& id);
  std::optional<std::vector<api::PointView>> points(const std::string& device);
  std::vector<api::ChannelView> channels();
  std::vector<api::EventView> events(std::uint64_t since);
  // What a `device` event of the live stream follows (api.md "Live stream"): DEVICE.comm, the
  // active line and `enabled`, for every device in config order, without building whole views.
  struct DeviceStatus {
    api::CommStatus comm = api::CommStatus::ok;
    int active_line = 1;
    bool enabled = true;
    friend bool operator==(const DeviceStatus&, const DeviceStatus&) = default;
  };
  void for_each_device_status(
      const std::function<void(const std::string& id, const DeviceStatus& status)>& fn) const;
  // A point as GET /api/v1/points shows it.
  api::PointView point_view(points::PointId id) const;
  api::Outcome select_line(const std::string& id, int line);
  api::Outcome poll_now(const std::string& id);
  void write(const std::string& id, const std::string& point, const api::WriteValue& value,
             std::function<void(api::Outcome)> done);
  api::Outcome set_channel_enabled(const std::string& id, bool enabled);
  void reload(api::ReloadDone done);
  api::RedundancyView redundancy();
  api::Outcome force_failover();
  api::Outcome recover();
  std::unique_ptr<api::BodySource> metrics();
  std::string metrics_text() { return api::drain(*metrics()); }  // whole, for tests

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

  // Redundancy hooks (app/node.hpp; redundancy.md "Roles and activity"; activity.hpp). A standby
  // engine keeps its graph (devices, points, failover state) for display and state transfer but
  // polls nothing: no scheduled polls, no failover decisions, every serial/modem channel closed,
  // TCP channels closed too unless keep_tcp_open (warm standby: connections stay, idle). A
  // channel with a message in flight closes once its answer is in (or after its
  // message_timeout_ms): draining. `released` runs once every port is closed (on a later
  // executor turn when something was in flight). Before start() it only sets how start() opens
  // channels.
  void set_active(bool active, bool keep_tcp_open = false, std::function<void()> released = {});
  bool active() const { return activity_.polls(); }
  Activity activity() const { return activity_.state(); }
  // Warm or cold standby while standby (a reload changed redundancy.standby): opens the TCP
  // channels and holds their connections, or closes them. Nothing else changes.
  void set_keep_tcp_open(bool keep);

  // Runtime-state transfer (redundancy.md "Synchronization"; sync_journal.hpp): what changed
  // since the previous call, or everything (`all`). Resets the journal.
  SyncChanges take_sync_changes(bool all);
  // Applies a PollDone from the active node: the group's points take its time (values,
  // qualities and errors unchanged; a point never read keeps no time). False when unknown.
  bool import_poll_done(const PollDone& p);
  // Takes a peer's state of a device: its failover timers continue from their ages. False when
  // the device is unknown here.
  bool import_device_runtime(const DeviceRuntime& r);

 private:
  // RunnerHandler
  void before_cycle(device::RemoteDevice& d) override;
  std::optional<device::Job> on_outcome(const device::MessageOutcome& o) override;
  // PollSink
  bool on_poll_due(void* owner, std::uint32_t group) override;
  // SessionContext
  runtime::TimePoint now() const override { return ex_.now(); }
  runtime::WallTime wall_now() const override { return ex_.wall_now(); }
  failover::Usable usable(const failover::Settings& settings) const override;
  bool decides_failover() const override { return activity_.polls(); }
  void line_changed(DeviceSession& s, const failover::LineChange& change,
                    const std::string& from_channel) override;
  void poll_ended(DeviceSession& s, std::uint32_t group) override;
  void state_changed(DeviceSession& s) override { journal_.mark(s); }

  void on_channel_status(const std::string& channel, transport::LinkStatus s);
  // Warm standby: every open TCP channel holds a connection to the active line of each device
  // on it (transport::Link::connect_ahead); active or cold: no holds.
  void connect_ahead();
  void add_channel(const config::Channel& c);
  bool opens(const config::Channel& c) const { return activity_.opens(c.type); }
  void schedule(DeviceSession& s);
  void unschedule(DeviceSession& s);
  void drain();
  void remove_channel(const std::string& id);
  void attach(DeviceSession& s);
  void load_device(const config::Device& d, const failover::State* previous);
  void unload_device(const std::string& id);
  DeviceSession* find(const std::string& id);
  static DeviceSession* session_of(const device::RemoteDevice& d) {
    return static_cast<DeviceSession*>(d.context);  // null once unloaded
  }
  scheduler::ChannelRunner* runner(const std::string& channel);
  std::optional<transport::LinkStatus> channel_status(std::string_view channel) const;
  bool channel_usable(std::string_view channel) const;
  bool channel_switched_on(std::string_view channel) const;
  api::CommStatus comm_of(const DeviceSession& s) const;
  // The runner of the session's active line looks at it again: now, or when the device came
  // back from a message on another channel, once its job is queued again (on_outcome).
  void kick(DeviceSession& s);
  void kick_later(DeviceSession& s);
  void start_reload_load();
  api::ReloadOutcome apply_loaded(config::LoadResult result);
  api::DeviceView view(const DeviceSession& s) const;
  // Scheduled polls missed, over the device's groups now and before (api.md stats.overruns).
  std::uint64_t overruns_of(const DeviceSession& s) const;
  // GET /metrics in parts (metrics_view.cpp): the node's and channels' families, then each
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
  std::vector<api::ReloadDone> reload_waiting_;
  bool reload_loading_ = false;
  // A load finishing after the engine went must not touch it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  points::ChangeFeed feed_;  // declared before the store, which publishes to it
  points::PointStore store_;
  SyncJournal journal_;
  scheduler::PollScheduler scheduler_;
  failover::EventRing events_;
  std::map<std::string, std::unique_ptr<scheduler::ChannelRunner>> runners_;
  std::vector<std::unique_ptr<DeviceSession>> sessions_;  // config order
  // Session by id (keys view the device's own id): API calls, listings and state imports name
  // devices, and a scan of 10,000 per lookup made those quadratic.
  std::unordered_map<std::string_view, DeviceSession*> by_id_;
  // Unloaded sessions live on until the engine goes: a link may still hold a pointer to their
  // target or request for the rest of an exchange that was in flight during a reload.
  std::vector<std::unique_ptr<DeviceSession>> graveyard_;
  // Devices whose message ended on a channel that no longer serves them: their new channel's
  // runner looks at them on the next turn, once the runner that reported has queued their job.
  std::vector<DeviceSession*> moved_;
  runtime::TimerId moved_timer_;
  bool running_ = false;
  ActivityState activity_;
  bool opening_ = false;  // set_active(true) is opening channels one by one
  // Draining: channels waiting for their in-flight message before closing.
  std::vector<std::string> draining_;
  runtime::TimePoint drain_deadline_{};
  runtime::TimerId drain_timer_;
  std::function<void()> drained_;
  runtime::TimerId ahead_timer_;  // one connect_ahead() pass after a state import
  std::string version_;
  std::uint64_t reloads_ = 0, reload_failures_ = 0;
};

}  // namespace pollux::engine
