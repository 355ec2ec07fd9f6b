#include "redundancy/messages.hpp"

#include <limits>
#include <stdexcept>

namespace pollux::redundancy {

using nlohmann::json;

namespace {

// Thrown by the field readers below and turned into the decode error string; never escapes.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw Malformed(std::string("missing field '") + key + "'");
  return *it;
}

std::string get_string(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_string()) throw Malformed(std::string("field '") + key + "' is not a string");
  return v.get<std::string>();
}

std::uint64_t get_uint(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_number_unsigned())
    throw Malformed(std::string("field '") + key + "' is not an unsigned integer");
  return v.get<std::uint64_t>();
}

std::int64_t get_int(const json& j, const char* key) {
  const json& v = field(j, key);
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw Malformed(std::string("field '") + key + "' is out of range");
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (!v.is_number_integer()) throw Malformed(std::string("field '") + key + "' is not an integer");
  return v.get<std::int64_t>();
}

Bytes get_bytes(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_binary()) throw Malformed(std::string("field '") + key + "' is not binary");
  const auto& b = v.get_binary();
  return Bytes(b.begin(), b.end());
}

Bytes get_bytes_sized(const json& j, const char* key, std::size_t size) {
  Bytes b = get_bytes(j, key);
  if (b.size() != size)
    throw Malformed(std::string("field '") + key + "' has " + std::to_string(b.size()) +
                    " bytes, expected " + std::to_string(size));
  return b;
}

Activity get_activity(const json& j, const char* key) {
  auto a = parse_activity(get_string(j, key));
  if (!a) throw Malformed(std::string("field '") + key + "' is not active|standby");
  return *a;
}

PeerRole get_role(const json& j, const char* key) {
  const std::string s = get_string(j, key);
  if (s == "master") return PeerRole::master;
  if (s == "backup") return PeerRole::backup;
  throw Malformed(std::string("field '") + key + "' is not master|backup");
}

json get_object_array(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_array()) throw Malformed(std::string("field '") + key + "' is not an array");
  for (const auto& e : v)
    if (!e.is_object()) throw Malformed(std::string("field '") + key + "' has a non-object entry");
  return v;
}

// Counts nesting while the MessagePack reader walks the payload and stops it past kMaxDepth:
// nlohmann's binary reader recurses once per level, so an unchecked payload of nested arrays
// would exhaust the stack.
constexpr std::size_t kMaxDepth = 32;

struct DepthLimit {
  std::size_t depth = 0;
  bool too_deep = false;
  bool enter() {
    if (++depth > kMaxDepth) {
      too_deep = true;
      return false;
    }
    return true;
  }
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return enter(); }
  bool key(std::string&) { return true; }
  bool end_object() {
    --depth;
    return true;
  }
  bool start_array(std::size_t) { return enter(); }
  bool end_array() {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }
};

json to_json(const Hello& m) {
  return {{"version", m.version},
          {"role", to_string(m.role)},
          {"node", m.node},
          {"nonce", json::binary(m.nonce)}};
}
json to_json(const Challenge& m) {
  return {{"role", to_string(m.role)}, {"node", m.node}, {"nonce", json::binary(m.nonce)}};
}
json to_json(const Response& m) {
  return {{"proof", json::binary(m.proof)}, {"error", m.error}};
}
json to_json(const Heartbeat& m) {
  return {{"activity", to_string(m.activity)},
          {"config_version", m.config_version},
          {"state_seq", m.state_seq},
          {"sent_at", m.sent_at}};
}
json to_json(const HeartbeatAck& m) {
  return {{"activity", to_string(m.activity)},
          {"config_version", m.config_version},
          {"state_seq", m.state_seq},
          {"sent_at", m.sent_at},
          {"echo_sent_at", m.echo_sent_at}};
}
json to_json(const ConfigMessage& m) {
  return {{"version", m.version}, {"canonical_text", m.canonical_text}};
}
// A default-constructed json (null) means "no entries": send an empty array, which is what the
// receiver validates for.
json entries(const json& j) {
  return j.is_null() ? json::array() : j;
}
json to_json(const StateFull& m) {
  json out = {{"seq", m.seq}, {"devices", entries(m.devices)}, {"points", entries(m.points)}};
  if (m.bd_seq) out["bd_seq"] = *m.bd_seq;
  return out;
}
json to_json(const StateDelta& m) {
  json out = {{"seq", m.seq},
              {"devices", entries(m.devices)},
              {"points", entries(m.points)},
              {"polls", entries(m.polls)}};
  if (m.bd_seq) out["bd_seq"] = *m.bd_seq;
  return out;
}
// Optional fields a newer peer adds: absent is nullopt, present must have the right type.
std::optional<std::uint64_t> get_optional_uint(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  return get_uint(j, key);
}
json to_json(const StateRequest& m) {
  return {{"last_seq", m.last_seq}};
}
json to_json(const HandoverRequest& m) {
  return {{"reason", m.reason}};
}
json to_json(const HandoverAck& m) {
  return {{"reason", m.reason}};
}
json to_json(const HandoverDone& m) {
  return {{"reason", m.reason}};
}
json to_json(const HistoryForward& m) {
  return {{"seq", m.seq}, {"level", m.level}, {"records", entries(m.records)}};
}
json to_json(const HistoryForwarded& m) {
  return {{"seq", m.seq},
          {"written", m.written},
          {"started_at", m.started_at},
          {"active", entries(m.active)},
          {"error", m.error}};
}

