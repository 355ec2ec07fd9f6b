// Peer-link framing (redundancy.md "Link and security"): sans-I/O encoder and incremental
// decoder for the one TCP connection between master and backup.
//
// Wire format of one frame:
//
//   +----------------------------+---------------------------+
//   | length: uint32 big-endian  | payload: `length` bytes   |
//   +----------------------------+---------------------------+
//
// `length` counts the payload only and may be at most kMaxFramePayload (16 MiB). A larger
// length is a protocol error: the decoder stops and the connection must be dropped. Before
// authentication the payload is a MessagePack message; after it, a sealed message (see
// security.hpp). The decoder is fed arbitrary chunks and consumes at most up to the end of the
// current frame, so it never buffers more than one frame. Before authentication the link lowers
// the limit (kMaxHandshakePayload) so an unauthenticated peer cannot make us hold 16 MiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pollux::redundancy {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::size_t kMaxFramePayload = 16u * 1024u * 1024u;
inline constexpr std::size_t kMaxHandshakePayload = 4096;

// Appends header + payload to `out`. A payload above the limit is a programming error
// (std::length_error): senders build their own messages.
void append_frame(Bytes& out, std::span<const std::uint8_t> payload);
Bytes encode_frame(std::span<const std::uint8_t> payload);

class FrameDecoder {
 public:
  // Lowers (or restores) the largest accepted payload; at most kMaxFramePayload.
  void set_max_payload(std::size_t n) {
    max_payload_ = n < kMaxFramePayload ? n : kMaxFramePayload;
  }
  std::size_t max_payload() const { return max_payload_; }

  // Consumes bytes from `in` up to the end of the current frame and returns how many it took.
  // Afterwards check failed() (drop the connection) and frame_ready() (take payload(), then
  // call next() before feeding more). Feeding while a frame is ready or after failure consumes
  // nothing.
  std::size_t feed(std::span<const std::uint8_t> in);

  bool frame_ready() const { return state_ == State::ready; }
  bool failed() const { return state_ == State::failed; }
  const std::string& error() const { return error_; }
  std::span<const std::uint8_t> payload() const { return payload_; }
  // Releases the ready frame; its storage is reused for the next one.
  void next();
  // Bytes of a frame still missing (header or payload); for diagnostics.
  std::size_t buffered() const { return header_fill_ + payload_.size(); }

 private:
  enum class State { header, payload, ready, failed };

  State state_ = State::header;
  std::uint8_t header_[kFrameHeaderSize] = {};
  std::size_t header_fill_ = 0;
  std::size_t expected_ = 0;
  std::size_t max_payload_ = kMaxFramePayload;
  Bytes payload_;
  std::string error_;
};

}  // namespace pollux::redundancy
