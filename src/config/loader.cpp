// Reads the document tree into a Config and checks every rule of spec/config.md, reporting each
// problem at the key or value it is about. Validation never stops at the first error: a
// partially read section still feeds the cross-field checks (a channel with a bad baud is still
// a channel devices may name), so one run lists everything a user has to fix.
#include "config/loader.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "config/canonical.hpp"
#include "config/tls_files.hpp"
#include "config/tree.hpp"

namespace pollux::config {

using detail::Diagnostics;
using detail::Entry;
using detail::Mark;
using detail::Node;

std::string Diagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) +
         (warning ? ": warning: " : ": error: ") + message;
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

constexpr long long kNoMax = INT_MAX;
constexpr std::array<std::string_view, 3> kLineKeys = {"primary", "first_failover",
                                                       "second_failover"};

std::string q(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + v[i];
  return out;
}

std::string got(const Node& v) {
  switch (v.kind) {
    case Node::Kind::null:
      return " (got nothing)";
    case Node::Kind::scalar:
      return " (got " + q(v.text) + ")";
    case Node::Kind::sequence:
      return " (got a list)";
    case Node::Kind::map:
      return " (got a mapping)";
  }
  return "";
}

std::string range_text(long long lo, long long hi) {
  if (hi >= kNoMax) return lo == 1 ? "greater than 0" : "at least " + std::to_string(lo);
  return "between " + std::to_string(lo) + " and " + std::to_string(hi);
}

template <class E, std::size_t N>
std::vector<std::string> names_of(const std::array<E, N>& values) {
  std::vector<std::string> out;
  for (E e : values)
    out.emplace_back(to_string(e));
  return out;
}

constexpr std::array kChannelTypes = {ChannelType::serial, ChannelType::modem, ChannelType::tcp};
constexpr std::array kProtocols = {Protocol::modbus_rtu, Protocol::modbus_ascii,
                                   Protocol::modbus_tcp, Protocol::modbus_rtu_over_tcp};
constexpr std::array kParities = {Parity::none, Parity::even, Parity::odd};
constexpr std::array kSequences = {Sequence::try_in_order, Sequence::jump_to_last_good};
constexpr std::array kTables = {Table::coil, Table::discrete, Table::input, Table::holding};
constexpr std::array kPointTypes = {
    PointType::boolean, PointType::int16, PointType::uint16, PointType::int32,   PointType::uint32,
    PointType::float32, PointType::int64, PointType::uint64, PointType::float64, PointType::string};
constexpr std::array kOrders = {Order::big, Order::little};
constexpr std::array kModes = {RedundancyMode::independent, RedundancyMode::master,
                               RedundancyMode::backup};
constexpr std::array kRecoveries = {Recovery::automatic, Recovery::manual};
constexpr std::array kStandbys = {Standby::cold, Standby::warm};
constexpr std::array kHistories = {HistoryLevel::partial, HistoryLevel::full};
constexpr std::array kApiRoles = {ApiRole::viewer, ApiRole::operator_, ApiRole::admin};
// security.md: shorter tokens are guessable.
constexpr std::size_t kMinTokenLength = 16;

const std::vector<std::string> kTopKeys = {
    "node",       "api",     "channels",   "devices",
    "redundancy", "history", "northbound", "backup_overrides"};
const std::vector<std::string> kSyncedTopKeys = {"channels", "devices", "history", "northbound",
                                                 "backup_overrides"};
constexpr std::array kBackends = {HistoryBackend::sqlite, HistoryBackend::postgresql};
const std::vector<std::string> kHistoryKeys = {"backend",    "path",          "url",
                                               "cache_path", "max_size_mb",   "retention_days",
                                               "deadband",   "max_interval_s"};
// What the synced text carries, and what a backup may override (history.md "Settled details").
const std::vector<std::string> kSharedHistoryKeys = {"backend", "retention_days", "deadband",
                                                     "max_interval_s"};
const std::vector<std::string> kHistoryOverrideKeys = {"retention_days", "deadband",
                                                       "max_interval_s"};
const std::vector<std::string> kPointHistoryKeys = {"deadband", "max_interval_s"};
const std::vector<std::string> kNodeKeys = {"name"};
const std::vector<std::string> kApiKeys = {"listen", "tokens", "tls"};
const std::vector<std::string> kTokenKeys = {"name", "token", "role"};
const std::vector<std::string> kApiTlsKeys = {"cert_file", "key_file"};
const std::vector<std::string> kRedundancyKeys = {"mode",
                                                  "listen",
                                                  "master",
                                                  "listen_alt",
                                                  "master_alt",
                                                  "psk",
                                                  "heartbeat_interval_ms",
                                                  "failover_timeout_ms",
                                                  "recovery",
                                                  "standby",
                                                  "startup_allowance_ms",
                                                  "history"};
const std::vector<std::string> kChannelKeys = {"id",
                                               "type",
                                               "protocol",
                                               "enabled",
                                               "port",
                                               "baud",
                                               "parity",
                                               "data_bits",
                                               "stop_bits",
                                               "init",
                                               "dial_timeout_s",
                                               "idle_hangup_s",
                                               "connect_timeout_ms",
                                               "max_connections",
                                               "message_timeout_ms",
                                               "message_delay_ms",
                                               "poll_attempts",
                                               "write_attempts",
                                               "demote_after_failed_polls",
                                               "demote_for_ms"};
const std::vector<std::string> kDeviceKeys = {
    "id",       "enabled",           "unit",         "comm",           "polls",
    "writable", "max_gap_registers", "max_gap_bits", "refused_retry_s"};
const std::vector<std::string> kCommKeys = {
    "auto",   "sequence", "failback_on_failure", "retry_in_progress_control",
    "active", "primary",  "first_failover",      "second_failover"};
const std::vector<std::string> kPathKeys = {"channel",
                                            "initial_fail_s",
                                            "subsequent_fail_s",
                                            "available",
                                            "retry_primary_s",
                                            "message_timeout_ms",
                                            "message_delay_ms",
                                            "poll_attempts",
                                            "write_attempts",
                                            "host",
                                            "port",
                                            "phone",
                                            "init",
                                            "unit"};
const std::vector<std::string> kPollKeys = {"name", "interval_ms", "points"};
const std::vector<std::string> kPointKeys = {"name",       "table",      "address", "type",
                                             "word_order", "byte_order", "scale",   "offset",
                                             "length",     "history"};
const std::vector<std::string> kOverrideKeys = {"channels", "devices", "history", "northbound"};
// spec/northbound.md "Configuration". mqtt.client_id and state_path are node-local: the synced
// text leaves them out and a backup overrides nothing but `mqtt` (another broker).
const std::vector<std::string> kNorthboundKeys = {"mqtt", "sparkplug", "store_and_forward",
                                                  "state_path"};
const std::vector<std::string> kSharedNorthboundKeys = {"mqtt", "sparkplug", "store_and_forward"};
const std::vector<std::string> kNorthboundOverrideKeys = {"mqtt"};
const std::vector<std::string> kMqttKeys = {"url",      "client_id", "username",
                                            "password", "tls",       "keepalive_s"};
const std::vector<std::string> kSharedMqttKeys = {"url", "username", "password", "tls",
                                                  "keepalive_s"};
const std::vector<std::string> kMqttTlsKeys = {"ca_file", "cert_file", "key_file"};
const std::vector<std::string> kSparkplugKeys = {"group_id", "edge_node_id", "primary_host_id"};
const std::vector<std::string> kStoreAndForwardKeys = {"max_records"};

// security.md: a `listen` host in 127.0.0.0/8 or ::1 is reachable from this machine only, so it
// may go without tokens. Names are not resolved ("localhost" too needs tokens): what a name
// resolves to can change behind the check's back.
bool is_loopback_listen(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) return true;  // malformed: reported by address()
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned char addr[16];
  if (inet_pton(AF_INET, host.c_str(), addr) == 1) return addr[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), addr) != 1) return false;
  static constexpr unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(addr, kLoopback6, sizeof addr) == 0;
}

