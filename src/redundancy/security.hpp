// Peer-link security (redundancy.md "Link and security"): the sans-I/O session that runs the
// mutual HMAC-SHA256 handshake and then seals and opens every frame payload.
//
// Handshake (keyed by the pre-shared key K; nonces are fresh 32-byte randoms):
//   backup -> master  hello     {nonce_b}
//   master -> backup  challenge {nonce_m}
//   backup -> master  response  {proof_b = HMAC(K, "pollux-auth-v1" | "backup" | nonce_b |
//   nonce_m)} master -> backup  response  {proof_m = HMAC(K, "pollux-auth-v1" | "master" | nonce_b
//   | nonce_m)}
//                     or {error} when proof_b was wrong: the master never reveals a proof to a
//                     peer that has not proved the key first.
// Each side proves the key over BOTH nonces plus its own role, so an answer recorded from an
// earlier handshake (other nonces) or reflected from the other direction (other role) fails.
// Proofs are compared in constant time (CRYPTO_memcmp).
//
// After the handshake every payload is sealed:
//   seq: uint64 big-endian | mac: 32 bytes | body: MessagePack message
//   mac = HMAC(S, direction | seq | body), S = HMAC(K, "pollux-session-v1" | nonce_b | nonce_m)
// `direction` is 'M' (master -> backup) or 'B' (backup -> master); `seq` counts from 0 per
// direction. A bad MAC ("frame MAC mismatch") or an unexpected seq (replay, reorder, loss:
// "frame out of sequence") fails the session, and the link drops the connection. Nothing but
// the handshake is accepted before authentication.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redundancy/frame.hpp"
#include "redundancy/messages.hpp"

namespace pollux::redundancy {

// Fills the span with cryptographically strong random bytes; injectable so tests can pin nonces.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;
// OpenSSL RAND_bytes; throws std::runtime_error if the generator fails.
RandomSource system_random();

Bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

enum class SessionError {
  none,
  auth,      // the peer is alive but did not prove our key (wrong key, replay, wrong role)
  protocol,  // malformed, out of order or tampered traffic
};

// What one received payload produced.
struct SessionOutput {
  std::vector<Bytes> send;         // payloads to frame and write, in order (handshake replies)
  bool authenticated = false;      // the handshake completed with this payload
  std::optional<Message> message;  // an application message (only once authenticated)
  SessionError error_kind = SessionError::none;
  std::string error;  // set with error_kind: drop the connection, log and show this
  bool failed() const { return error_kind != SessionError::none; }
};

class Session {
 public:
  // `local` is this node's role: the backup opens the handshake with start(). An empty psk
  // throws std::invalid_argument: an empty key is never "no security".
  Session(PeerRole local, std::string_view psk, std::string node_name,
          RandomSource random = system_random());

  // Backup only: the hello payload that opens the handshake (send it unsealed).
  Bytes start();
  // Feeds one received frame payload.
  SessionOutput receive(std::span<const std::uint8_t> payload);
  // Seals an application message for sending; throws std::logic_error before authentication
  // or for a handshake message.
  Bytes seal(const Message& m);

  bool authenticated() const { return state_ == State::authenticated; }
  bool failed() const { return state_ == State::failed; }
  PeerRole local_role() const { return local_; }
  const std::string& peer_node() const { return peer_node_; }
  const std::string& error() const { return error_; }

 private:
  enum class State { idle, await_hello, await_challenge, await_response, authenticated, failed };

  SessionOutput handshake(Message m);
  SessionOutput open(std::span<const std::uint8_t> payload);
  SessionOutput fail(SessionError kind, std::string error);
  Bytes proof(PeerRole role) const;
  void derive_session_key();

  PeerRole local_;
  Bytes psk_;
  std::string node_;
  RandomSource random_;
  State state_;
  Bytes nonce_backup_;
  Bytes nonce_master_;
  Bytes session_key_;
  std::uint64_t send_seq_ = 0;
  std::uint64_t recv_seq_ = 0;
  std::string peer_node_;
  std::string error_;
};

// Error strings shared with tests and logs.
inline constexpr std::string_view kErrWrongKey =
    "authentication failed: peer proved a different key";
inline constexpr std::string_view kErrKeyRejected = "authentication failed: peer rejected our key";
inline constexpr std::string_view kErrMacMismatch = "frame MAC mismatch";

}  // namespace pollux::redundancy
