// The configuration model: plain structs for one node's config (spec/config.md).
//
// These are what crosses module borders (DESIGN.md principle 5): the loader fills them, the
// engine, failover policy and redundancy read them. Defaults here are the spec's defaults, so
// a default-constructed value is what an absent key means. Per-path values are already
// resolved: a Path holds its channel's defaults with the path's own overrides applied.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pollux::config {

enum class ChannelType { serial, modem, tcp };
enum class Protocol { modbus_rtu, modbus_ascii, modbus_tcp, modbus_rtu_over_tcp };
enum class Parity { none, even, odd };
enum class Sequence { try_in_order, jump_to_last_good };
enum class Table { coil, discrete, input, holding };
enum class PointType {
  boolean,
  int16,
  uint16,
  int32,
  uint32,
  float32,
  int64,
  uint64,
  float64,
  string
};
enum class Order { big, little };
enum class RedundancyMode { independent, master, backup };
enum class Recovery { automatic, manual };
enum class Standby { cold, warm };
enum class HistoryLevel { partial, full };
enum class HistoryBackend { sqlite, postgresql };

// Spelling as in the YAML (e.g. "modbus-rtu", "try_in_order", "bool").
std::string_view to_string(ChannelType v);
std::string_view to_string(Protocol v);
std::string_view to_string(Parity v);
std::string_view to_string(Sequence v);
std::string_view to_string(Table v);
std::string_view to_string(PointType v);
std::string_view to_string(Order v);
std::string_view to_string(RedundancyMode v);
std::string_view to_string(Recovery v);
std::string_view to_string(Standby v);
std::string_view to_string(HistoryLevel v);
std::string_view to_string(HistoryBackend v);

// Registers (or bits, for coil/discrete) one point of this type occupies; `length` for strings.
int register_count(PointType type, int string_length);
bool is_bit_table(Table t);

// Per-message timing, given on the channel as defaults and overridable per path.
struct MessageTiming {
  int message_timeout_ms = 1000;
  int message_delay_ms = 0;
  int poll_attempts = 3;
  // Tries of a master-mode message (write). Our addition, default 1: a write whose answer was
  // lost may have been executed, so it is never sent twice unless the config says so.
  int write_attempts = 1;
  friend bool operator==(const MessageTiming&, const MessageTiming&) = default;
};

struct Channel {
  std::string id;
  ChannelType type = ChannelType::serial;
  Protocol protocol = Protocol::modbus_rtu;
  bool enabled = true;
  // serial and modem
  std::string port;
  int baud = 9600;
  Parity parity = Parity::none;
  int data_bits = 8;
  int stop_bits = 1;
  // modem
  std::string init = "ATZ";
  double dial_timeout_s = 60;
  double idle_hangup_s = 5;
  // tcp
  int connect_timeout_ms = 3000;
  int max_connections = 64;
  // defaults for paths
  MessageTiming timing;
  // Auto-demotion (our addition, off by default): after this many consecutive failed polls a
  // device's scheduled polls are skipped for `demote_for_ms`, so a dead RTU costs its line-mates
  // nothing while demoted. 0 = off.
  int demote_after_failed_polls = 0;
  int demote_for_ms = 30000;
  friend bool operator==(const Channel&, const Channel&) = default;
};

// One line of a device (1 primary, 2 first failover, 3 second failover), fully resolved.
struct Path {
  std::string channel;
  MessageTiming timing;     // channel defaults + path overrides
  std::string host;         // tcp
  int port = 0;             // tcp
  std::string phone;        // modem
  std::string init;         // modem: path override, else the channel's init
  std::optional<int> unit;  // per-path unit id override; else Device::unit
  bool available = true;    // lines 2 and 3 only (line 1 is always eligible)
  double initial_fail_s = 60;
  std::optional<double> subsequent_fail_s;  // never on line 3 (failover rule 9)
  std::optional<double> retry_primary_s;    // lines 2 and 3 only
  friend bool operator==(const Path&, const Path&) = default;
};

struct Comm {
  bool auto_failover = true;  // YAML key `auto`
  Sequence sequence = Sequence::try_in_order;
  bool failback_on_failure = false;
  bool retry_in_progress_control = false;
  int active = 1;
  std::array<std::optional<Path>, 3> lines;  // [0] primary, [1] first, [2] second failover
  friend bool operator==(const Comm&, const Comm&) = default;
};

// A point's `history:` (spec/history.md): `false` records nothing; a mapping overrides the
// section's deadband and max_interval_s for this point.
struct PointHistory {
  bool enabled = true;
  std::optional<double> deadband;
  std::optional<double> max_interval_s;
  friend bool operator==(const PointHistory&, const PointHistory&) = default;
};

struct Point {
  std::string name;
  Table table = Table::holding;
  std::uint16_t address = 0;
  PointType type = PointType::uint16;
  Order word_order = Order::big;
  Order byte_order = Order::big;
  double scale = 1.0;
  double offset = 0.0;
  int length = 0;  // string points: length in registers
  PointHistory history;
  friend bool operator==(const Point&, const Point&) = default;
};

struct PollGroup {
  std::string name;
  int interval_ms = 1000;
  std::vector<Point> points;
  friend bool operator==(const PollGroup&, const PollGroup&) = default;
};

struct Device {
  std::string id;
  bool enabled = true;
  int unit = 1;
  Comm comm;
  std::vector<PollGroup> polls;
  std::vector<std::string> writable;
  // Read planner: merge ranges across gaps up to this size (our addition; codec issue).
  int max_gap_registers = 16;
  int max_gap_bits = 64;
  // api.md settled: a range refused with exception 02 is asked again this often (0: only at a
  // poll-now).
  int refused_retry_s = 60;
  friend bool operator==(const Device&, const Device&) = default;
};