// Typed access to one mapping, reporting every problem it meets.
class Reader {
 public:
  explicit Reader(Diagnostics& d) : d_(d) {}

  void error(Mark at, std::string msg) { d_.error(at, std::move(msg)); }
  void warning(Mark at, std::string msg) { d_.warning(at, std::move(msg)); }

  // True when `n` is a mapping; reports duplicate and unknown keys (with a suggestion).
  bool map(const Node& n, std::string_view what, const std::vector<std::string>* allowed) {
    if (!n.is_map()) {
      error(n.mark, "expected a mapping for " + std::string(what) + got(n));
      return false;
    }
    for (std::size_t i = 0; i < n.entries.size(); ++i) {
      const Entry& e = n.entries[i];
      const Entry* first = n.find(e.key);
      if (first != &e) {
        error(e.key_mark, "duplicate key " + q(e.key) + " (first at line " +
                              std::to_string(first->key_mark.line) + ")");
        continue;
      }
      if (allowed == nullptr ||
          std::find(allowed->begin(), allowed->end(), e.key) != allowed->end())
        continue;
      std::string msg = "unknown key " + q(e.key) + " in " + std::string(what);
      if (auto s = detail::closest(e.key, *allowed); !s.empty())
        msg += "; did you mean " + q(s) + "?";
      error(e.key_mark, msg);
    }
    return true;
  }

  bool sequence(const Node& n, std::string_view key) {
    if (n.is_sequence()) return true;
    error(n.mark, "expected a list for " + q(key) + got(n));
    return false;
  }

  template <class T>
  bool integer(const Node& map, std::string_view key, T& out, long long lo, long long hi) {
    const Entry* e = map.find(key);
    if (e == nullptr) return false;
    const Node& v = e->value;
    std::optional<long long> x;
    if (v.is_scalar()) x = detail::parse_integer(v.text);
    if (!x) {
      error(v.mark, "expected an integer for " + q(key) + got(v));
      return false;
    }
    if (*x < lo || *x > hi) {
      error(v.mark, q(key) + " must be " + range_text(lo, hi) + got(v));
      return false;
    }
    out = static_cast<T>(*x);
    return true;
  }

  bool number(const Node& map, std::string_view key, double& out) {
    const Entry* e = map.find(key);
    if (e == nullptr) return false;
    const Node& v = e->value;
    std::optional<double> x;
    if (v.is_scalar()) x = detail::parse_decimal(v.text);
    if (!x) {
      error(v.mark, "expected a number for " + q(key) + got(v));
      return false;
    }
    out = *x;
    return true;
  }

  // Seconds accept decimals; `strict` means > 0, otherwise >= 0.
  bool seconds(const Node& map, std::string_view key, double& out, bool strict) {
    double x = 0;
    if (!number(map, key, x)) return false;
    if (strict ? !(x > 0) : !(x >= 0)) {
      const Node& v = map.find(key)->value;
      error(v.mark, q(key) + " must be " + (strict ? "greater than 0" : "at least 0") + got(v));
      return false;
    }
    out = x;
    return true;
  }

  bool boolean(const Node& map, std::string_view key, bool& out) {
    const Entry* e = map.find(key);
    if (e == nullptr) return false;
    const Node& v = e->value;
    std::optional<bool> x;
    if (v.is_scalar()) x = detail::parse_bool(v.text);
    if (!x) {
      error(v.mark, "expected true or false for " + q(key) + got(v));
      return false;
    }
    out = *x;
    return true;
  }

  bool string(const Node& map, std::string_view key, std::string& out, bool non_empty) {
    const Entry* e = map.find(key);
    if (e == nullptr) return false;
    const Node& v = e->value;
    if (!v.is_scalar()) {
      error(v.mark, "expected a string for " + q(key) + got(v));
      return false;
    }
    if (non_empty && v.text.empty()) {
      error(v.mark, q(key) + " must not be empty");
      return false;
    }
    out = v.text;
    return true;
  }

  template <class E, std::size_t N>
  bool enumeration(const Node& map, std::string_view key, E& out, const std::array<E, N>& values) {
    const Entry* e = map.find(key);
    if (e == nullptr) return false;
    const Node& v = e->value;
    if (v.is_scalar()) {
      for (E x : values) {
        if (to_string(x) == v.text) {
          out = x;
          return true;
        }
      }
    }
    const auto names = names_of(values);
    std::string msg = q(key) + " must be one of " + join(names) + got(v);
    if (v.is_scalar())
      if (auto s = detail::closest(v.text, names); !s.empty())
        msg += "; did you mean " + q(s) + "?";
    error(v.mark, msg);
    return false;
  }

  // HOST:PORT with a port in 1..65535; false when absent or reported.
  bool address(const Node& map, std::string_view key, std::string& out) {
    if (!string(map, key, out, true)) return false;
    const Node& v = map.find(key)->value;
    const auto colon = out.rfind(':');
    bool ok = colon != std::string::npos && colon > 0;
    if (ok) {
      auto port = detail::parse_integer(std::string_view(out).substr(colon + 1));
      ok = port && *port >= 1 && *port <= 65535 &&
           out.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    }
    if (!ok) error(v.mark, q(key) + " must be HOST:PORT with a port between 1 and 65535" + got(v));
    return ok;
  }

 private:
  Diagnostics& d_;
};

class Builder {
 public:
  Builder(Diagnostics& d) : r_(d) {}

  // `local`: config sync; node-local sections come from it and the tree holds only the
  // synchronized part. `consume`: each device's subtree in `root` is released once it is read,
  // so the tree shrinks while the Config grows instead of both peaking together (the caller
  // builds only once from this tree). Merged copies are always released.
  std::optional<Config> build(Node& root, bool as_backup, const Config* local, bool consume) {
    Config cfg;
    const bool root_ok = r_.map(root, local ? "the synchronized config" : "the top level",
                                local ? &kSyncedTopKeys : &kTopKeys);
    if (!root_ok) return std::nullopt;

    // Overrides are checked whatever the node's role, so the master's `pollux check` catches
    // what the backup would otherwise only find when it applies them.
    // Copied only when overrides are merged into them: a 10,000-device list is ~70 MB of tree.
    Node absent;
    Node* channels_in = root.find("channels") ? &root.find("channels")->value : &absent;
    Node* devices_in = root.find("devices") ? &root.find("devices")->value : &absent;
    const Entry* overrides = root.find("backup_overrides");
    Node merged_channels, merged_devices;
    if (overrides) {
      merged_channels = *channels_in;
      merged_devices = *devices_in;
      read_overrides(overrides->value, merged_channels, merged_devices, as_backup);
      channels_in = &merged_channels;
      devices_in = &merged_devices;
      consume = true;
    }
    const Node& channels = *channels_in;
    Node& devices = *devices_in;

    if (local) {
      cfg.node = local->node;
      cfg.api = local->api;
      cfg.redundancy = local->redundancy;
    } else {
      read_node(root, cfg.node);
      // An empty section (every line commented out) means all defaults.
      if (const Entry* e = root.find("api"); e && !e->value.is_null()) read_api(e->value, cfg.api);
      if (const Entry* e = root.find("redundancy"); e && !e->value.is_null())
        read_redundancy(e->value, cfg.redundancy);
    }

    if (root.find("channels") && !channels.is_null() && r_.sequence(channels, "channels"))
      read_channels(channels, cfg.channels);
    // A device id is a Sparkplug topic level when the node publishes (checked as each device
    // is read: its subtree may be released right after).
    topic_ids_ = root.find("northbound") != nullptr;
    if (root.find("devices") && !devices.is_null() && r_.sequence(devices, "devices"))
      read_devices(devices, cfg, consume);
    read_history(root, overrides ? &overrides->value : nullptr, as_backup, local, cfg);
    read_northbound(root, overrides ? &overrides->value : nullptr, as_backup, local, cfg);

    if (overrides && overrides->value.is_map() && !overrides->value.entries.empty())
      cfg.backup_overrides_canonical = detail::canonical_json(overrides->value);
    return cfg;
  }

