// The Sparkplug B session machine (spec/northbound.md "Topics and payloads", "Sessions,
// outages and the pair" and "Settled details"): what the active node publishes to the broker and
// when. Pure code (DESIGN.md principle 1): no I/O, no clock reads. Every call takes `now`
// (monotonic, for the reconnect backoff) and the wall time in ms (payload timestamps), and
// appends the Actions the node carries out in order: Connect, Publish, Disconnect.
//
// Rules implemented, one function each where they have one:
// - Activity: only an active session connects; giving up activity publishes NDEATH (QoS 1) and
//   disconnects, and drops the held changes (set_active).
// - bdSeq: each session's is one more than the last session's (0..255 wrapping), carried in the
//   will (NDEATH, QoS 1) and in the NBIRTH; a failed attempt retries with the same one (the
//   host never saw it); it is committed once connected, and continues from the state file, a
//   restart or the peer (constructor, adopt_bd_seq) (next_bd_seq, commit_bd_seq).
// - Reconnect: backoff from 1 s doubling to at most 10 s; a lost connection starts again at 1 s
//   (on_connect_failed, on_connection_lost, tick).
// - seq: NBIRTH is 0, every later DBIRTH/DDATA/DDEATH/NDATA one more, wrapping 255 -> 0; NDEATH
//   has none (stamp).
// - Births: NBIRTH (bdSeq Int64, Node Control/Rebirth Boolean, the node metrics), then one
//   DBIRTH per device with every point's name, alias, datatype, current value (null and Quality
//   0 before a first read), timestamp and Quality (publish_births). Aliases are unique across
//   the Edge Node and stable across set_model for the same (device, point name); data messages
//   carry the alias and no name (alias_for).
// - Live data: one DDATA per device per on_changes call while live and nothing is held.
// - Store and forward: while active and not live, changes are held in order up to max_held
//   metric values (oldest dropped and counted); on going live births come first, then drain()
//   sends the held changes oldest first as DDATA with is_historical, consecutive changes of one
//   device per message; changes arriving while held ones are queued go behind them, not
//   historical (hold, drain). A standby holds nothing.
// - Restart: the node reads the changes an earlier process held back from the history store
//   and hands them over between begin_backfill() and end_backfill(); they go before everything
//   this session holds, historical, within the same max_held (backfill). Meanwhile nothing held
//   is drained and changes are held even when live, so the order survives a read that ends
//   after the session went live.
// - Primary host: with primary_host_id set, nothing is published until
//   spBv1.0/STATE/{host} says {"online":true}; the host going offline while live ends the
//   session (NDEATH, Disconnect) and reconnects at once with the next bdSeq (on_state).
// - Commands: NCMD Node Control/Rebirth = true republishes every birth (same bdSeq); DCMD
//   metrics, named or aliased, of writable points with a value that converts become
//   WriteRequests; everything else is refused and counted per metric value; nothing is accepted
//   unless live (hence active) (on_ncmd, on_dcmd, check_write).
// - Reload: a device removed or disabled gets its DDEATH, an added or changed one its DBIRTH
//   (set_model); a new group, edge node or primary host ends the session and starts a new one
//   (set_options).
//
// Contract for the node: one Session per node, every call on one strand. Carry out the Actions
// in order. After on_connected, bd_seq() is the session's committed bdSeq: persist it
// (state_path) and sync it to the peer; the standby passes the peer's to adopt_bd_seq(). Arm
// one timer for next_wake() and call tick() then. While live() and held() > 0, call drain()
// whenever the MQTT client has room.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "northbound/payload.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"

