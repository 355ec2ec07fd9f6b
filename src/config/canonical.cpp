#include "config/canonical.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace pollux::config {
namespace {

using nlohmann::json;

json timing_json(const MessageTiming& t, json& o) {
  o["message_timeout_ms"] = t.message_timeout_ms;
  o["message_delay_ms"] = t.message_delay_ms;
  o["poll_attempts"] = t.poll_attempts;
  o["write_attempts"] = t.write_attempts;
  return o;
}

json channel_json(const Channel& c) {
  json o = json::object();
  o["id"] = c.id;
  o["type"] = to_string(c.type);
  o["protocol"] = to_string(c.protocol);
  o["enabled"] = c.enabled;
  o["port"] = c.port;
  o["baud"] = c.baud;
  o["parity"] = to_string(c.parity);
  o["data_bits"] = c.data_bits;
  o["stop_bits"] = c.stop_bits;
  o["init"] = c.init;
  o["dial_timeout_s"] = c.dial_timeout_s;
  o["idle_hangup_s"] = c.idle_hangup_s;
  o["connect_timeout_ms"] = c.connect_timeout_ms;
  o["max_connections"] = c.max_connections;
  timing_json(c.timing, o);
  o["demote_after_failed_polls"] = c.demote_after_failed_polls;
  o["demote_for_ms"] = c.demote_for_ms;
  return o;
}

// A path is written resolved (channel defaults applied, init filled in), so it reads back as
// the same Path. Fields that are absent in the model (empty host, no unit override...) are
// left out because the loader has no spelling for "absent" other than leaving the key out;
// `available` exists only on failover lines, `subsequent_fail_s` never on line 3.
json path_json(const Path& p, std::size_t line) {
  json o = json::object();
  o["channel"] = p.channel;
  timing_json(p.timing, o);
  o["init"] = p.init;
  if (!p.host.empty()) o["host"] = p.host;
  if (p.port != 0) o["port"] = p.port;
  if (!p.phone.empty()) o["phone"] = p.phone;
  if (p.unit) o["unit"] = *p.unit;
  if (line != 0) o["available"] = p.available;
  o["initial_fail_s"] = p.initial_fail_s;
  if (p.subsequent_fail_s && line != 2) o["subsequent_fail_s"] = *p.subsequent_fail_s;
  if (p.retry_primary_s && line != 0) o["retry_primary_s"] = *p.retry_primary_s;
  return o;
}

json point_json(const Point& p) {
  json o = json::object();
  o["name"] = p.name;
  o["table"] = to_string(p.table);
  o["address"] = p.address;
  o["type"] = to_string(p.type);
  o["word_order"] = to_string(p.word_order);
  o["byte_order"] = to_string(p.byte_order);
  o["scale"] = p.scale;
  o["offset"] = p.offset;
  if (p.type == PointType::string) o["length"] = p.length;
  // Added after the version was pinned: written only when set (see device_json).
  if (!p.history.enabled) {
    o["history"] = false;
  } else if (p.history.deadband || p.history.max_interval_s) {
    json h = json::object();
    if (p.history.deadband) h["deadband"] = *p.history.deadband;
    if (p.history.max_interval_s) h["max_interval_s"] = *p.history.max_interval_s;
    o["history"] = std::move(h);
  }
  return o;
}

json device_json(const Device& d) {
  static constexpr std::array<const char*, 3> kLines = {"primary", "first_failover",
                                                        "second_failover"};
  json o = json::object();
  o["id"] = d.id;
  o["enabled"] = d.enabled;
  o["unit"] = d.unit;
  json comm = json::object();
  comm["auto"] = d.comm.auto_failover;
  comm["sequence"] = to_string(d.comm.sequence);
  comm["failback_on_failure"] = d.comm.failback_on_failure;
  comm["retry_in_progress_control"] = d.comm.retry_in_progress_control;
  comm["active"] = d.comm.active;
  for (std::size_t i = 0; i < kLines.size(); ++i)
    if (d.comm.lines[i]) comm[kLines[i]] = path_json(*d.comm.lines[i], i);
  o["comm"] = std::move(comm);
  json polls = json::array();
  for (const auto& g : d.polls) {
    json pg = json::object();
    pg["name"] = g.name;
    pg["interval_ms"] = g.interval_ms;
    json points = json::array();
    for (const auto& p : g.points)
      points.push_back(point_json(p));
    pg["points"] = std::move(points);
    polls.push_back(std::move(pg));
  }
  o["polls"] = std::move(polls);
  o["writable"] = d.writable;
  o["max_gap_registers"] = d.max_gap_registers;
  o["max_gap_bits"] = d.max_gap_bits;
  // Keys added after the version was first pinned appear only when set away from their default,
  // so a config that does not use them keeps the version every earlier build reported (a pair
  // upgraded one node at a time still agrees on it).
  if (d.refused_retry_s != Device{}.refused_retry_s) o["refused_retry_s"] = d.refused_retry_s;
  return o;
}

// The shared part of `history:` (its node-local keys stay on each node).
json history_json(const HistorySettings& h) {
  json o = json::object();
  o["backend"] = to_string(h.backend);
  o["retention_days"] = h.retention_days;
  o["deadband"] = h.deadband;
  o["max_interval_s"] = h.max_interval_s;
  return o;
}

// The shared part of `northbound:` (mqtt.client_id and state_path stay on each node). Optional
// strings are written only when set: the loader's spelling for "none" is leaving the key out.
json northbound_json(const NorthboundSettings& n) {
  json mqtt = json::object();
  mqtt["url"] = n.mqtt.url;
  if (!n.mqtt.username.empty()) mqtt["username"] = n.mqtt.username;
  if (!n.mqtt.password.empty()) mqtt["password"] = n.mqtt.password;
  json tls = json::object();
  if (!n.mqtt.tls.ca_file.empty()) tls["ca_file"] = n.mqtt.tls.ca_file;
  if (!n.mqtt.tls.cert_file.empty()) tls["cert_file"] = n.mqtt.tls.cert_file;
  if (!n.mqtt.tls.key_file.empty()) tls["key_file"] = n.mqtt.tls.key_file;
  if (!tls.empty()) mqtt["tls"] = std::move(tls);
  mqtt["keepalive_s"] = n.mqtt.keepalive_s;
  json sparkplug = json::object();
  sparkplug["group_id"] = n.sparkplug.group_id;
  sparkplug["edge_node_id"] = n.sparkplug.edge_node_id;
  if (!n.sparkplug.primary_host_id.empty())
    sparkplug["primary_host_id"] = n.sparkplug.primary_host_id;
  json o = json::object();
  o["mqtt"] = std::move(mqtt);
  o["sparkplug"] = std::move(sparkplug);
  o["store_and_forward"] = json{{"max_records", n.max_records}};
  return o;
}

// Writes the canonical text in pieces (one channel or one device at a time) to `sink`: the
// same bytes as dumping one object {"backup_overrides", "channels", "devices", "history",
// "northbound"} (keys in sorted order). A JSON tree of a whole 10,000-device config is over 100 MB
// at the peak of loading, and the version needs only a running digest, never the whole text.
template <class Sink>
void write_canonical(const Config& config, Sink&& sink) {
  std::string piece;
  const auto dump = [&piece](const json& j) {
    // Invalid UTF-8 cannot come from the loader (it rejects it); replace rather than throw.
    piece = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return std::string_view(piece);
  };
  // Already canonical JSON (written by the loader); parsed so it nests as an object.
  json overrides = config.backup_overrides_canonical.empty()
                       ? json::object()
                       : json::parse(config.backup_overrides_canonical, nullptr, false);
  if (overrides.is_discarded()) overrides = json::object();
  sink(std::string_view("{\"backup_overrides\":"));
  sink(dump(overrides));
  sink(std::string_view(",\"channels\":["));
  for (std::size_t i = 0; i < config.channels.size(); ++i) {
    if (i > 0) sink(std::string_view(","));
    sink(dump(channel_json(config.channels[i])));
  }
  sink(std::string_view("],\"devices\":["));
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    if (i > 0) sink(std::string_view(","));
    sink(dump(device_json(config.devices[i])));
  }
  sink(std::string_view("]"));
  // Absent when not configured, so a config without history keeps its earlier version.
  if (config.history) {
    sink(std::string_view(",\"history\":"));
    sink(dump(history_json(*config.history)));
  }
  // Likewise: a config without northbound keeps the version it had before the section existed.
  if (config.northbound) {
    sink(std::string_view(",\"northbound\":"));
    sink(dump(northbound_json(*config.northbound)));
  }
  sink(std::string_view("}"));
}

}  // namespace

std::string canonical_text(const Config& config) {
  std::string out;
  write_canonical(config, [&out](std::string_view piece) { out += piece; });
  return out;
}

std::string config_version(const Config& config) {
  // Hashed as it is written: the text of a 10,000-device config is ~20 MB that nobody keeps.
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  bool ok = true;
  write_canonical(config, [&](std::string_view piece) {
    ok = ok && EVP_DigestUpdate(ctx.get(), piece.data(), piece.size()) == 1;
  });
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace pollux::config