 private:
  void read_node(const Node& root, NodeSettings& node) {
    const Entry* e = root.find("node");
    if (e == nullptr) {
      r_.error(root.mark, "missing 'node' section with the node's 'name'");
      return;
    }
    if (!r_.map(e->value, "'node'", &kNodeKeys)) return;
    if (!e->value.find("name"))
      r_.error(e->key_mark, "'node' needs a 'name'");
    else
      r_.string(e->value, "name", node.name, true);
  }

  // The `api:` section's `listen` and `tokens` (security.md "Configuration", "Settled
  // details"). No message here may quote a token's value: it is a secret, and `check` output
  // and logs are not.
  void read_api(const Node& n, ApiSettings& api) {
    if (!r_.map(n, "'api'", &kApiKeys)) return;
    const bool listen_ok = r_.address(n, "listen", api.listen);
    const Entry* tokens = n.find("tokens");
    // Never through got(): a value misplaced here may well be a token.
    if (tokens && !tokens->value.is_null() && !tokens->value.is_sequence())
      r_.error(tokens->value.mark, "expected a list of {name, token, role} for 'tokens'");
    if (tokens && tokens->value.is_sequence()) {
      std::map<std::string, int> names;   // name -> line
      std::map<std::string, int> values;  // token -> line
      for (const Node& item : tokens->value.items) {
        if (!item.is_map()) {
          r_.error(item.mark, "expected a mapping {name, token, role} for each token");
          continue;
        }
        r_.map(item, "a token", &kTokenKeys);
        ApiToken t;
        bool ok = true;
        for (const char* key : {"name", "token", "role"}) {
          if (item.find(key)) continue;
          r_.error(item.mark, std::string("a token needs a '") + key + "'");
          ok = false;
        }
        ok = r_.string(item, "name", t.name, true) && ok;
        ok = r_.enumeration(item, "role", t.role, kApiRoles) && ok;
        if (const Entry* v = item.find("token")) {
          if (!r_.string(item, "token", t.token, false)) {
            ok = false;
          } else if (t.token.size() < kMinTokenLength) {
            r_.error(v->value.mark, "a token must be at least " + std::to_string(kMinTokenLength) +
                                        " characters long");
            ok = false;
          } else if (std::any_of(t.token.begin(), t.token.end(),
                                 [](char c) { return c <= ' ' || c == 0x7f; })) {
            // It could never be sent in an Authorization header.
            r_.error(v->value.mark, "a token may not hold spaces or control characters");
            ok = false;
          } else if (const auto [at, fresh] = values.emplace(t.token, v->value.mark.line); !fresh) {
            r_.error(v->value.mark, "this token is equal to another one (line " +
                                        std::to_string(at->second) + "); every token must differ");
            ok = false;
          }
        }
        if (const Entry* v = item.find("name"); v && !t.name.empty()) {
          if (const auto [at, fresh] = names.emplace(t.name, v->value.mark.line); !fresh) {
            r_.error(v->value.mark, "duplicate token name " + q(t.name) + " (first at line " +
                                        std::to_string(at->second) + ")");
            ok = false;
          }
        }
        if (ok) api.tokens.push_back(std::move(t));
      }
    }
    read_api_tls(n, api);
    const Entry* listen = n.find("listen");
    const bool has_tokens = tokens && tokens->value.is_sequence() && !tokens->value.items.empty();
    if (listen_ok && !has_tokens && !is_loopback_listen(api.listen))
      r_.error(listen->value.mark, q(api.listen) +
                                       " is not a loopback address: listening there needs "
                                       "'tokens' (api.tokens) so that requests are authenticated");
  }

  // spec/security.md: both files are required, readable, and the key matches the certificate.
  // Unlike MQTT's TLS files these are checked here: `api` is node-local, so the node that runs
  // the check is the one that reads them.
  void read_api_tls(const Node& api, ApiSettings& out) {
    const Entry* e = api.find("tls");
    if (e == nullptr || e->value.is_null()) return;
    if (!r_.map(e->value, "'tls'", &kApiTlsKeys)) return;
    ApiTls tls;
    bool ok = true;
    for (const char* key : {"cert_file", "key_file"}) {
      if (e->value.find(key) == nullptr) {
        r_.error(e->key_mark, std::string("'tls' needs a '") + key + "'");
        ok = false;
      }
    }
    ok = r_.string(e->value, "cert_file", tls.cert_file, true) && ok;
    ok = r_.string(e->value, "key_file", tls.key_file, true) && ok;
    if (!ok) return;
    if (const auto problem = check_tls_files(tls.cert_file, tls.key_file)) {
      const char* key =
          problem->field == TlsFileProblem::Field::cert_file ? "cert_file" : "key_file";
      r_.error(e->value.find(key)->value.mark, problem->message);
      return;
    }
    out.tls = std::move(tls);
  }

  void read_redundancy(const Node& n, RedundancySettings& rs) {
    if (!r_.map(n, "'redundancy'", &kRedundancyKeys)) return;
    const bool mode_ok = r_.enumeration(n, "mode", rs.mode, kModes);
    r_.address(n, "listen", rs.listen);
    r_.address(n, "master", rs.master);
    const bool listen_alt_ok = r_.address(n, "listen_alt", rs.listen_alt);
    const bool master_alt_ok = r_.address(n, "master_alt", rs.master_alt);
    // The second link must be a second path: the same address twice would be one link.
    if (const Entry* e = n.find("listen_alt"); e && listen_alt_ok && rs.listen_alt == rs.listen)
      r_.error(e->value.mark, "'listen_alt' must differ from 'listen' (" + q(rs.listen) + ")");
    if (const Entry* e = n.find("master_alt"); e && master_alt_ok && rs.master_alt == rs.master)
      r_.error(e->value.mark, "'master_alt' must differ from 'master' (" + q(rs.master) + ")");
    const bool psk_ok = r_.string(n, "psk", rs.psk, false);
    const bool hb_ok = r_.integer(n, "heartbeat_interval_ms", rs.heartbeat_interval_ms, 1, kNoMax);
    const bool ft_ok = r_.integer(n, "failover_timeout_ms", rs.failover_timeout_ms, 1, kNoMax);
    r_.enumeration(n, "recovery", rs.recovery, kRecoveries);
    r_.enumeration(n, "standby", rs.standby, kStandbys);
    r_.integer(n, "startup_allowance_ms", rs.startup_allowance_ms, 0, kNoMax);
    r_.enumeration(n, "history", rs.history, kHistories);

    const Entry* hb = n.find("heartbeat_interval_ms");
    const Entry* ft = n.find("failover_timeout_ms");
    if ((hb == nullptr || hb_ok) && (ft == nullptr || ft_ok) &&
        rs.heartbeat_interval_ms >= rs.failover_timeout_ms) {
      // The spec points at heartbeat_interval_ms; when only the timeout is written, at it.
      const Mark at = hb ? hb->key_mark : ft->key_mark;
      r_.error(at, "'heartbeat_interval_ms' (" + std::to_string(rs.heartbeat_interval_ms) +
                       ") must be less than 'failover_timeout_ms' (" +
                       std::to_string(rs.failover_timeout_ms) + ")");
    }
    const Entry* mode = n.find("mode");
    if (mode_ok && rs.mode != RedundancyMode::independent && rs.psk.empty()) {
      const Entry* psk = n.find("psk");
      if (psk == nullptr) {
        r_.error(mode->key_mark, "mode " + std::string(to_string(rs.mode)) +
                                     " needs a non-empty 'psk' (pre-shared key)");
      } else if (psk_ok) {
        r_.error(psk->value.mark,
                 "'psk' must not be empty when mode is " + std::string(to_string(rs.mode)));
      }
    }
  }

