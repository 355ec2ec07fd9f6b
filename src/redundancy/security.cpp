#include "redundancy/security.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace pollux::redundancy {

namespace {

constexpr std::string_view kAuthLabel = "pollux-auth-v1";
constexpr std::string_view kSessionLabel = "pollux-session-v1";
constexpr std::size_t kSealHeader = 8 + kMacSize;

void append(Bytes& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}
void append(Bytes& out, std::span<const std::uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}
void append_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint8_t direction_byte(PeerRole sender) {
  return sender == PeerRole::master ? 'M' : 'B';
}

PeerRole other(PeerRole r) {
  return r == PeerRole::master ? PeerRole::backup : PeerRole::master;
}

}  // namespace

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");
  };
}

Bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Bytes mac(kMacSize);
  unsigned int len = 0;
  // A null key pointer with length 0 is rejected by some OpenSSL versions; the key is never
  // empty here (Session refuses it), but keep HMAC well-defined for any caller.
  static const std::uint8_t kZero = 0;
  if (!HMAC(EVP_sha256(), key.empty() ? &kZero : key.data(), static_cast<int>(key.size()),
            data.data(), data.size(), mac.data(), &len) ||
      len != kMacSize)
    throw std::runtime_error("HMAC-SHA256 failed");
  return mac;
}

Session::Session(PeerRole local, std::string_view psk, std::string node_name, RandomSource random)
    : local_(local),
      psk_(psk.begin(), psk.end()),
      node_(std::move(node_name)),
      random_(std::move(random)),
      state_(local == PeerRole::master ? State::await_hello : State::idle) {
  if (psk_.empty())
    throw std::invalid_argument("redundancy: empty pre-shared key (an empty key is an error)");
  if (!random_) throw std::invalid_argument("redundancy: no random source");
}

Bytes Session::start() {
  if (local_ != PeerRole::backup || state_ != State::idle)
    throw std::logic_error("Session::start: only a fresh backup session opens the handshake");
  nonce_backup_.assign(kNonceSize, 0);
  random_(nonce_backup_);
  state_ = State::await_challenge;
  return encode_message(Hello{kProtocolVersion, PeerRole::backup, node_, nonce_backup_});
}

SessionOutput Session::fail(SessionError kind, std::string error) {
  state_ = State::failed;
  error_ = error;
  SessionOutput out;
  out.error_kind = kind;
  out.error = std::move(error);
  return out;
}

Bytes Session::proof(PeerRole role) const {
  Bytes data;
  data.reserve(kAuthLabel.size() + 6 + 2 * kNonceSize);
  append(data, kAuthLabel);
  append(data, to_string(role));
  append(data, nonce_backup_);
  append(data, nonce_master_);
  return hmac_sha256(psk_, data);
}

void Session::derive_session_key() {
  Bytes data;
  append(data, kSessionLabel);
  append(data, nonce_backup_);
  append(data, nonce_master_);
  session_key_ = hmac_sha256(psk_, data);
}

SessionOutput Session::receive(std::span<const std::uint8_t> payload) {
  switch (state_) {
    case State::failed: {
      SessionOutput out;
      out.error_kind = SessionError::protocol;
      out.error = error_;
      return out;
    }
    case State::authenticated:
      return open(payload);
    case State::idle:
      return fail(SessionError::protocol, "frame received before the handshake started");
    default:
      break;
  }
  if (payload.size() > kMaxHandshakePayload)
    return fail(SessionError::protocol, "handshake message too large");
  Decoded d = decode_message(payload);
  if (!d.message) return fail(SessionError::protocol, d.error);
  if (!is_handshake(*d.message))
    return fail(SessionError::protocol,
                "unexpected " + std::string(type_name(*d.message)) + " before authentication");
  return handshake(std::move(*d.message));
}

