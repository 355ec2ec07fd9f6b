// What the HTTP API and status page need from a running node (spec/api.md), as plain data.
//
// The engine/node implements NodeApi; the HTTP layer (Beast) turns these views into the JSON
// shapes of api.md and never touches engine internals. Every call is made on the node's I/O
// thread and must not block: long operations (a write waiting for the device) complete through
// a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/body_source.hpp"
#include "api/live_stream.hpp"
#include "runtime/clock.hpp"

namespace pollux::api {

// A status code from api.md (200, 202, 400, 403, 404, 409, 502, 504) and, unless 2xx, why.
struct Outcome {
  int status = 200;
  std::string error;
  bool ok() const { return status >= 200 && status < 300; }
  static Outcome success(int status = 200) { return {status, {}}; }
  static Outcome failure(int status, std::string why) { return {status, std::move(why)}; }
};

// A point value as api.md shows it: null before the first good read, else number/bool/string.
using PointValue =
    std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

enum class Quality { good, bad, uncertain };

struct LineView {
  int line = 1;
  std::string channel;
  bool eligible = true;
  bool usable = true;
  // Lines 2 and 3: failover.md rule 5's timer, so a client can say when Retry primary moves the
  // device back to line 1 (a manual change restarts it). Unset: no Retry primary from here.
  std::optional<double> retry_primary_s;
};

struct DeviceStats {
  std::uint64_t messages_ok = 0;
  std::uint64_t messages_failed = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t framing_errors = 0;
  std::uint64_t polls_ok = 0;
  std::uint64_t polls_failed = 0;
  // Our additions: auto-demotion (engine issue) and skipped scheduled polls.
  bool demoted = false;
  std::uint64_t polls_skipped = 0;
  std::uint64_t overruns = 0;
};

// api.md DEVICE.comm: can the device be reached? `failed` from the last poll attempt on its active
// line failing after all its tries until the next answer; `disabled` when the device, or the
// channel of every line it has, is switched off.
enum class CommStatus { ok, failed, disabled };

struct DeviceView {
  std::string id;
  bool enabled = true;
  int unit = 1;
  bool auto_failover = true;
  int active_line = 1;
  std::string active_channel;
  std::vector<LineView> lines;
  bool primary_failed_over = false;
  std::optional<runtime::WallTime> last_success;
  int last_good_line = 0;  // 0: no successful I/O yet (shown as null)
  CommStatus comm = CommStatus::ok;
  DeviceStats stats;
  std::vector<std::string> writable;  // the points the API and DCMD may write, as configured
};

struct PointView {
  std::string device;
  std::string name;
  PointValue value;
  Quality quality = Quality::bad;
  std::optional<runtime::WallTime> timestamp;
  std::string error;  // set when bad
};

enum class ChannelStatus { ok, down, disabled };

struct ChannelView {
  std::string id;
  std::string type;      // serial | modem | tcp
  std::string protocol;  // modbus-rtu | ...
  bool enabled = true;
  ChannelStatus status = ChannelStatus::ok;
  // Counter name -> value, shown as the "stats" object (e.g. messages, bytes_out, reconnects).
  std::vector<std::pair<std::string, std::uint64_t>> stats;
};

struct EventView {
  std::uint64_t seq = 0;
  runtime::WallTime time;
  std::string device;
  int from = 0;
  int to = 0;
  std::string reason;  // failover.md reasons: initial_fail, subsequent_fail, ...
};

struct HealthView {
  std::string node;
  std::string role = "independent";  // independent | master | backup
  std::string activity = "active";   // active | standby
  // history.md "Faults": "ok" or "error: ..."; absent without a `history:` section.
  std::optional<std::string> history;
};

struct RedundancyEventView {
  std::uint64_t seq = 0;
  runtime::WallTime time;
  std::string from;
  std::string to;
  std::string reason;
};

struct RedundancyView {
  std::string mode = "independent";
  std::string activity = "active";
  bool peer_connected = false;
  bool peer_authenticated = false;
  std::string peer_address;
  std::optional<runtime::WallTime> peer_last_heartbeat;
  std::string peer_activity = "unknown";  // active | standby | unknown
  // redundancy.md "Partitions": where the peer is heard now (link | link_alt | broker, "" for
  // nowhere), and every path with its state.
  std::string peer_via;
  struct Path {
    std::string name;
    bool up = false;
    std::optional<runtime::WallTime> last_heard;
  };
  std::vector<Path> paths;
  std::string config_version;
  std::uint64_t state_seq = 0;
  std::string last_error;
  std::vector<RedundancyEventView> events;
  // history.md "Redundancy": the backup's level and the forwarding counters (absent without
  // history).
  struct History {
    std::string level;  // full | partial
    std::uint64_t pending = 0;
    std::uint64_t forwarded = 0;
  };
  std::optional<History> history;
};

// GET /api/v1/northbound (spec/northbound.md "Sessions, outages and the pair"): the Sparkplug
// session of this node.
struct NorthboundView {
  bool connected = false;
  std::string broker;     // the MQTT url
  std::string edge_node;  // group_id/edge_node_id
  std::int64_t bd_seq = 0;
  std::int64_t seq = 0;  // the last sequence number sent
  std::uint64_t held = 0;
  std::uint64_t published = 0;  // messages
  std::string last_error;       // "" when none
  // Our additions: the session's state (inactive, connecting, awaiting_host, live, ...), the
  // held values dropped past max_records and the refused DCMD metric values.
  std::string state;
  std::uint64_t dropped = 0;
  std::uint64_t commands_refused = 0;
};

// GET /api/v1/history (spec/history.md "Reading it back"), already validated by the HTTP layer.
struct HistoryRequest {
  std::string device;
  std::string point;
  runtime::WallTime from;  // inclusive
  runtime::WallTime to;    // exclusive
  std::size_t limit = 10'000;
  // Set: per-interval aggregates of this many milliseconds.
  std::optional<std::int64_t> interval_ms;
};
struct HistorySample {
  runtime::WallTime time;
  PointValue value;
  Quality quality = Quality::bad;
};
struct HistoryInterval {
  runtime::WallTime time;  // the interval's start
  double min = 0;
  double max = 0;
  double avg = 0;
  double last = 0;
  std::uint64_t count = 0;
};
struct HistoryAnswer {
  Outcome outcome;  // 200, 400, 404, 503 (store unavailable)
  std::vector<HistorySample> records;
  std::optional<runtime::WallTime> next;
  std::vector<HistoryInterval> intervals;
};

struct ReloadOutcome {
  Outcome outcome;                  // 200, 400 (invalid file) or 403 (backup)
  std::string version;              // config version after a successful reload
  std::vector<std::string> errors;  // "FILE:LINE:COL: error: ..." lines when invalid
};

// The value an operator asked to write, as parsed from JSON.
using WriteValue = std::variant<bool, std::int64_t, double, std::string>;

// Answers a reload (NodeApi::reload).
using ReloadDone = std::function<void(ReloadOutcome)>;

class NodeApi {
 public:
  virtual ~NodeApi() = default;