  // The `history:` section, with `backup_overrides.history` merged in when `as_backup`. With
  // `local` (config sync) the synced text holds the shared keys and the node-local ones come
  // from the backup's own file, or their defaults.
  void read_history(const Node& root, const Node* overrides, bool as_backup, const Config* local,
                    Config& cfg) {
    const Entry* section = root.find("history");
    const Entry* over = overrides && overrides->is_map() ? overrides->find("history") : nullptr;
    if (over && !over->value.is_null()) {
      if (r_.map(over->value, "'backup_overrides.history'", &kHistoryOverrideKeys) &&
          section == nullptr)
        r_.error(over->key_mark, "backup_overrides.history needs a 'history' section to override");
    }
    if (section == nullptr) return;
    Node merged = section->value;
    if (merged.is_null()) merged.kind = Node::Kind::map;  // `history:` alone: all defaults
    if (as_backup && over && over->value.is_map()) detail::merge_into(merged, over->value);
    if (!r_.map(merged, "'history'", local ? &kSharedHistoryKeys : &kHistoryKeys)) return;
    HistorySettings h;
    if (local && local->history) {
      h.path = local->history->path;
      h.url = local->history->url;
      h.cache_path = local->history->cache_path;
      h.max_size_mb = local->history->max_size_mb;
    }
    r_.enumeration(merged, "backend", h.backend, kBackends);
    r_.string(merged, "path", h.path, true);
    r_.string(merged, "url", h.url, false);
    r_.string(merged, "cache_path", h.cache_path, true);
    r_.integer(merged, "max_size_mb", h.max_size_mb, 0, 1 << 20);
    r_.integer(merged, "retention_days", h.retention_days, 0, 100 * 366);
    r_.seconds(merged, "deadband", h.deadband, false);
    r_.seconds(merged, "max_interval_s", h.max_interval_s, false);
    if (!local && h.backend == HistoryBackend::postgresql && h.url.empty()) {
      const Entry* b = merged.find("backend");
      r_.error(b->value.mark, "backend postgresql needs a 'url' (a libpq connection string)");
    }
    cfg.history = std::move(h);
  }

  // The `northbound:` section (spec/northbound.md "Configuration", "Settled details"), with
  // `backup_overrides.northbound` merged in when `as_backup`. With `local` (config sync) the
  // synced text holds the shared keys; mqtt.client_id and state_path come from the backup's
  // own file, or their defaults, so the two nodes never share a client id or a state file.
  void read_northbound(const Node& root, const Node* overrides, bool as_backup, const Config* local,
                       Config& cfg) {
    const Entry* section = root.find("northbound");
    const Entry* over = overrides && overrides->is_map() ? overrides->find("northbound") : nullptr;
    // Only `mqtt` is merged: keys the override may not change are reported here, once, and
    // never reach the section's reader (which would report them again, or accept them).
    Node override_body;
    override_body.kind = Node::Kind::map;
    if (over && !over->value.is_null() &&
        r_.map(over->value, "'backup_overrides.northbound'", &kNorthboundOverrideKeys)) {
      if (section == nullptr)
        r_.error(over->key_mark,
                 "backup_overrides.northbound needs a 'northbound' section to override");
      if (const Entry* m = over->value.find("mqtt")) {
        Entry body = *m;
        if (const Entry* id = m->value.is_map() ? m->value.find("client_id") : nullptr) {
          r_.error(id->key_mark,
                   "'client_id' is node-local: the backup sets it in its own file, not in "
                   "backup_overrides");
          std::erase_if(body.value.entries, [](const Entry& x) { return x.key == "client_id"; });
        }
        override_body.entries.push_back(std::move(body));
      }
    }
    if (section == nullptr) return;
    Node merged = section->value;
    if (merged.is_null()) merged.kind = Node::Kind::map;  // reported below as missing keys
    if (as_backup) detail::merge_into(merged, override_body);
    if (!r_.map(merged, "'northbound'", local ? &kSharedNorthboundKeys : &kNorthboundKeys)) return;
    NorthboundSettings nb;
    if (local && local->northbound) {
      nb.mqtt.client_id = local->northbound->mqtt.client_id;
      nb.state_path = local->northbound->state_path;
    }
    read_mqtt(merged, *section, local != nullptr, nb.mqtt);
    read_sparkplug(merged, *section, nb.sparkplug);
    if (const Entry* e = merged.find("store_and_forward"); e && !e->value.is_null())
      if (r_.map(e->value, "'store_and_forward'", &kStoreAndForwardKeys))
        r_.integer(e->value, "max_records", nb.max_records, 1, kNoMax);
    r_.string(merged, "state_path", nb.state_path, true);
    cfg.northbound = std::move(nb);
  }

  void read_mqtt(const Node& nb, const Entry& section, bool synced, MqttSettings& m) {
    const Entry* e = nb.find("mqtt");
    if (e == nullptr) {
      r_.error(section.key_mark, "'northbound' needs an 'mqtt' section with the broker's 'url'");
      return;
    }
    Node n = e->value;
    if (n.is_null()) n.kind = Node::Kind::map;
    if (!r_.map(n, "'mqtt'", synced ? &kSharedMqttKeys : &kMqttKeys)) return;
    bool url_ok = false, ssl = false;
    if (n.find("url") == nullptr)
      r_.error(e->key_mark, "'mqtt' needs a 'url' (tcp://HOST:PORT or ssl://HOST:PORT)");
    else if (r_.string(n, "url", m.url, true))
      url_ok = broker_url(n.find("url")->value, ssl);
    r_.string(n, "client_id", m.client_id, true);
    r_.string(n, "username", m.username, false);
    if (r_.string(n, "password", m.password, false) && !m.password.empty() && m.username.empty())
      r_.error(n.find("password")->key_mark,
               "'password' needs a 'username' (MQTT sends no password without a user name)");
    r_.integer(n, "keepalive_s", m.keepalive_s, 1, 3600);
    const Entry* tls = n.find("tls");
    if (tls == nullptr || tls->value.is_null()) return;  // ssl:// alone: the system's CAs
    if (!r_.map(tls->value, "'tls'", &kMqttTlsKeys)) return;
    r_.string(tls->value, "ca_file", m.tls.ca_file, true);
    r_.string(tls->value, "cert_file", m.tls.cert_file, true);
    r_.string(tls->value, "key_file", m.tls.key_file, true);
    const Entry* cert = tls->value.find("cert_file");
    const Entry* key = tls->value.find("key_file");
    if (cert && !key)
      r_.error(cert->key_mark, "'cert_file' needs a 'key_file' (the client certificate's key)");
    if (key && !cert)
      r_.error(key->key_mark, "'key_file' needs a 'cert_file' (the client certificate)");
    if (url_ok && !ssl)
      r_.error(tls->key_mark, "'tls' needs an ssl:// 'url' (got " + q(m.url) + ")");
  }

