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
  // path given at start-up).
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
  points::PointStore& store() { return store_; }
  const scheduler::PollScheduler& poll_scheduler() const { return scheduler_; }

  // NodeApi
  HealthView health() override;
  std::vector<DeviceView> devices() override;
  std::optional<DeviceView> device(const std::string& id) override;
  std::optional<std::vector<PointView>> points(const std::optional<std::string>& device) override;
  std::vector<ChannelView> channels() override;
  std::vector<EventView> events(std::uint64_t since) override;
  Outcome select_line(const std::string& id, int line) override;
  Outcome poll_now(const std::string& id) override;
  void write(const std::string& id, const std::string& point, const WriteValue& value,
             std::function<void(Outcome)> done) override;
  Outcome set_channel_enabled(const std::string& id, bool enabled) override;
  ReloadOutcome reload() override;
  RedundancyView redundancy() override;
  Outcome force_failover() override;
  Outcome recover() override;
  std::string metrics_text() override;

  // Applies an already validated config as a difference (used by reload()).
  void apply(config::Config neu);

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

  // Runtime-state transfer (redundancy.md "Synchronization"): failover state as ages, counters
  // and last success of a device.
  struct DeviceRuntime {
    std::string id;
    failover::StateAges ages;
    device::DeviceCounters counters;
    std::optional<runtime::WallTime> last_success;
  };
  // Every device (all), or only those whose failover state or counters changed since the
  // previous call.
  std::vector<DeviceRuntime> device_runtime(bool all);
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
    // What device_runtime() last exported, to send only changes.
    std::optional<failover::State> sent_state;
    device::DeviceCounters sent_counters;
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
  bool channel_usable(std::string_view channel) const;
  failover::Usable usable(const DeviceRt& rt) const;
  void apply_change(DeviceRt& rt, const failover::LineChange& change);
  void sync_state(DeviceRt& rt);
  void publish_status(DeviceRt& rt);
  void kick(DeviceRt& rt);
  DeviceView view(const DeviceRt& rt) const;
  PointView point_view(points::PointId id) const;

  runtime::Executor& ex_;
  LinkFactory links_;
  config::Config cfg_;
  ReloadSource reload_source_;
  points::PointStore store_;
  scheduler::PollScheduler scheduler_;
  failover::EventRing events_;
  std::map<std::string, std::unique_ptr<scheduler::ChannelRunner>> runners_;
  std::vector<std::unique_ptr<DeviceRt>> devices_;  // config order
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
  std::string version_;
  std::uint64_t reloads_ = 0, reload_failures_ = 0;
};

}  // namespace pollux::app
