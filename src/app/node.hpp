// The node: one Engine and, in master/backup mode, the redundancy Controller around it
// (DESIGN.md "Redundancy sits above all of it"; spec/redundancy.md; api.md redundancy rules).
//
// The Controller decides activity; the node carries it out on the engine (poll only while
// active, close ports before the peer opens them), syncs config (master -> backup, canonical
// text + version) and runtime state (active -> standby, numbered deltas of changed devices and
// points plus per-group "poll completed at T" records that keep the standby's timestamps
// current, taken from the engine's change journal on a short timer; a full transfer on
// connect, handover or gap), and adds the
// redundancy parts of NodeApi: role/activity in health, GET /redundancy, force-failover,
// recover, 409 "node is standby" on operator commands, 403 on reload on a backup. An
// independent node has no controller and behaves exactly as a bare Engine.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/node_api.hpp"
#include "app/broker_watch.hpp"
#include "app/node_history.hpp"
#include "app/node_northbound.hpp"
#include "app/node_stream.hpp"
#include "engine/engine.hpp"
#include "redundancy/controller.hpp"
#include "runtime/executor.hpp"

namespace pollux::app {

// The node implements the API (api::NodeApi) around an engine::Engine.
using api::BodySource;
using api::ChannelView;
using api::DeviceView;
using api::EventView;
using api::HealthView;
using api::NodeApi;
using api::Outcome;
using api::PointView;
using api::RedundancyView;
using api::ReloadDone;
using api::ReloadOutcome;
using api::WriteValue;
using engine::Engine;
using engine::LinkFactory;

class Node final : public NodeApi {
 public:
  // `version` is the config's LoadResult::version (the master's version on a backup whose
  // overrides changed its channels). `options` reach the peer link (tests shorten backoff).
  Node(boost::asio::io_context& io, runtime::Executor& ex, LinkFactory links, config::Config cfg,
       std::string version, Engine::ReloadSource reload_source,
       redundancy::LinkOptions options = {});
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void start();
  void stop();

  Engine& engine() { return engine_; }
  redundancy::Controller* controller() { return controller_.get(); }
  bool active() const;
  std::uint64_t state_seq() const { return state_seq_; }
  const std::string& config_version() const { return version_; }
  // Called after a reload applied a config (the new one), for what lives outside the node: the
  // HTTP server's tokens and TLS context (spec/security.md: "A reload may change `tokens` and
  // the TLS files; new connections use the new ones").
  void set_reload_listener(std::function<void(const config::Config&)> listener) {
    reload_listener_ = std::move(listener);
  }

  // The runtime state as sync messages (also used by tests): the whole state, or what changed
  // since the last full/delta built (seq 0 and nothing in it when nothing did): changed devices
  // and points, and one "poll completed at T" record per (device, poll group) that carries the
  // timestamps of the group's unchanged points (redundancy.md "Runtime state").
  redundancy::StateFull build_full();
  redundancy::StateDelta build_delta();
  // Applies a peer's sync message (config, state_full, state_delta) as the controller hands it.
  void on_sync(const redundancy::Message& m);

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
  void history(const api::HistoryRequest& request,
               std::function<void(api::HistoryAnswer)> done) override;
  std::optional<api::NorthboundView> northbound() override;
  api::StreamJournal* stream() override { return &stream_.journal(); }
  std::unique_ptr<BodySource> metrics() override;

 private:
  redundancy::Controller::Hooks hooks();
  std::string redundancy_metrics();
  // A config from the master: read off the I/O thread (load_config), applied on it
  // (finish_config).
  void apply_config(const redundancy::ConfigMessage& c);
  void load_config(const redundancy::ConfigMessage& c);
  void finish_config(const std::string& version, config::LoadResult r);
  // After a reload applied a config: the new version, the new `redundancy:` section handed to
  // the controller and the engine (apply_redundancy()), the config sent to the backup.
  void on_reload_applied(const config::RedundancySettings& before);
  void apply_redundancy(const config::RedundancySettings& before);
  // The northbound section to the publisher and, in a pair, to the broker watch.
  void configure_northbound();
  void apply_state(const nlohmann::json& devices, const nlohmann::json& points,
                   const nlohmann::json& polls);
  void arm_delta_timer();
  void send_delta();
  bool standby() const { return controller_ && !active(); }

  runtime::Executor& ex_;
  Engine engine_;
  config::RedundancyMode mode_;
  std::string version_;  // the master's config version (redundancy.md "Synchronization")
  std::unique_ptr<redundancy::Controller> controller_;
  NodeHistory history_;
  NodeNorthbound northbound_;
  // A pair with a northbound: the broker as a liveness path (redundancy.md "Partitions").
  std::unique_ptr<BrokerWatch> broker_watch_;
  NodeStream stream_;
  std::optional<std::uint64_t> sent_bd_seq_;  // the bdSeq the standby was last sent
  runtime::Duration delta_period_{};
  runtime::TimerId delta_timer_;
  std::uint64_t state_seq_ = 0;                         // last sent (active) or applied (standby)
  std::string sync_error_;                              // the last refused config sync
  std::optional<std::string> sync_loading_;             // version of the config being read
  std::optional<redundancy::ConfigMessage> sync_next_;  // the newest one that came meanwhile
  std::uint64_t configs_applied_ = 0, configs_refused_ = 0, deltas_sent_ = 0, fulls_sent_ = 0;
  std::uint64_t states_applied_ = 0;
  bool running_ = false;
  std::function<void(const config::Config&)> reload_listener_;
  // A config read finishing after the node went must not touch it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace pollux::app