  // tcp://HOST:PORT or ssl://HOST:PORT (HOST may be [IPv6]); `ssl` says which. A URL with
  // credentials in it is refused without echoing it: they belong in username and password.
  bool broker_url(const Node& v, bool& ssl) {
    const std::string_view url = v.text;
    if (url.find('@') != std::string_view::npos) {
      r_.error(v.mark, "'url' must not hold credentials: put them in 'username' and 'password'");
      return false;
    }
    std::string_view rest;
    if (url.starts_with("tcp://")) {
      rest = url.substr(6);
    } else if (url.starts_with("ssl://")) {
      rest = url.substr(6);
      ssl = true;
    }
    bool ok = !rest.empty();
    std::size_t colon = std::string_view::npos;
    if (ok && rest.front() == '[') {
      const auto close = rest.find(']');
      ok = close != std::string_view::npos && close > 1 && close + 1 < rest.size() &&
           rest[close + 1] == ':';
      if (ok) colon = close + 1;
    } else if (ok) {
      colon = rest.find(':');
      ok = colon != std::string_view::npos && colon > 0 && rest.find(':', colon + 1) == rest.npos;
    }
    if (ok) {
      const std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
      ok = host.find_first_of("/ \t?#") == std::string_view::npos && !port.empty() &&
           port.find_first_not_of("0123456789") == std::string_view::npos && port.size() <= 5;
      if (ok) {
        const auto p = detail::parse_integer(port);
        ok = p && *p >= 1 && *p <= 65535;
      }
    }
    if (!ok)
      r_.error(v.mark,
               "'url' must be tcp://HOST:PORT or ssl://HOST:PORT with a port between 1 and "
               "65535" +
                   got(v));
    return ok;
  }

  void read_sparkplug(const Node& nb, const Entry& section, SparkplugSettings& s) {
    const Entry* e = nb.find("sparkplug");
    if (e == nullptr) {
      r_.error(section.key_mark,
               "'northbound' needs a 'sparkplug' section with 'group_id' and 'edge_node_id'");
      return;
    }
    Node n = e->value;
    if (n.is_null()) n.kind = Node::Kind::map;
    if (!r_.map(n, "'sparkplug'", &kSparkplugKeys)) return;
    // Settled detail: a missing id is reported at the `sparkplug:` key.
    if (n.find("group_id") == nullptr)
      r_.error(e->key_mark, "'sparkplug' needs a 'group_id' (the Sparkplug group of this node)");
    if (n.find("edge_node_id") == nullptr)
      r_.error(e->key_mark,
               "'sparkplug' needs an 'edge_node_id' (one for the pair: both nodes use it)");
    sparkplug_id(n, "group_id", s.group_id);
    sparkplug_id(n, "edge_node_id", s.edge_node_id);
    sparkplug_id(n, "primary_host_id", s.primary_host_id);
  }

  // An id is one MQTT topic level: no separator, no wildcard (Sparkplug 3.0 topic rules).
  void sparkplug_id(const Node& n, std::string_view key, std::string& out) {
    std::string id;
    if (!r_.string(n, key, id, true)) return;
    if (id.find_first_of("/+#") != std::string::npos) {
      r_.error(n.find(key)->value.mark,
               q(key) + " must not contain '/', '+' or '#' (MQTT topic separator and wildcards)" +
                   got(n.find(key)->value));
      return;
    }
    out = std::move(id);
  }

  // A point's `history:`: false, true, or a mapping of per-point settings.
  void read_point_history(const Node& n, PointHistory& out) {
    const Entry* e = n.find("history");
    if (e == nullptr) return;
    if (e->value.is_scalar()) {
      if (auto b = detail::parse_bool(e->value.text)) {
        out.enabled = *b;
        return;
      }
    }
    if (!e->value.is_map()) {
      r_.error(e->value.mark, "expected false, true or a mapping for 'history'" + got(e->value));
      return;
    }
    if (!r_.map(e->value, "point 'history'", &kPointHistoryKeys)) return;
    double x = 0;
    if (r_.seconds(e->value, "deadband", x, false)) out.deadband = x;
    if (r_.seconds(e->value, "max_interval_s", x, false)) out.max_interval_s = x;
  }

  // Checks the section's shape and ids; with `apply`, merges each override over its target.
  void read_overrides(const Node& n, Node& channels, Node& devices, bool apply) {
    if (n.is_null()) return;
    if (!r_.map(n, "'backup_overrides'", &kOverrideKeys)) return;
    auto section = [&](std::string_view key, Node& targets, std::string_view kind) {
      const Entry* e = n.find(key);
      if (e == nullptr || e->value.is_null()) return;
      if (!r_.map(e->value, "'backup_overrides." + std::string(key) + "'", nullptr)) return;
      std::vector<std::string> ids;
      std::set<std::string_view> known;
      if (targets.is_sequence())
        for (const auto& item : targets.items)
          if (const Entry* id = item.is_map() ? item.find("id") : nullptr;
              id && id->value.is_scalar())
            ids.push_back(id->value.text);
      for (const auto& id : ids)
        known.insert(id);
      std::multimap<std::string, Node*> by_id;
      if (apply && targets.is_sequence())
        for (auto& item : targets.items)
          if (const Entry* id = item.is_map() ? item.find("id") : nullptr;
              id && id->value.is_scalar())
            by_id.emplace(id->value.text, &item);
      for (const auto& oe : e->value.entries) {
        if (&oe != e->value.find(oe.key)) continue;  // duplicate, reported by map()
        if (!known.contains(oe.key)) {
          std::string msg = "backup_overrides names unknown " + std::string(kind) + " " + q(oe.key);
          if (auto s = detail::closest(oe.key, ids); !s.empty())
            msg += "; did you mean " + q(s) + "?";
          r_.error(oe.key_mark, msg);
          continue;
        }
        if (!oe.value.is_map()) {
          r_.error(oe.value.mark, "override of " + std::string(kind) + " " + q(oe.key) +
                                      " must be a mapping" + got(oe.value));
          continue;
        }
        // The id is what the override is matched by; the rest of it still applies.
        Node body = oe.value;
        if (const Entry* id = oe.value.find("id")) {
          r_.error(id->key_mark, "an override cannot change the " + std::string(kind) + "'s 'id'");
          std::erase_if(body.entries, [](const Entry& x) { return x.key == "id"; });
        }
        if (!apply) continue;
        // Duplicated ids (reported elsewhere) each get the override.
        auto [from, to] = by_id.equal_range(oe.key);
        for (auto it = from; it != to; ++it)
          detail::merge_into(*it->second, body);
      }
    };
    section("channels", channels, "channel");
    section("devices", devices, "device");
  }

  void read_timing(const Node& n, MessageTiming& t) {
    r_.integer(n, "message_timeout_ms", t.message_timeout_ms, 1, kNoMax);
    r_.integer(n, "message_delay_ms", t.message_delay_ms, 0, kNoMax);
    r_.integer(n, "poll_attempts", t.poll_attempts, 1, kNoMax);
    r_.integer(n, "write_attempts", t.write_attempts, 1, kNoMax);
  }

  // Reports the second occurrence of an id; returns false for it.
  bool unique_id(const Node& item, std::string_view id, std::map<std::string, int>& seen,
                 std::string_view kind) {
    auto [it, fresh] = seen.emplace(std::string(id), item.find("id")->value.mark.line);
    if (fresh) return true;
    r_.error(item.find("id")->value.mark, "duplicate " + std::string(kind) + " id " + q(id) +
                                              " (first at line " + std::to_string(it->second) +
                                              ")");
    return false;
  }

  // The required `id` of a channel or device: false (with a located error) when absent or not
  // a string.
  bool read_id(const Node& item, std::string_view what, std::string& id) {
    if (!item.find("id")) {
      r_.error(item.mark, std::string(what) + " needs an 'id'");
      return false;
    }
    return r_.string(item, "id", id, true);
  }

