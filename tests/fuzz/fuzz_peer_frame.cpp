// libFuzzer target for everything the peer link does with bytes from the network
// (redundancy.md "Link and security"): the frame decoder fed in arbitrary chunks, message
// decoding, the handshake, and the authenticated receive path. The first input byte picks the
// mode, the second the chunk size; the rest is the TCP byte stream.
//   mode 0: frames -> decode_message; anything that decodes must re-encode and decode again
//   mode 1: frames -> an unauthenticated master and backup session (handshake path)
//   mode 2: frames -> an authenticated master session, each payload once as sent (raw, almost
//           always a MAC failure) and, on a fresh pair, sealed with the right MAC and sequence
//           so the MessagePack decode after authentication is reached
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "redundancy/frame.hpp"
#include "redundancy/messages.hpp"
#include "redundancy/security.hpp"

namespace {

using namespace pollux::redundancy;

constexpr std::string_view kKey = "fuzz-key";

RandomSource fixed_random(std::uint8_t start) {
  return [next = start](std::span<std::uint8_t> out) mutable {
    for (auto& b : out)
      b = next;
    ++next;
  };
}

void append_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

struct AuthenticatedPair {
  Session master{PeerRole::master, kKey, "M", fixed_random(0x40)};
  Session backup{PeerRole::backup, kKey, "B", fixed_random(0x10)};
  Bytes session_key;
  std::uint64_t seq = 0;

  AuthenticatedPair() {
    auto challenge = master.receive(backup.start());
    auto answer = backup.receive(challenge.send.at(0));
    auto final_reply = master.receive(answer.send.at(0));
    auto done = backup.receive(final_reply.send.at(0));
    if (!done.authenticated || !master.authenticated()) __builtin_trap();
    // Independent derivation of the session key from security.hpp's description: if the fuzz
    // harness and the session disagree, sealed frames fail and the fuzzer reports no coverage.
    Bytes data(std::string_view("pollux-session-v1").begin(),
               std::string_view("pollux-session-v1").end());
    data.insert(data.end(), kNonceSize, 0x10);  // backup nonce
    data.insert(data.end(), kNonceSize, 0x40);  // master nonce
    session_key = hmac_sha256(Bytes(kKey.begin(), kKey.end()), data);
  }

  // Seals `body` as the backup would (direction 'B').
  Bytes seal(std::span<const std::uint8_t> body) {
    Bytes mac_input{'B'};
    append_u64(mac_input, seq);
    mac_input.insert(mac_input.end(), body.begin(), body.end());
    Bytes out;
    append_u64(out, seq++);
    const Bytes mac = hmac_sha256(session_key, mac_input);
    out.insert(out.end(), mac.begin(), mac.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }
};

template <class F>
void for_each_frame(std::span<const std::uint8_t> in, std::size_t chunk, F&& on_payload) {
  FrameDecoder dec;
  while (!in.empty()) {
    auto piece = in.first(std::min(chunk, in.size()));
    in = in.subspan(piece.size());
    while (!piece.empty()) {
      piece = piece.subspan(dec.feed(piece));
      if (dec.failed()) return;
      if (dec.frame_ready()) {
        if (!on_payload(dec.payload())) return;
        dec.next();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int mode = data[0] % 3;
  const std::size_t chunk = 1 + data[1] % 64;
  const std::span<const std::uint8_t> stream(data + 2, size - 2);

  if (mode == 0) {
    for_each_frame(stream, chunk, [](std::span<const std::uint8_t> payload) {
      Decoded d = decode_message(payload);
      if (d.message.has_value() == !d.error.empty()) __builtin_trap();
      if (d.message) {
        Decoded again = decode_message(encode_message(*d.message));
        if (!again.message || again.message->index() != d.message->index()) __builtin_trap();
      }
      return true;
    });
  } else if (mode == 1) {
    Session master(PeerRole::master, kKey, "M", fixed_random(0x40));
    Session backup(PeerRole::backup, kKey, "B", fixed_random(0x10));
    backup.start();
    for_each_frame(stream, chunk, [&](std::span<const std::uint8_t> payload) {
      SessionOutput m = master.receive(payload);
      SessionOutput b = backup.receive(payload);
      // Nothing but the handshake may get through before authentication.
      if (m.message || b.message) __builtin_trap();
      return !(master.failed() && backup.failed());
    });
  } else {
    AuthenticatedPair raw;
    AuthenticatedPair sealed;
    bool raw_alive = true;
    for_each_frame(stream, chunk, [&](std::span<const std::uint8_t> payload) {
      if (raw_alive) {
        SessionOutput out = raw.master.receive(payload);
        raw_alive = !out.failed();
      }
      SessionOutput out = sealed.master.receive(sealed.seal(payload));
      if (out.error == kErrMacMismatch) __builtin_trap();  // our own seal must verify
      if (out.failed()) return raw_alive;
      if (!out.message) __builtin_trap();
      return true;
    });
  }
  return 0;
}
