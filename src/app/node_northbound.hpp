// The node's Sparkplug B publisher (spec/northbound.md) around the engine: the change feed in,
// the session machine's decisions out to the MQTT client, and its parts of the API
// (GET /api/v1/northbound, /metrics, the status page).
//
// It reads the engine's change feed at its own pace (DESIGN.md principle 7), keeps the points
// that changed by the history rules (history::Recorder: first value, quality, deadband; no
// max_interval), groups the changes of one poll result of one device into one on_changes call
// (one DDATA), and carries out what northbound::Session answers: connect with the will,
// publish, disconnect. The MQTT client's threads only post to the executor.
//
// Held changes go out while the client has room (at most kWindow publishes not yet written),
// so a long outage drains without flooding the client or delaying polling. bdSeq is kept in
// `state_path` (a restart continues it) and handed to the pair through the runtime state sync
// (bd_seq()/adopt_bd_seq()). DCMD writes go through `write`, the API's write path, so the same
// checks, the same standby refusal and the same exactly-once rule apply.
//
// Store and forward across a restart (northbound.md "Sessions, outages and the pair"): while
// changes wait to be published, the state file also keeps `held_since`, the time of the oldest
// of them (moved forward as they go out), and `held_until`, a time no held change of this
// process is later than (its clean stop, or a second past the last refresh: the file is
// rewritten every 500 ms while changes are held). A process that finds them there reads the
// changes between back from the history store, never past its own start, so what the peer
// published after a takeover is not sent again. It reads them with History::read_window on the
// writer's query thread, a page at a time, in time order, only the points of the current
// model, the first time its session is active, and hands them to the session ahead of what it
// holds itself (Session::backfill). Without `history:` nothing can be read back: what a killed
// process held is lost, as it always was. max_records bounds the session's queue either way:
// past it the oldest held changes leave memory and are counted as dropped; with history they
// are still in the store, and held_since no longer moves, so a restart before they were due
// replays them, but this process does not read them back.
//
// A change of the section's `mqtt` keys or `state_path` makes a new client and session (the
// old one sends NDEATH and disconnects); new Sparkplug ids do the same within the session
// (Session::set_options); any other change (devices, points, max_records) applies in place:
// DDEATH for a device removed or disabled, DBIRTH for one added or changed.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/node_api.hpp"
#include "config/model.hpp"
#include "engine/engine.hpp"
#include "history/history.hpp"
#include "history/recorder.hpp"
#include "mqtt/client.hpp"
#include "northbound/session.hpp"
#include "points/change_feed.hpp"
#include "runtime/histogram.hpp"

namespace pollux::app {

// Poll result to the message written by the MQTT client (northbound.md settled: QoS 0).
inline constexpr std::array<double, 12> kPublishBoundsMs{1,   2.5, 5,    10,   25,    50,
                                                         100, 250, 1000, 2500, 10000, 60000};

class NodeNorthbound {
 public:
  using Write =
      std::function<void(const std::string& device, const std::string& point,
                         const api::WriteValue& value, std::function<void(api::Outcome)> done)>;
  NodeNorthbound(runtime::Executor& ex, engine::Engine& engine, Write write);
  ~NodeNorthbound();
  NodeNorthbound(const NodeNorthbound&) = delete;
  NodeNorthbound& operator=(const NodeNorthbound&) = delete;

  // After the engine started, and after every config it applies (reload, config sync).
  void configure(const config::Config& cfg);
  void set_active(bool active);
  // Redundancy/Peer Connected (a pair's link state, read once a second).
  void set_peer_probe(std::function<bool()> linked) { peer_linked_ = std::move(linked); }
  // The node's history, when configured (nullptr otherwise): where held changes are read back
  // from after a restart.
  void set_history(std::function<history::History*()> h) { history_ = std::move(h); }
  // Clean end: NDEATH and disconnect.
  void stop();

  // The pair: the bdSeq of this node's last session (sent to the standby), and the active
  // node's one as received (a standby only).
  std::optional<std::uint64_t> bd_seq() const;
  void adopt_bd_seq(std::uint64_t bd_seq);

  std::optional<api::NorthboundView> view() const;
  // The pollux_northbound_* families (empty without northbound).
  std::string metrics_text() const;