namespace pollux::northbound {

enum class MessageType { nbirth, ndeath, dbirth, ddeath, ndata, ddata, ncmd, dcmd, state };
inline constexpr std::size_t kMessageTypeCount = 9;
std::string_view to_string(MessageType t);  // "NBIRTH", ...

// spBv1.0/{group}/{type}/{edge}[/{device}]
std::string topic(std::string_view group, MessageType t, std::string_view edge,
                  std::string_view device = {});
// spBv1.0/STATE/{host} (Sparkplug 3.0).
std::string state_topic(std::string_view host);

// Names of the metrics the session itself owns.
inline constexpr std::string_view kBdSeqMetric = "bdSeq";
inline constexpr std::string_view kRebirthMetric = "Node Control/Rebirth";

struct PointModel {
  std::string name;
  DataType type = DataType::unknown;
  bool writable = false;
  friend bool operator==(const PointModel&, const PointModel&) = default;
};

// One enabled device as DBIRTH describes it: its configured points then its SYDEV* status
// points. Point indexes in PointChange refer to this order.
struct DeviceModel {
  std::string id;
  std::vector<PointModel> points;
  friend bool operator==(const DeviceModel&, const DeviceModel&) = default;
};

// Pollux's own node metrics besides bdSeq and Node Control/Rebirth (Redundancy/Activity,
// Redundancy/Peer Connected, node status), with their values.
struct NodeMetric {
  std::string name;
  DataType type = DataType::unknown;
  MetricValue value;
  friend bool operator==(const NodeMetric&, const NodeMetric&) = default;
};

struct Publish {
  MessageType type = MessageType::ndata;
  std::string topic;
  Payload payload;     // seq set for all but NDEATH; timestamp = the wall time given with the event
  int qos = 0;         // 0; NDEATH 1
  std::string device;  // DBIRTH/DDATA/DDEATH
  // DDATA: the time of the oldest change in it that was not held while offline (the
  // publish-latency histogram, poll result to broker); 0 when there is none, and for other types.
  std::uint64_t source_time_ms = 0;
};

struct Connect {
  std::uint8_t bd_seq = 0;
  Publish will;  // NDEATH with this bdSeq, QoS 1
  std::vector<std::string> subscriptions;
};
struct Disconnect {};
using Action = std::variant<Connect, Publish, Disconnect>;
using Actions = std::vector<Action>;

// A changed point of a device after one poll result (the node applies the change rules first).
struct PointChange {
  std::uint32_t point = 0;
  MetricValue value;
  std::int32_t quality = kQualityBad;
  std::uint64_t time_ms = 0;
};

// A DCMD metric that passed every check: the node writes it through the API's write path.
struct WriteRequest {
  std::uint32_t device = 0;
  std::uint32_t point = 0;
  MetricValue value;
  friend bool operator==(const WriteRequest&, const WriteRequest&) = default;
};

// Decodes a protobuf Payload (the encoder's decode()); nullopt with *error set when malformed.
using Decoder = std::function<std::optional<Payload>(std::string_view, std::string*)>;

enum class SessionState { inactive, waiting_to_connect, connecting, awaiting_host, live };
std::string_view to_string(SessionState s);

class Session {
 public:
  using State = SessionState;
  struct Options {
    std::string group_id;
    std::string edge_node_id;
    std::string primary_host_id;  // empty: none
    std::size_t max_held = 1'000'000;
    std::size_t max_metrics_per_message = 500;  // held changes per DDATA
    Decoder decode;                             // NCMD/DCMD payloads; unset: refused
  };

  static constexpr runtime::Duration kBackoffFloor = runtime::seconds(1);
  static constexpr runtime::Duration kBackoffCap = runtime::seconds(10);
  static constexpr std::uint64_t kRebirthAlias = 0;

  // last_bd_seq: the bdSeq of the last session (state file / peer); nullopt: the first NBIRTH
  // carries 0.
  Session(Options o, std::optional<std::uint8_t> last_bd_seq);

  // Reload. A new group, edge node or primary host while connected ends the session (NDEATH,
  // Disconnect) and, being active, connects again at once (next bdSeq); while an attempt is in
  // flight it is abandoned (Disconnect) and made again with the same bdSeq. A smaller max_held
  // drops the oldest held changes (counted). The rest applies from the next message on.
  void set_options(Options o, runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);
  const Options& options() const { return options_; }

  // The enabled devices and the node metrics. Current values of points whose device, name and
  // type are kept stay; held changes follow their points to their new indexes (those of removed
  // points are discarded). While live: DDEATH for each device gone, DBIRTH for each added or
  // changed one; a change in the node metrics' names or types is a rebirth (NBIRTH + every
  // DBIRTH), a change of their values only NDATA.
  void set_model(std::vector<DeviceModel> devices, std::vector<NodeMetric> node,
                 runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);

  void set_active(bool active, runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);
  void on_connected(runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);
  void on_connect_failed(runtime::TimePoint now, std::string reason, Actions& out);
  void on_connection_lost(runtime::TimePoint now, std::string reason, Actions& out);
  // When tick() has a reconnect to make; nullopt when none is waiting.
  std::optional<runtime::TimePoint> next_wake() const;
  void tick(runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);

  // Any message on a subscribed topic (NCMD, DCMD, STATE). Returns the DCMD writes to make.
  std::vector<WriteRequest> on_message(std::string_view topic, std::string_view payload,
                                       runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);

  // Changed points of device `device` (an index into the current model). Always kept as the
  // points' current values (births need them); published or held only while active.
  void on_changes(std::uint32_t device, std::span<const PointChange> changes,
                  runtime::TimePoint now, std::uint64_t wall_ms, Actions& out);
  // NDATA when live; the value is kept for births in any state. Unknown names are ignored.
  void set_node_metric(std::string_view name, MetricValue v, std::uint64_t wall_ms, Actions& out);
  // Held changes out as DDATA while live, at most max_messages messages per call.
  void drain(std::size_t max_messages, std::uint64_t wall_ms, Actions& out);
  // Store and forward across a restart: changes an earlier process held, read back from the
  // history store oldest first. Between begin_backfill() and end_backfill() changes are held
  // even when live and drain() sends nothing; each backfill() call goes behind the earlier ones
  // and before every change this session holds, as historical, within max_held (the oldest
  // dropped and counted). backfill() outside begin/end, or while inactive, is ignored;
  // set_active(false) ends a backfill.
  void begin_backfill();
  void backfill(std::uint32_t device, std::span<const PointChange> changes);
  void end_backfill();  // then drain() as usual
  bool backfilling() const { return backfilling_; }
  // The time of the oldest held change; nullopt when nothing is held.
  std::optional<std::uint64_t> oldest_held_ms() const {
    if (held_.empty()) return std::nullopt;
    return held_.front().time_ms;
  }
  // The peer's committed bdSeq (state sync); ignored while active (this node owns the counter).
  void adopt_bd_seq(std::uint8_t last);

