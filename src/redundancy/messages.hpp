// Peer-link messages (redundancy.md "Link and security", "Synchronization"): the typed
// envelope carried in every frame payload, encoded as MessagePack through nlohmann-json.
//
// Every message is a MessagePack map with a "type" tag naming one of the structs below, plus
// that struct's fields. Decoding validates the tag and every field's presence and type; a
// malformed payload is a protocol error (an error string, never an exception or a crash).
// Unknown extra fields are ignored so a newer peer can add fields. Device and point state stay
// opaque JSON objects here: the node fills and reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "redundancy/frame.hpp"

namespace pollux::redundancy {

inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kMacSize = 32;  // HMAC-SHA256

enum class Activity { active, standby };
std::string_view to_string(Activity a);
std::optional<Activity> parse_activity(std::string_view s);

// Which end of the link a node is; also the role each side proves in the handshake.
enum class PeerRole { master, backup };
std::string_view to_string(PeerRole r);

// Handshake, backup -> master: protocol version, the sender's role and its fresh nonce.
struct Hello {
  std::uint32_t version = kProtocolVersion;
  PeerRole role = PeerRole::backup;
  std::string node;
  Bytes nonce;
};
// Handshake, master -> backup: the master's fresh nonce.
struct Challenge {
  PeerRole role = PeerRole::master;
  std::string node;
  Bytes nonce;
};
// Handshake proof (see security.hpp). From the master, either its proof (success) or an error
// telling the backup its proof was rejected (then `proof` is empty).
struct Response {
  Bytes proof;
  std::string error;
};
// Liveness and summary, backup -> master every heartbeat_interval_ms.
struct Heartbeat {
  Activity activity = Activity::standby;
  std::string config_version;
  std::uint64_t state_seq = 0;
  std::int64_t sent_at = 0;  // sender's wall clock, ms since the Unix epoch
};
// The master's answer to each heartbeat, with the master's own summary.
struct HeartbeatAck {
  Activity activity = Activity::standby;
  std::string config_version;
  std::uint64_t state_seq = 0;
  std::int64_t sent_at = 0;
  std::int64_t echo_sent_at = 0;  // the heartbeat's sent_at, for round-trip time
};
// The master's synchronized config (its canonical text and that text's version hash).
struct ConfigMessage {
  std::string version;
  std::string canonical_text;
};
// Whole runtime state; `devices` and `points` are arrays of objects owned by the node.
struct StateFull {
  std::uint64_t seq = 0;
  nlohmann::json devices = nlohmann::json::array();
  nlohmann::json points = nlohmann::json::array();
  // The bdSeq of the active node's last Sparkplug session (northbound.md "Sessions, outages and
  // the pair": the pair shares the counter). Absent without northbound, or from an older peer.
  std::optional<std::uint64_t> bd_seq;
};
// Changed entries since seq - 1; a receiver that applied anything but seq - 1 asks for a full
// transfer with StateRequest.
struct StateDelta {
  std::uint64_t seq = 0;
  nlohmann::json devices = nlohmann::json::array();
  nlohmann::json points = nlohmann::json::array();
  // Completed polls ({"d": device, "g": poll group, "t": wall ms}): the receiver sets the time of
  // the group's points, whose unchanged values are not in `points`. Optional on the wire (an
  // older peer sends none).
  nlohmann::json polls = nlohmann::json::array();
  // As StateFull::bd_seq; sent when it changed.
  std::optional<std::uint64_t> bd_seq;
};
struct StateRequest {
  std::uint64_t last_seq = 0;  // the last sequence the sender applied
};
// Handover (redundancy.md transitions 3-5, see machine.hpp): request = "please give activity
// to me", ack = "I stopped polling and closed my ports; open yours", done = "I am active".
struct HandoverRequest {
  std::string reason;
};
struct HandoverAck {
  std::string reason;
};
struct HandoverDone {
  std::string reason;
};

// History forwarding (history.md "Redundancy"), backup -> master: the backup's level ("full" or
// "partial") and a batch of the records it made while active ({"d": device, "p": point,
// "t": wall ms, "v": value, "q": quality}; owned by the node). An empty batch asks only for
// the master's coverage.
struct HistoryForward {
  std::uint64_t seq = 0;
  std::string level;
  nlohmann::json records = nlohmann::json::array();
};
// The master's answer once the batch `seq` is committed to its store: how many records it
// took, and when it was active (its start, wall ms, and its active intervals since,
// {"from": ms, "to": ms or null while active}), so a `partial` backup forwards only records
// from times the master was not active.
struct HistoryForwarded {
  std::uint64_t seq = 0;
  std::uint64_t written = 0;
  std::int64_t started_at = 0;
  nlohmann::json active = nlohmann::json::array();
  // Empty when committed; else why not (the backup keeps the batch and tries again later).
  std::string error;
};

using Message = std::variant<Hello, Challenge, Response, Heartbeat, HeartbeatAck, ConfigMessage,
                             StateFull, StateDelta, StateRequest, HandoverRequest, HandoverAck,
                             HandoverDone, HistoryForward, HistoryForwarded>;

// The wire "type" tag: hello, challenge, response, heartbeat, heartbeat_ack, config,
// state_full, state_delta, state_request, handover_request, handover_ack, handover_done,
// history_forward, history_forwarded.
std::string_view type_name(const Message& m);
bool is_handshake(const Message& m);

Bytes encode_message(const Message& m);

struct Decoded {
  std::optional<Message> message;
  std::string error;  // set when message is empty: "malformed message: ..."
};
Decoded decode_message(std::span<const std::uint8_t> payload);

}  // namespace pollux::redundancy