 private:
  // Where a point of the store goes in the session's model.
  struct Slot {
    std::uint32_t device = 0;
    std::uint32_t point = 0;
    northbound::DataType type = northbound::DataType::unknown;
    history::Rule rule;
  };
  static northbound::Session::Options session_options(const config::NorthboundSettings& s);
  void make_session(const config::NorthboundSettings& s);
  void end_session();
  void build_model(const config::Config& cfg, std::vector<northbound::DeviceModel>& devices);
  std::vector<northbound::NodeMetric> node_metrics() const;
  void seed_current();
  void drain_feed();
  // One slice of the feed taken; returns how many changes it held.
  std::size_t take_slice();
  void take(const points::Change& c);
  void flush_group();
  void run(northbound::Actions& actions);
  void connect(northbound::Connect& c);
  void publish(northbound::Publish& p);
  void pump();
  void arm_wake();
  void arm_probe();
  void on_published(std::uint64_t cookie, bool ok);
  void on_message(const std::string& topic, const std::string& payload);
  void execute(const northbound::WriteRequest& w);
  void load_state();
  void save_state();
  // held_since follows the session: set when it starts holding, moved forward as the held
  // changes go out, cleared once all is published.
  void track_held();
  void arm_state_refresh();
  void note_first(const std::vector<northbound::PointChange>& changes);
  void start_backfill();
  void read_back(history::Millis from, int attempt);
  void on_read_back(history::WindowAnswer a, history::Millis from, int attempt);
  void finish_backfill();
  std::uint64_t wall_ms() const;

  runtime::Executor& ex_;
  engine::Engine& engine_;
  Write write_;
  std::function<bool()> peer_linked_;
  std::optional<config::NorthboundSettings> settings_;
  std::string node_name_;
  std::string config_version_;
  std::unique_ptr<northbound::Session> session_;
  std::unique_ptr<mqtt::Client> client_;
  bool disconnecting_ = false;  // the session asked for a clean disconnect
  // Each session's client carries its generation; retired ones finish their DISCONNECT.
  std::uint64_t generation_ = 0;
  std::vector<std::pair<std::uint64_t, std::unique_ptr<mqtt::Client>>> retiring_;
  bool active_ = false;
  bool peer_connected_ = false;

  // The model: the store's points by id, and each device's point ids in model order.
  std::unordered_map<points::PointId, Slot> slots_;
  std::vector<std::string> device_ids_;
  std::vector<std::vector<points::PointId>> device_points_;
  std::vector<const config::Device*> device_configs_;
  // The deadband and max_interval rules decide DDATA as they decide history records, but
  // against what this session published: a new session starts from nothing while history's
  // recorder keeps what the store holds. So the northbound keeps a recorder of its own rather
  // than sharing History's.
  history::Recorder recorder_;
  points::Subscription sub_;
  bool drain_posted_ = false;

  // The changes of one poll result of one device, gathered for one on_changes call.
  std::optional<std::uint32_t> group_device_;
  std::uint64_t group_time_ = 0;
  std::vector<northbound::PointChange> group_;

  // bdSeq: the last one saved in state_path (the file is written when it changes).
  std::optional<std::uint64_t> saved_bd_seq_;
  std::string loaded_state_path_;
  // The time (ms) of the oldest change not yet published, as in the state file.
  std::optional<std::uint64_t> held_since_;
  // session_->dropped() when holding began: after a drop, held_since no longer moves.
  std::uint64_t dropped_when_held_ = 0;
  runtime::TimerId state_timer_;              // the state file's refresh while changes are held
  std::optional<std::uint64_t> stopping_at_;  // the clean stop's time, for held_until
  // held_since and held_until as this process found them in the state file: the changes
  // between are read back from history once, the first time the session is active (never past
  // start_ms_).
  std::optional<std::uint64_t> replay_from_;
  std::optional<std::uint64_t> replay_to_;
  // Where the read-back ends: this process's start, or the time of its first change if earlier
  // (a SYDEV* point set as its device loaded), so no change of this process is read back too.
  std::uint64_t start_ms_ = std::numeric_limits<std::uint64_t>::max();
  bool started_ = false;
  history::Millis backfill_to_ = 0;  // the read-back's end, fixed when it starts
  std::function<history::History*()> history_;
  std::uint64_t backfill_generation_ = 0;  // the session generation a read-back belongs to

  runtime::TimerId wake_timer_;
  std::optional<runtime::TimePoint> wake_at_;
  runtime::TimerId probe_timer_;
  std::uint64_t next_cookie_ = 0;
  // Publishes with a poll-result time (DDATA), by cookie: for the latency histogram.
  std::unordered_map<std::uint64_t, std::uint64_t> source_times_;
  runtime::Histogram<kPublishBoundsMs> publish_ms_;
  std::uint64_t published_ = 0;
  std::array<std::uint64_t, 9> messages_{};  // by northbound::MessageType
  std::uint64_t publish_failures_ = 0;
  std::string last_error_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::app