  virtual HealthView health() = 0;
  // Every device id, in config order. The all-devices and all-points listings are built from
  // it one slice of devices per I/O turn (device() and points()), so a node of 10,000 devices
  // and 160,000 points never holds the I/O thread for a whole listing.
  virtual std::vector<std::string> device_ids() = 0;
  virtual std::optional<DeviceView> device(const std::string& id) = 0;
  // One device's points (nullopt when that device is unknown).
  virtual std::optional<std::vector<PointView>> points(const std::string& device) = 0;
  virtual std::vector<ChannelView> channels() = 0;
  virtual std::vector<EventView> events(std::uint64_t since) = 0;

  // POST /devices/{id}/line: 200 with the device, 400 line out of 1..3, 404, 409 with reason.
  virtual Outcome select_line(const std::string& id, int line) = 0;
  // POST /devices/{id}/poll: 202, 404, 409 on a standby node.
  virtual Outcome poll_now(const std::string& id) = 0;
  // POST /devices/{id}/write: completes once the device confirmed (200) or failed (502/504);
  // 400 not writable or out of range, 404 unknown device or point, 409 standby.
  virtual void write(const std::string& id, const std::string& point, const WriteValue& value,
                     std::function<void(Outcome)> done) = 0;
  // POST /channels/{id}/enable|disable: 200 with the channel, 404, 409 standby.
  virtual Outcome set_channel_enabled(const std::string& id, bool enabled) = 0;
  // POST /config/reload and SIGHUP. The file is read and validated off the I/O thread, then
  // applied on it; `done` gets the outcome on the I/O thread (at once when refused outright).
  virtual void reload(ReloadDone done) = 0;

  virtual RedundancyView redundancy() = 0;
  virtual Outcome force_failover() = 0;
  virtual Outcome recover() = 0;

  // GET /api/v1/history: `done` runs later on the I/O thread (the query runs off it). A node
  // without a `history:` section answers 404.
  virtual void history(const HistoryRequest& request, std::function<void(HistoryAnswer)> done) {
    (void)request;
    HistoryAnswer a;
    a.outcome = Outcome::failure(404, "no history is kept on this node (no 'history:' section)");
    done(std::move(a));
  }

  // GET /api/v1/northbound: nullopt (404) without a `northbound:` section.
  virtual std::optional<NorthboundView> northbound() { return std::nullopt; }

  // GET /api/v1/stream: the live stream's journal; nullptr: this node has none (404).
  virtual StreamJournal* stream() { return nullptr; }

  // GET /metrics: Prometheus text exposition format, a part per I/O turn.
  virtual std::unique_ptr<BodySource> metrics() = 0;
  // The same text whole.
  std::string metrics_text() { return drain(*metrics()); }
};

}  // namespace pollux::api