struct NodeSettings {
  std::string name;
  friend bool operator==(const NodeSettings&, const NodeSettings&) = default;
};

// spec/security.md: each role includes the one before (viewer < operator < admin).
enum class ApiRole { viewer, operator_, admin };
std::string_view to_string(ApiRole v);

// One bearer token of `api.tokens` (security.md "Configuration"). Node-local, like all of
// `api:`: never in the synchronized text, so a token never reaches the peer.
struct ApiToken {
  std::string name;
  std::string token;
  ApiRole role = ApiRole::viewer;
  friend bool operator==(const ApiToken&, const ApiToken&) = default;
};

// spec/security.md: `api.tls` serves HTTPS (only) with this certificate chain and key.
struct ApiTls {
  std::string cert_file;
  std::string key_file;
  friend bool operator==(const ApiTls&, const ApiTls&) = default;
};

struct ApiSettings {
  std::string listen = "127.0.0.1:8780";
  // Empty: every request is allowed (only possible on a loopback `listen`).
  std::vector<ApiToken> tokens;
  std::optional<ApiTls> tls;  // absent: plain HTTP
  friend bool operator==(const ApiSettings&, const ApiSettings&) = default;
};

struct RedundancySettings {
  RedundancyMode mode = RedundancyMode::independent;
  std::string listen = "127.0.0.1:8750";
  std::string master = "127.0.0.1:8750";
  // redundancy.md "Partitions": an optional second peer link over another network (empty:
  // none). The peer is lost only when both links are silent; either one carries sync.
  std::string listen_alt;
  std::string master_alt;
  std::string psk;
  int heartbeat_interval_ms = 500;
  int failover_timeout_ms = 3000;
  Recovery recovery = Recovery::automatic;
  Standby standby = Standby::cold;
  int startup_allowance_ms = 5000;
  HistoryLevel history = HistoryLevel::partial;
  friend bool operator==(const RedundancySettings&, const RedundancySettings&) = default;
};

// The top-level `history:` section (spec/history.md "Configuration"). The section is shared
// (synced master -> backup) except the node-local keys path, url, cache_path and max_size_mb,
// which a backup takes from its own file (or their defaults).
struct HistorySettings {
  HistoryBackend backend = HistoryBackend::sqlite;
  std::string path = "/var/lib/pollux/history.db";  // node-local
  std::string url;                                  // node-local (postgresql)
  // node-local; empty in the file: history-cache.db in the directory of `path`
  std::string cache_path;
  int retention_days = 30;  // 0: keep forever
  double deadband = 0;
  double max_interval_s = 0;
  // Our addition, node-local: caps the SQLite file (0: no cap). A full store is a write error
  // like a full disk: records wait and writing resumes once there is room.
  int max_size_mb = 0;
  // cache_path, or its default beside `path`.
  std::string resolved_cache_path() const;
  friend bool operator==(const HistorySettings&, const HistorySettings&) = default;
};

// The top-level `northbound:` section (spec/northbound.md "Configuration"): Sparkplug B over
// MQTT. Shared (synced master -> backup) except the node-local keys mqtt.client_id and
// state_path; a backup may override `mqtt` (another broker) under backup_overrides.northbound.
struct MqttTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  friend bool operator==(const MqttTls&, const MqttTls&) = default;
};
struct MqttSettings {
  std::string url;        // tcp://host:port or ssl://host:port
  std::string client_id;  // node-local; empty in the file: "pollux-" + node.name
  std::string username;   // empty: none
  std::string password;   // empty: none
  MqttTls tls;            // with ssl://
  int keepalive_s = 30;
  friend bool operator==(const MqttSettings&, const MqttSettings&) = default;
};
struct SparkplugSettings {
  std::string group_id;         // required
  std::string edge_node_id;     // required; both nodes of a pair use the same one
  std::string primary_host_id;  // empty: publish without waiting for a host
  friend bool operator==(const SparkplugSettings&, const SparkplugSettings&) = default;
};
struct NorthboundSettings {
  MqttSettings mqtt;
  SparkplugSettings sparkplug;
  std::uint64_t max_records = 1'000'000;  // store_and_forward.max_records (metric values)
  std::string state_path = "/var/lib/pollux/northbound.state";  // node-local
  // mqtt.client_id, or "pollux-" + node_name when empty.
  std::string resolved_client_id(std::string_view node_name) const;
  friend bool operator==(const NorthboundSettings&, const NorthboundSettings&) = default;
};

// A node's whole configuration. `node`, `api` and `redundancy` are node-local; `channels`,
// `devices`, `history` (but its node-local keys) and the raw `backup_overrides` are the
// synchronized part (redundancy.md).
struct Config {
  NodeSettings node;
  ApiSettings api;
  std::vector<Channel> channels;
  std::vector<Device> devices;
  RedundancySettings redundancy;
  // Absent: no history is kept.
  std::optional<HistorySettings> history;
  // Absent: nothing is published northbound.
  std::optional<NorthboundSettings> northbound;
  // Canonical text of the `backup_overrides` section (empty when absent); applied by the
  // loader when asked to load "as backup", carried along so config sync can forward it.
  std::string backup_overrides_canonical;

  const Channel* find_channel(std::string_view id) const;
  const Device* find_device(std::string_view id) const;
  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace pollux::config