  SessionState state() const { return state_; }
  bool active() const { return state_ != SessionState::inactive; }
  bool live() const { return state_ == SessionState::live; }
  bool connected() const {
    return state_ == SessionState::live || state_ == SessionState::awaiting_host;
  }
  // The last committed session's bdSeq (the current one once connected); nullopt before any.
  std::optional<std::uint8_t> bd_seq() const { return last_bd_seq_; }
  std::uint8_t seq() const { return seq_; }  // the last seq sent
  std::size_t held() const { return held_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t commands_refused() const { return commands_refused_; }
  // Messages on subscribed topics that did not parse (STATE JSON, NCMD/DCMD protobuf).
  std::uint64_t malformed() const { return malformed_; }
  std::uint64_t published(MessageType t) const { return published_[static_cast<std::size_t>(t)]; }
  std::uint64_t published_total() const;
  const std::string& last_error() const { return last_error_; }
  const std::vector<DeviceModel>& devices() const { return models_; }

 private:
  struct PointState {
    std::uint64_t alias = 0;
    MetricValue value;
    std::int32_t quality = kQualityBad;
    std::uint64_t time_ms = 0;
  };
  struct DeviceState {
    std::vector<PointState> points;
  };
  struct NodeState {
    NodeMetric metric;
    std::uint64_t alias = 0;
  };
  struct Held {
    std::uint32_t device = 0;
    std::uint32_t point = 0;
    std::int32_t quality = kQualityBad;
    bool historical = false;
    std::uint64_t time_ms = 0;
    MetricValue value;
  };

  std::uint8_t next_bd_seq() const;
  void connect(std::uint64_t wall_ms, Actions& out);
  void end_session(std::uint64_t wall_ms, Actions& out);
  void go_live(std::uint64_t wall_ms, Actions& out);
  void publish_births(std::uint64_t wall_ms, Actions& out);
  void publish_dbirth(std::uint32_t device, std::uint64_t wall_ms, Actions& out);
  void publish_ddeath(const std::string& id, std::uint64_t wall_ms, Actions& out);
  void hold(std::uint32_t device, std::span<const PointChange> changes);
  void trim_held();
  void on_state(std::string_view payload, std::uint64_t wall_ms, Actions& out);
  void on_ncmd(const Payload& p, std::uint64_t wall_ms, Actions& out);
  void on_dcmd(std::string_view device_id, const Payload& p, std::vector<WriteRequest>& writes);
  void refuse(std::string reason);
  std::uint64_t alias_for(const std::string& device, const std::string& name);
  Publish make(MessageType t, std::string_view device, std::uint64_t wall_ms);
  void stamp(Publish& p);
  void emit(Publish p, Actions& out);
  Metric bd_seq_metric(std::uint8_t bd, std::uint64_t wall_ms) const;
  void refresh_topics();

  Options options_;
  SessionState state_ = SessionState::inactive;
  std::optional<std::uint8_t> last_bd_seq_;
  std::uint8_t attempt_bd_seq_ = 0;  // the bdSeq of the attempt in flight / the live session
  std::uint8_t seq_ = 0;
  runtime::Backoff backoff_;
  std::optional<runtime::TimePoint> wake_at_;
  std::optional<std::uint64_t> last_state_timestamp_;

  std::vector<DeviceModel> models_;
  std::vector<DeviceState> devices_;
  std::map<std::string, std::uint32_t, std::less<>> device_index_;  // id -> index (DCMD)
  std::vector<NodeState> node_;
  // (device id, point name) -> alias; node metrics under an empty device id. Never shrinks, so
  // a device or point that comes back gets its alias back.
  std::map<std::pair<std::string, std::string>, std::uint64_t> aliases_;
  std::uint64_t next_alias_ = kRebirthAlias + 1;

  std::deque<Held> held_;
  // The first backfilled_ of held_ came from backfill(); the next one goes behind them.
  std::size_t backfilled_ = 0;
  bool backfilling_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t commands_refused_ = 0;
  std::uint64_t malformed_ = 0;
  std::array<std::uint64_t, kMessageTypeCount> published_{};
  std::string last_error_;

  std::string ncmd_topic_, dcmd_prefix_, state_topic_;
};

}  // namespace pollux::northbound