SessionOutput Session::handshake(Message m) {
  SessionOutput out;
  if (state_ == State::await_hello) {
    auto* hello = std::get_if<Hello>(&m);
    if (!hello)
      return fail(SessionError::protocol,
                  "handshake: expected hello, got " + std::string(type_name(m)));
    if (hello->role != PeerRole::backup)
      return fail(SessionError::auth, "authentication failed: peer claims role " +
                                          std::string(to_string(hello->role)) +
                                          ", expected backup");
    nonce_backup_ = hello->nonce;
    peer_node_ = hello->node;
    nonce_master_.assign(kNonceSize, 0);
    random_(nonce_master_);
    if (equal_ct(nonce_master_, nonce_backup_))
      return fail(SessionError::auth, "authentication failed: peer reflected our nonce");
    out.send.push_back(encode_message(Challenge{PeerRole::master, node_, nonce_master_}));
    state_ = State::await_response;
    return out;
  }
  if (state_ == State::await_challenge) {
    auto* ch = std::get_if<Challenge>(&m);
    if (!ch)
      return fail(SessionError::protocol,
                  "handshake: expected challenge, got " + std::string(type_name(m)));
    if (ch->role != PeerRole::master)
      return fail(SessionError::auth, "authentication failed: peer claims role " +
                                          std::string(to_string(ch->role)) + ", expected master");
    if (equal_ct(ch->nonce, nonce_backup_))
      return fail(SessionError::auth, "authentication failed: peer reflected our nonce");
    nonce_master_ = ch->nonce;
    peer_node_ = ch->node;
    out.send.push_back(encode_message(Response{proof(PeerRole::backup), {}}));
    state_ = State::await_response;
    return out;
  }
  // await_response, on either side.
  auto* resp = std::get_if<Response>(&m);
  if (!resp)
    return fail(SessionError::protocol,
                "handshake: expected response, got " + std::string(type_name(m)));
  const PeerRole peer = other(local_);
  if (local_ == PeerRole::backup && !resp->error.empty())
    return fail(SessionError::auth, std::string(kErrKeyRejected));
  if (!equal_ct(resp->proof, proof(peer))) {
    SessionOutput failed = fail(SessionError::auth, std::string(kErrWrongKey));
    // Tell the backup why we hang up, without revealing our own proof.
    if (local_ == PeerRole::master)
      failed.send.push_back(encode_message(Response{{}, "proof rejected"}));
    return failed;
  }
  if (local_ == PeerRole::master) out.send.push_back(encode_message(Response{proof(local_), {}}));
  derive_session_key();
  state_ = State::authenticated;
  out.authenticated = true;
  return out;
}

Bytes Session::seal(const Message& m) {
  if (state_ != State::authenticated) throw std::logic_error("Session::seal before authentication");
  if (is_handshake(m)) throw std::logic_error("Session::seal of a handshake message");
  const Bytes body = encode_message(m);
  Bytes mac_input;
  mac_input.reserve(9 + body.size());
  mac_input.push_back(direction_byte(local_));
  append_u64(mac_input, send_seq_);
  append(mac_input, body);
  const Bytes mac = hmac_sha256(session_key_, mac_input);
  Bytes out;
  out.reserve(kSealHeader + body.size());
  append_u64(out, send_seq_);
  append(out, mac);
  append(out, body);
  ++send_seq_;
  return out;
}

SessionOutput Session::open(std::span<const std::uint8_t> payload) {
  if (payload.size() < kSealHeader)
    return fail(SessionError::protocol,
                "sealed frame too short: " + std::to_string(payload.size()) + " bytes");
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < 8; ++i)
    seq = (seq << 8) | payload[i];
  const auto mac = payload.subspan(8, kMacSize);
  const auto body = payload.subspan(kSealHeader);
  Bytes mac_input;
  mac_input.reserve(9 + body.size());
  mac_input.push_back(direction_byte(other(local_)));
  append_u64(mac_input, seq);
  append(mac_input, body);
  // MAC first: only an authentic frame may say anything about sequence numbers.
  if (!equal_ct(mac, hmac_sha256(session_key_, mac_input)))
    return fail(SessionError::protocol, std::string(kErrMacMismatch));
  if (seq != recv_seq_)
    return fail(SessionError::protocol, "frame out of sequence: got " + std::to_string(seq) +
                                            ", expected " + std::to_string(recv_seq_));
  Decoded d = decode_message(body);
  if (!d.message) return fail(SessionError::protocol, d.error);
  if (is_handshake(*d.message))
    return fail(SessionError::protocol,
                "unexpected " + std::string(type_name(*d.message)) + " after authentication");
  ++recv_seq_;
  SessionOutput out;
  out.message = std::move(d.message);
  return out;
}

}  // namespace pollux::redundancy