  void read_channels(const Node& seq, std::vector<Channel>& out) {
    std::map<std::string, int> seen;
    for (const Node& item : seq.items) {
      if (!r_.map(item, "channel", &kChannelKeys)) continue;
      Channel ch;
      if (!read_id(item, "channel", ch.id)) continue;
      const bool fresh = unique_id(item, ch.id, seen, "channel");
      const bool type_ok = r_.enumeration(item, "type", ch.type, kChannelTypes);
      if (!item.find("type"))
        r_.error(item.mark, "channel " + q(ch.id) + " needs a 'type' (serial, modem or tcp)");
      // Without `protocol` the channel's natural one: RTU on a line, Modbus TCP on a network.
      ch.protocol = ch.type == ChannelType::tcp ? Protocol::modbus_tcp : Protocol::modbus_rtu;
      if (r_.enumeration(item, "protocol", ch.protocol, kProtocols) && type_ok) {
        const bool on_line = ch.type != ChannelType::tcp;
        const bool line_protocol =
            ch.protocol == Protocol::modbus_rtu || ch.protocol == Protocol::modbus_ascii;
        if (on_line != line_protocol)
          r_.error(
              item.find("protocol")->value.mark,
              "protocol " + std::string(to_string(ch.protocol)) + " does not fit a " +
                  std::string(to_string(ch.type)) + " channel (use " +
                  (on_line ? "modbus-rtu or modbus-ascii" : "modbus-tcp or modbus-rtu-over-tcp") +
                  ")");
      }
      r_.boolean(item, "enabled", ch.enabled);
      r_.string(item, "port", ch.port, false);
      if (type_ok && ch.type != ChannelType::tcp && ch.port.empty() && !item.find("port"))
        r_.error(item.mark, std::string(to_string(ch.type)) + " channel " + q(ch.id) +
                                " needs a 'port' (the serial device, e.g. /dev/ttyS0)");
      else if (type_ok && ch.type != ChannelType::tcp && ch.port.empty() &&
               item.find("port")->value.is_scalar())
        r_.error(item.find("port")->value.mark,
                 "'port' must not be empty on a " + std::string(to_string(ch.type)) + " channel");
      r_.integer(item, "baud", ch.baud, 1, kNoMax);
      r_.enumeration(item, "parity", ch.parity, kParities);
      if (r_.integer(item, "data_bits", ch.data_bits, 0, kNoMax) && ch.data_bits != 7 &&
          ch.data_bits != 8) {
        r_.error(item.find("data_bits")->value.mark,
                 "'data_bits' must be 7 or 8" + got(item.find("data_bits")->value));
        ch.data_bits = 8;
      }
      if (r_.integer(item, "stop_bits", ch.stop_bits, 0, kNoMax) && ch.stop_bits != 1 &&
          ch.stop_bits != 2) {
        r_.error(item.find("stop_bits")->value.mark,
                 "'stop_bits' must be 1 or 2" + got(item.find("stop_bits")->value));
        ch.stop_bits = 1;
      }
      r_.string(item, "init", ch.init, false);
      r_.seconds(item, "dial_timeout_s", ch.dial_timeout_s, true);
      r_.seconds(item, "idle_hangup_s", ch.idle_hangup_s, false);
      r_.integer(item, "connect_timeout_ms", ch.connect_timeout_ms, 1, kNoMax);
      r_.integer(item, "max_connections", ch.max_connections, 1, kNoMax);
      read_timing(item, ch.timing);
      r_.integer(item, "demote_after_failed_polls", ch.demote_after_failed_polls, 0, kNoMax);
      r_.integer(item, "demote_for_ms", ch.demote_for_ms, 1, kNoMax);
      if (fresh) out.push_back(std::move(ch));
    }
  }

  void read_devices(Node& seq, Config& cfg, bool consume) {
    std::map<std::string, int> seen;
    for (Node& item : seq.items) {
      read_device(item, cfg, seen);
      if (consume) item = Node{};
    }
  }

  void read_device(const Node& item, Config& cfg, std::map<std::string, int>& seen) {
    if (!r_.map(item, "device", &kDeviceKeys)) return;
    Device dev;
    if (!read_id(item, "device", dev.id)) return;
    const bool fresh = unique_id(item, dev.id, seen, "device");
    if (topic_ids_ && dev.id.find_first_of("/+#") != std::string::npos)
      r_.error(item.find("id")->value.mark,
               "device id " + q(dev.id) +
                   " cannot be a Sparkplug device id (the node has a 'northbound' section): it "
                   "must not contain '/', '+' or '#'");
    r_.boolean(item, "enabled", dev.enabled);
    const bool unit_ok = r_.integer(item, "unit", dev.unit, 0, 255) || !item.find("unit");
    r_.integer(item, "max_gap_registers", dev.max_gap_registers, 0, kNoMax);
    r_.integer(item, "max_gap_bits", dev.max_gap_bits, 0, kNoMax);
    r_.integer(item, "refused_retry_s", dev.refused_retry_s, 0, kNoMax);
    if (const Entry* comm = item.find("comm"))
      read_comm(*comm, item, dev, unit_ok, cfg);
    else
      r_.error(item.mark, "device " + q(dev.id) + " needs 'comm' with at least a 'primary' line");
    if (const Entry* polls = item.find("polls"); polls && r_.sequence(polls->value, "polls"))
      read_polls(polls->value, dev);
    if (const Entry* w = item.find("writable")) read_writable(w->value, dev);
    if (fresh && dev.enabled) check_endpoints(item, dev, cfg);
    if (fresh) cfg.devices.push_back(std::move(dev));
  }

  // Two enabled devices with one unit id on one serial port or TCP host:port: whichever answers,
  // the line cannot tell whose answer it is. Reported at the later device, once per endpoint.
  void check_endpoints(const Node& item, const Device& dev, const Config& cfg) {
    const Entry* comm = item.find("comm");
    if (comm == nullptr || !comm->value.is_map()) return;
    std::set<std::string> own;  // a device may reach one endpoint on two of its lines
    for (std::size_t i = 0; i < kLineKeys.size(); ++i) {
      const auto& path = dev.comm.lines[i];
      const Entry* pe = comm->value.find(kLineKeys[i]);
      if (!path || pe == nullptr) continue;
      const Channel* ch = cfg.find_channel(path->channel);
      if (ch == nullptr) continue;
      std::string where;
      if (ch->type == ChannelType::serial && !ch->port.empty())
        where = "serial port " + ch->port;
      else if (ch->type == ChannelType::tcp && !path->host.empty() && path->port != 0)
        where = path->host + ":" + std::to_string(path->port);
      else
        continue;
      const int unit = path->unit.value_or(dev.unit);
      std::string key = where + '\n' + std::to_string(unit);
      if (!own.insert(key).second) continue;
      auto [it, fresh] =
          endpoints_.try_emplace(std::move(key), dev.id, item.find("id")->value.mark.line);
      if (fresh) continue;
      // At the unit that makes the clash: the path's own, else the device's, else the path.
      Mark at = pe->key_mark;
      if (pe->value.is_map() && pe->value.find("unit"))
        at = pe->value.find("unit")->value.mark;
      else if (item.find("unit"))
        at = item.find("unit")->value.mark;
      r_.error(at, "device " + q(dev.id) + " uses unit " + std::to_string(unit) + " on " + where +
                       " (" + q(kLineKeys[i]) + ", channel " + q(ch->id) + "), as device " +
                       q(it->second.first) + " (line " + std::to_string(it->second.second) +
                       ") does: their answers cannot be told apart");
    }
  }

