#include "redundancy/frame.hpp"

#include <algorithm>
#include <stdexcept>

namespace pollux::redundancy {

void append_frame(Bytes& out, std::span<const std::uint8_t> payload) {
  if (payload.size() > kMaxFramePayload) throw std::length_error("peer frame payload above 16 MiB");
  const auto n = static_cast<std::uint32_t>(payload.size());
  out.push_back(static_cast<std::uint8_t>(n >> 24));
  out.push_back(static_cast<std::uint8_t>(n >> 16));
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n));
  out.insert(out.end(), payload.begin(), payload.end());
}

Bytes encode_frame(std::span<const std::uint8_t> payload) {
  Bytes out;
  out.reserve(kFrameHeaderSize + payload.size());
  append_frame(out, payload);
  return out;
}

std::size_t FrameDecoder::feed(std::span<const std::uint8_t> in) {
  std::size_t used = 0;
  if (state_ == State::header) {
    const std::size_t take = std::min(kFrameHeaderSize - header_fill_, in.size());
    std::copy_n(in.begin(), take, header_ + header_fill_);
    header_fill_ += take;
    used += take;
    if (header_fill_ < kFrameHeaderSize) return used;
    expected_ = (std::size_t{header_[0]} << 24) | (std::size_t{header_[1]} << 16) |
                (std::size_t{header_[2]} << 8) | std::size_t{header_[3]};
    header_fill_ = 0;
    if (expected_ > max_payload_) {
      state_ = State::failed;
      error_ = "frame too large: " + std::to_string(expected_) + " bytes > " +
               (max_payload_ == kMaxFramePayload
                    ? std::string("16 MiB")
                    : std::to_string(max_payload_) + " bytes before authentication");
      return used;
    }
    payload_.clear();
    state_ = State::payload;
  }
  if (state_ == State::payload) {
    // Grow with the data actually received, so a claimed 16 MiB length costs nothing until the
    // bytes arrive.
    const std::size_t take = std::min(expected_ - payload_.size(), in.size() - used);
    payload_.insert(payload_.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                    in.begin() + static_cast<std::ptrdiff_t>(used + take));
    used += take;
    if (payload_.size() == expected_) state_ = State::ready;
  }
  return used;
}

void FrameDecoder::next() {
  if (state_ != State::ready) return;
  payload_.clear();
  state_ = State::header;
}

}  // namespace pollux::redundancy