Message from_json(const std::string& type, const json& j) {
  if (type == "hello") {
    Hello m;
    const std::uint64_t v = get_uint(j, "version");
    if (v != kProtocolVersion) throw Malformed("unsupported protocol version " + std::to_string(v));
    m.version = static_cast<std::uint32_t>(v);
    m.role = get_role(j, "role");
    m.node = get_string(j, "node");
    m.nonce = get_bytes_sized(j, "nonce", kNonceSize);
    return m;
  }
  if (type == "challenge") {
    Challenge m;
    m.role = get_role(j, "role");
    m.node = get_string(j, "node");
    m.nonce = get_bytes_sized(j, "nonce", kNonceSize);
    return m;
  }
  if (type == "response") {
    Response m;
    m.error = get_string(j, "error");
    m.proof = get_bytes(j, "proof");
    if (m.error.empty() && m.proof.size() != kMacSize)
      throw Malformed("field 'proof' has " + std::to_string(m.proof.size()) + " bytes, expected " +
                      std::to_string(kMacSize));
    return m;
  }
  if (type == "heartbeat") {
    Heartbeat m;
    m.activity = get_activity(j, "activity");
    m.config_version = get_string(j, "config_version");
    m.state_seq = get_uint(j, "state_seq");
    m.sent_at = get_int(j, "sent_at");
    return m;
  }
  if (type == "heartbeat_ack") {
    HeartbeatAck m;
    m.activity = get_activity(j, "activity");
    m.config_version = get_string(j, "config_version");
    m.state_seq = get_uint(j, "state_seq");
    m.sent_at = get_int(j, "sent_at");
    m.echo_sent_at = get_int(j, "echo_sent_at");
    return m;
  }
  if (type == "config")
    return ConfigMessage{get_string(j, "version"), get_string(j, "canonical_text")};
  if (type == "state_full")
    return StateFull{get_uint(j, "seq"), get_object_array(j, "devices"),
                     get_object_array(j, "points"), get_optional_uint(j, "bd_seq")};
  if (type == "state_delta")
    return StateDelta{get_uint(j, "seq"), get_object_array(j, "devices"),
                      get_object_array(j, "points"),
                      j.contains("polls") ? get_object_array(j, "polls") : json::array(),
                      get_optional_uint(j, "bd_seq")};
  if (type == "state_request") return StateRequest{get_uint(j, "last_seq")};
  if (type == "handover_request") return HandoverRequest{get_string(j, "reason")};
  if (type == "handover_ack") return HandoverAck{get_string(j, "reason")};
  if (type == "handover_done") return HandoverDone{get_string(j, "reason")};
  if (type == "history_forward")
    return HistoryForward{get_uint(j, "seq"), get_string(j, "level"),
                          get_object_array(j, "records")};
  if (type == "history_forwarded")
    return HistoryForwarded{get_uint(j, "seq"), get_uint(j, "written"), get_int(j, "started_at"),
                            get_object_array(j, "active"), get_string(j, "error")};
  throw Malformed("unknown message type '" + type + "'");
}

}  // namespace

std::string_view to_string(Activity a) {
  return a == Activity::active ? "active" : "standby";
}

std::optional<Activity> parse_activity(std::string_view s) {
  if (s == "active") return Activity::active;
  if (s == "standby") return Activity::standby;
  return std::nullopt;
}

std::string_view to_string(PeerRole r) {
  return r == PeerRole::master ? "master" : "backup";
}

std::string_view type_name(const Message& m) {
  static constexpr std::string_view kNames[] = {
      "hello",        "challenge",     "response",        "heartbeat",        "heartbeat_ack",
      "config",       "state_full",    "state_delta",     "state_request",    "handover_request",
      "handover_ack", "handover_done", "history_forward", "history_forwarded"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[m.index()];
}

bool is_handshake(const Message& m) {
  return std::holds_alternative<Hello>(m) || std::holds_alternative<Challenge>(m) ||
         std::holds_alternative<Response>(m);
}

Bytes encode_message(const Message& m) {
  json j = std::visit([](const auto& v) { return to_json(v); }, m);
  j["type"] = type_name(m);
  return json::to_msgpack(j);
}

Decoded decode_message(std::span<const std::uint8_t> payload) {
  Decoded out;
  try {
    DepthLimit limit;
    json::sax_parse(payload.begin(), payload.end(), &limit, json::input_format_t::msgpack);
    if (limit.too_deep) throw Malformed("nesting deeper than " + std::to_string(kMaxDepth));
    const json j = json::from_msgpack(payload.begin(), payload.end());
    if (!j.is_object()) throw Malformed("payload is not a map");
    out.message = from_json(get_string(j, "type"), j);
  } catch (const Malformed& e) {
    out.error = std::string("malformed message: ") + e.what();
  } catch (const json::exception& e) {
    out.error = std::string("malformed message: ") + e.what();
  }
  return out;
}

}  // namespace pollux::redundancy