  void read_comm(const Entry& ce, const Node& device_node, Device& dev, bool unit_ok,
                 const Config& cfg) {
    const Node& n = ce.value;
    if (!r_.map(n, "'comm'", &kCommKeys)) return;
    Comm& c = dev.comm;
    r_.boolean(n, "auto", c.auto_failover);
    r_.enumeration(n, "sequence", c.sequence, kSequences);
    r_.boolean(n, "failback_on_failure", c.failback_on_failure);
    r_.boolean(n, "retry_in_progress_control", c.retry_in_progress_control);
    const bool active_ok = r_.integer(n, "active", c.active, 1, 3);
    if (!n.find("primary")) r_.error(ce.key_mark, "'comm' needs a 'primary' line");
    for (std::size_t i = 0; i < kLineKeys.size(); ++i) {
      const Entry* pe = n.find(kLineKeys[i]);
      if (pe == nullptr) continue;
      c.lines[i] = read_path(*pe, i, device_node, dev, unit_ok, cfg);
    }
    if (active_ok && n.find("active") && !n.find(kLineKeys[c.active - 1]))
      r_.error(n.find("active")->value.mark,
               "'active' is " + std::to_string(c.active) + " but line " + std::to_string(c.active) +
                   " (" + std::string(kLineKeys[c.active - 1]) + ") is not configured");
  }

  std::optional<Path> read_path(const Entry& pe, std::size_t line, const Node& device_node,
                                const Device& dev, bool device_unit_ok, const Config& cfg) {
    const Node& n = pe.value;
    if (!r_.map(n, q(pe.key), &kPathKeys)) return std::nullopt;
    Path p;
    // Keys that exist but mean nothing on this line (failover rule 9; lines 2/3 only).
    if (line == 2)
      if (const Entry* e = n.find("subsequent_fail_s"))
        r_.error(e->key_mark,
                 "'subsequent_fail_s' is not allowed on second_failover (the last line has no "
                 "subsequent fail)");
    if (line == 0) {
      for (const char* k : {"available", "retry_primary_s"})
        if (const Entry* e = n.find(k))
          r_.error(e->key_mark, q(k) +
                                    " only applies to first_failover and second_failover, "
                                    "not to primary");
    }
    const Channel* ch = nullptr;
    if (!n.find("channel")) {
      r_.error(pe.key_mark, q(pe.key) + " needs a 'channel'");
    } else if (r_.string(n, "channel", p.channel, true)) {
      ch = cfg.find_channel(p.channel);
      if (ch == nullptr) {
        std::vector<std::string> ids;
        for (const auto& c : cfg.channels)
          ids.push_back(c.id);
        std::string msg = "unknown channel " + q(p.channel);
        if (auto s = detail::closest(p.channel, ids); !s.empty())
          msg += "; did you mean " + q(s) + "?";
        r_.error(n.find("channel")->value.mark, msg);
      }
    }
    if (ch) {
      p.timing = ch->timing;
      p.init = ch->init;
    }
    read_timing(n, p.timing);
    r_.string(n, "init", p.init, false);
    r_.string(n, "host", p.host, false);
    const bool port_ok = r_.integer(n, "port", p.port, 1, 65535);
    r_.string(n, "phone", p.phone, false);
    int unit = 0;
    if (r_.integer(n, "unit", unit, 0, 255)) p.unit = unit;
    r_.boolean(n, "available", p.available);
    r_.seconds(n, "initial_fail_s", p.initial_fail_s, false);
    double s = 0;
    if (line != 2 && r_.seconds(n, "subsequent_fail_s", s, false)) p.subsequent_fail_s = s;
    if (line != 0 && r_.seconds(n, "retry_primary_s", s, false)) p.retry_primary_s = s;

    if (ch) {
      if (ch->type == ChannelType::tcp) {
        if (p.host.empty())
          r_.error(pe.key_mark,
                   q(pe.key) + " uses tcp channel " + q(ch->id) + " and needs a 'host'");
        if (!n.find("port"))
          r_.error(pe.key_mark,
                   q(pe.key) + " uses tcp channel " + q(ch->id) + " and needs a 'port'");
      } else if (ch->type == ChannelType::modem && p.phone.empty()) {
        r_.error(pe.key_mark,
                 q(pe.key) + " uses modem channel " + q(ch->id) + " and needs a 'phone'");
      }
      (void)port_ok;
      // Unit 0 is broadcast on a line, which nothing answers, so it cannot be polled there.
      const bool tcp = ch->type == ChannelType::tcp;
      const int lo = tcp ? 0 : 1, hi = tcp ? 255 : 247;
      const int effective = p.unit.value_or(dev.unit);
      if (effective < lo || effective > hi) {
        const Entry* at = n.find("unit");
        if (at == nullptr) at = device_node.find("unit");
        if (at && (p.unit || device_unit_ok))
          r_.error(at->value.mark, "unit " + std::to_string(effective) + " is not valid on " +
                                       std::string(to_string(ch->type)) + " line " + q(pe.key) +
                                       " (channel " + q(ch->id) + "): use " + std::to_string(lo) +
                                       ".." + std::to_string(hi));
      }
    }
    return p;
  }

  // Where one point of a device sits, for the overlap warning.
  struct Span {
    Table table;
    long start;  // first address
    long end;    // one past the last
    const std::string* name;
    Mark at;  // the `address` value
  };

  // Warns once per point that shares an address with an earlier-sorted point of the same table,
  // at whichever of the two comes later in the file. Sorted sweep: a device may have thousands
  // of points.
  void warn_overlaps(std::vector<Span>& spans, const Device& dev) {
    auto file_order = [](const Mark& a, const Mark& b) {
      return a.line != b.line ? a.line < b.line : a.col < b.col;
    };
    std::sort(spans.begin(), spans.end(), [&](const Span& a, const Span& b) {
      if (a.table != b.table) return a.table < b.table;
      if (a.start != b.start) return a.start < b.start;
      return file_order(a.at, b.at);
    });
    const Span* widest = nullptr;
    for (const Span& c : spans) {
      if (widest && widest->table == c.table && c.start < widest->end) {
        const bool c_later = file_order(widest->at, c.at);
        const Span& later = c_later ? c : *widest;
        const Span& earlier = c_later ? *widest : c;
        r_.warning(later.at, "point " + q(*later.name) + " overlaps point " + q(*earlier.name) +
                                 " (line " + std::to_string(earlier.at.line) + ") of device " +
                                 q(dev.id) + ": both cover " + std::string(to_string(c.table)) +
                                 " address " + std::to_string(c.start));
      }
      if (!widest || widest->table != c.table || c.end > widest->end) widest = &c;
    }
  }

  void read_polls(const Node& seq, Device& dev) {
    std::map<std::string, int> groups;
    std::map<std::string, int> points;
    std::vector<std::pair<const Node*, std::pair<std::size_t, std::size_t>>> placed;
    for (const Node& g : seq.items) {
      if (!r_.map(g, "poll group", &kPollKeys)) continue;
      PollGroup pg;
      if (!g.find("name"))
        r_.error(g.mark, "poll group needs a 'name'");
      else if (r_.string(g, "name", pg.name, true)) {
        auto [it, fresh] = groups.emplace(pg.name, g.find("name")->value.mark.line);
        if (!fresh)
          r_.error(g.find("name")->value.mark, "duplicate poll group name " + q(pg.name) +
                                                   " in device " + q(dev.id) + " (first at line " +
                                                   std::to_string(it->second) + ")");
      }
      r_.integer(g, "interval_ms", pg.interval_ms, 1, kNoMax);
      const Entry* pts = g.find("points");
      if (pts == nullptr) {
        r_.error(g.mark, "poll group " + q(pg.name) + " needs 'points'");
      } else if (r_.sequence(pts->value, "points")) {
        for (const Node& pn : pts->value.items) {
          auto pt = read_point(pn);
          if (!pt) continue;
          auto [it, fresh] = points.emplace(pt->name, pn.find("name")->value.mark.line);
          if (!fresh) {
            r_.error(pn.find("name")->value.mark,
                     "duplicate point name " + q(pt->name) + " in device " + q(dev.id) +
                         " (first at line " + std::to_string(it->second) + ")");
            continue;
          }
          if (pn.find("address")) placed.push_back({&pn, {dev.polls.size(), pg.points.size()}});
          pg.points.push_back(std::move(*pt));
        }
      }
      dev.polls.push_back(std::move(pg));
    }
    // Spans point into dev.polls, which no longer grows.
    std::vector<Span> spans;
    spans.reserve(placed.size());
    for (const auto& [node, at] : placed) {
      const Point& p = dev.polls[at.first].points[at.second];
      const long width = is_bit_table(p.table) ? 1 : register_count(p.type, p.length);
      spans.push_back({p.table, p.address, p.address + std::max(width, 1L), &p.name,
                       node->find("address")->value.mark});
    }
    warn_overlaps(spans, dev);
  }

  // nullopt when the point has no usable name (nothing else can refer to it).
  std::optional<Point> read_point(const Node& n) {
    if (!r_.map(n, "point", &kPointKeys)) return std::nullopt;
    Point p;
    if (!n.find("name")) {
      r_.error(n.mark, "point needs a 'name'");
    } else {
      r_.string(n, "name", p.name, true);
    }
    const bool table_ok = r_.enumeration(n, "table", p.table, kTables) || !n.find("table");
    // On bit tables a point can only be a bit, so that is the default there.
    if (is_bit_table(p.table)) p.type = PointType::boolean;
    const bool type_ok = r_.enumeration(n, "type", p.type, kPointTypes) || !n.find("type");
    if (table_ok && type_ok && is_bit_table(p.table) && p.type != PointType::boolean)
      r_.error(n.find("type")->value.mark, std::string(to_string(p.table)) +
                                               " points must have type bool" +
                                               got(n.find("type")->value));
    int address = 0;
    const bool address_ok = r_.integer(n, "address", address, 0, 65535);
    if (!n.find("address")) r_.error(n.mark, "point " + q(p.name) + " needs an 'address'");
    p.address = static_cast<std::uint16_t>(address);
    r_.enumeration(n, "word_order", p.word_order, kOrders);
    r_.enumeration(n, "byte_order", p.byte_order, kOrders);
    if (r_.number(n, "scale", p.scale) && p.scale == 0) {
      r_.error(n.find("scale")->value.mark, "'scale' must not be 0");
      p.scale = 1;
    }
    r_.number(n, "offset", p.offset);
    read_point_history(n, p.history);
    bool length_ok = true;
    if (const Entry* len = n.find("length")) {
      if (type_ok && p.type != PointType::string) {
        r_.error(len->key_mark, "'length' only applies to string points");
        length_ok = false;
      } else {
        length_ok = r_.integer(n, "length", p.length, 1, 65536);
      }
    } else if (type_ok && p.type == PointType::string) {
      r_.error(n.find("type")->value.mark,
               "string point " + q(p.name) + " needs a 'length' in registers (at least 1)");
      length_ok = false;
    }
    if (address_ok && type_ok && length_ok) {
      const long long count = register_count(p.type, p.length);
      if (p.address + count > 65536)
        r_.error(n.find("address")->value.mark,
                 "point " + q(p.name) + " needs " + std::to_string(count) + " " +
                     (is_bit_table(p.table) ? "bits" : "registers") + " from address " +
                     std::to_string(p.address) + ", past the last address 65535");
    }
    if (p.name.empty()) return std::nullopt;
    return p;
  }

  void read_writable(const Node& n, Device& dev) {
    if (!r_.sequence(n, "writable")) return;
    std::map<std::string_view, const Point*> points;
    std::vector<std::string> names;
    for (const auto& g : dev.polls)
      for (const auto& p : g.points) {
        points.emplace(p.name, &p);
        names.push_back(p.name);
      }
    std::vector<std::string> writable;
    for (const Node& item : n.items) {
      if (!item.is_scalar()) {
        r_.error(item.mark, "'writable' entries must be point names" + got(item));
        continue;
      }
      writable.push_back(item.text);
      auto it = points.find(item.text);
      if (it == points.end()) {
        std::string msg =
            "'writable' names " + q(item.text) + ", which is not a point of device " + q(dev.id);
        if (auto s = detail::closest(item.text, names); !s.empty())
          msg += "; did you mean " + q(s) + "?";
        r_.error(item.mark, msg);
      } else if (it->second->table == Table::discrete || it->second->table == Table::input) {
        r_.error(item.mark, "point " + q(item.text) + " is in the read-only " +
                                std::string(to_string(it->second->table)) +
                                " table and cannot be written");
      }
    }
    dev.writable = std::move(writable);
  }

  Reader r_;
  bool topic_ids_ = false;
  // "serial port /dev/ttyS0\n17" or "10.0.0.5:502\n17" -> the first enabled device there and
  // the line of its entry.
  std::unordered_map<std::string, std::pair<std::string, int>> endpoints_;
};

bool has_overrides(const Node& root) {
  const Entry* e = root.is_map() ? root.find("backup_overrides") : nullptr;
  return e && !e->value.is_null();
}

// Builds the config and the version of its synchronized content before overrides. Takes the
// tree so it can drop it before the version is hashed: for 10,000 devices the tree is ~70 MB
// and would otherwise stay alive under the config and the hashing, the peak of a load.
LoadResult load_root(Node root, Diagnostics& d, bool as_backup, const Config* local) {
  // Without overrides this is the only build from `root`, which may then be consumed.
  auto cfg = Builder(d).build(root, as_backup, local, !has_overrides(root));
  const bool overridden = as_backup && has_overrides(root);
  std::optional<Config> plain;
  if (has_overrides(root) && !as_backup) {
    // The master also checks what its backup will run.
    Builder(d).build(root, true, local, false);
  } else if (overridden) {
    // The version both nodes report; problems of the plain content are the master's.
    Diagnostics own(d.file());
    plain = Builder(own).build(root, false, local, false);
    if (own.has_errors()) plain.reset();
  }
  root = Node{};
  LoadResult r;
  for (auto& diag : d.take_sorted())
    (diag.warning ? r.warnings : r.errors).push_back(std::move(diag));
  if (!r.errors.empty() || !cfg) return r;
  r.config = std::move(cfg);
  if (!overridden)
    r.version = config_version(*r.config);
  else if (plain)
    r.version = config_version(*plain);
  return r;
}

}  // namespace

LoadResult load_text(std::string_view text, const std::string& file_name,
                     const LoadOptions& options) {
  Diagnostics d(file_name);
  auto root = detail::parse_document(text, d, &options.env);
  if (!root) return LoadResult{std::nullopt, d.take_sorted(), {}, {}};
  return load_root(std::move(*root), d, options.as_backup, nullptr);
}

LoadResult load_file(const std::string& path, const LoadOptions& options) {
  auto cannot_read = [&](int err) {
    LoadResult r;
    r.errors.push_back(Diagnostic{path, 1, 1, std::string("cannot read: ") + std::strerror(err)});
    return r;
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return cannot_read(errno);
  std::string text;
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;  // e.g. EISDIR: a directory opens but does not read
  std::fclose(f);
  if (failed) return cannot_read(err ? err : EIO);
  // As load_text, but the file's text (8 MB for 10,000 devices) is released once parsed.
  Diagnostics d(path);
  auto root = detail::parse_document(text, d, &options.env);
  std::string().swap(text);
  if (!root) return LoadResult{std::nullopt, d.take_sorted(), {}, {}};
  return load_root(std::move(*root), d, options.as_backup, nullptr);
}

LoadResult load_synced(std::string_view master_canonical_text, const Config& local,
                       const LoadOptions& options) {
  Diagnostics d("master config");
  // Already expanded on the master: a literal "${" there must stay literal here.
  auto root = detail::parse_document(master_canonical_text, d, nullptr);
  if (!root) return LoadResult{std::nullopt, d.take_sorted(), {}, {}};
  return load_root(std::move(*root), d, options.as_backup, &local);
}

}  // namespace pollux::config
