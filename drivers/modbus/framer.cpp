#include "modbus/framer.hpp"

#include <algorithm>
#include <cstring>

#include "modbus/crc.hpp"
#include "modbus/error.hpp"
#include "modbus/pdu.hpp"

namespace pollux::modbus {
namespace {

FeedResult need_more(std::size_t consumed) {
  return {FeedStatus::need_more, consumed, {}, {}};
}

FeedResult error(std::size_t consumed, Errc e, FramerCounters& c) {
  ++c.errors;
  return {FeedStatus::error, consumed, {}, make_error_code(e)};
}

std::error_code check_pdu(std::span<const std::uint8_t> pdu) {
  if (pdu.empty() || pdu.size() > kMaxPduSize) return Errc::too_long;
  return {};
}

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string_view to_string(Framing f) {
  switch (f) {
    case Framing::rtu:
      return "rtu";
    case Framing::ascii:
      return "ascii";
    case Framing::tcp:
      return "tcp";
    case Framing::rtu_over_tcp:
      return "rtu-over-tcp";
  }
  return "unknown";
}

// ---- RTU -------------------------------------------------------------------------------------

std::error_code RtuFramer::encode(std::uint8_t unit, std::span<const std::uint8_t> pdu,
                                  AduBuffer& out, std::uint16_t) const {
  out.size = 0;
  if (auto ec = check_pdu(pdu)) return ec;
  out.bytes[0] = unit;
  std::memcpy(&out.bytes[1], pdu.data(), pdu.size());
  const std::size_t n = 1 + pdu.size();
  const std::uint16_t crc = crc16({out.bytes.data(), n});
  out.bytes[n] = static_cast<std::uint8_t>(crc & 0xFF);
  out.bytes[n + 1] = static_cast<std::uint8_t>(crc >> 8);
  out.size = n + 2;
  return {};
}

void RtuFramer::drop_front(std::size_t n) {
  n = std::min(n, len_);
  std::memmove(buf_.data(), buf_.data() + n, len_ - n);
  len_ -= n;
}

FeedResult RtuFramer::feed(std::span<const std::uint8_t> bytes) {
  if (delivered_) {
    len_ = 0;
    delivered_ = false;
  }
  std::size_t used = 0;
  for (;;) {
    // How many bytes the frame starting at buf_[0] needs, from the function code (libmodbus's
    // "length predicted from the function code, then read").
    std::size_t need = 2;
    if (len_ >= 2) {
      const std::span<const std::uint8_t> head{buf_.data() + 1, len_ - 1};
      const int pdu =
          role_ == Role::client ? predict_response_size(head) : predict_request_size(head);
      if (pdu < 0 || 1 + static_cast<std::size_t>(pdu) + 2 > kMaxRtuAduSize) {
        drop_front(1);  // cannot start a frame here
        ++counters_.resyncs;
        continue;
      }
      need = pdu == 0 ? len_ + 1 : 1 + static_cast<std::size_t>(pdu) + 2;
    }
    if (len_ < need) {
      if (used == bytes.size()) return need_more(used);
      const std::size_t take = std::min(need - len_, bytes.size() - used);
      std::memcpy(buf_.data() + len_, bytes.data() + used, take);
      len_ += take;
      used += take;
      continue;
    }
    const std::uint16_t wire = static_cast<std::uint16_t>(buf_[need - 2] | (buf_[need - 1] << 8));
    const std::uint16_t crc = crc16({buf_.data(), need - 2});
    const std::uint8_t unit = buf_[0];
    if (crc != wire) {
      if (expect_.shaped_like_answer(unit, buf_[1])) {
        len_ = 0;
        return error(used, Errc::crc_error, counters_);
      }
      drop_front(1);
      ++counters_.resyncs;
      continue;
    }
    if (expect_.unit >= 0 && unit != expect_.unit) {
      drop_front(need);  // another unit's frame on a multidrop line: never ours
      ++counters_.foreign_unit_skipped;
      continue;
    }
    len_ = need;
    delivered_ = true;
    ++counters_.frames;
    return {FeedStatus::frame, used, Frame{unit, 0, {buf_.data() + 1, need - 3}}, {}};
  }
}

// ---- ASCII -----------------------------------------------------------------------------------

std::error_code AsciiFramer::encode(std::uint8_t unit, std::span<const std::uint8_t> pdu,
                                    AduBuffer& out, std::uint16_t) const {
  out.size = 0;
  if (auto ec = check_pdu(pdu)) return ec;
  std::size_t n = 0;
  auto put_hex = [&](std::uint8_t b) {
    out.bytes[n++] = static_cast<std::uint8_t>(kHex[b >> 4]);
    out.bytes[n++] = static_cast<std::uint8_t>(kHex[b & 0xF]);
  };
  out.bytes[n++] = ':';
  put_hex(unit);
  std::uint8_t sum = unit;
  for (std::uint8_t b : pdu) {
    put_hex(b);
    sum = static_cast<std::uint8_t>(sum + b);
  }
  put_hex(static_cast<std::uint8_t>(-sum));
  out.bytes[n++] = '\r';
  out.bytes[n++] = '\n';
  out.size = n;
  return {};
}

FeedResult AsciiFramer::feed(std::span<const std::uint8_t> bytes) {
  std::size_t used = 0;
  while (used < bytes.size()) {
    const std::uint8_t c = bytes[used++];
    if (c == ':') {
      if (in_frame_ || len_ > 0) ++counters_.resyncs;  // a new start abandons the partial frame
      in_frame_ = true;
      len_ = 0;
      continue;
    }
    if (!in_frame_) {
      ++counters_.resyncs;
      continue;
    }
    if (c != '\n') {
      if (len_ == text_.size()) {
        reset();
        return error(used, Errc::too_long, counters_);
      }
      text_[len_++] = c;
      continue;
    }
    // End of frame: text_ holds hex digits then CR.
    const std::size_t n = len_;
    reset();
    if (n == 0 || text_[n - 1] != '\r' || (n - 1) % 2 != 0 || n - 1 < 6) {
      return error(used, Errc::framing_error, counters_);
    }
    const std::size_t nbin = (n - 1) / 2;
    if (nbin > bin_.size()) return error(used, Errc::too_long, counters_);
    for (std::size_t i = 0; i < nbin; ++i) {
      const int hi = hex_value(text_[2 * i]);
      const int lo = hex_value(text_[2 * i + 1]);
      if (hi < 0 || lo < 0) return error(used, Errc::framing_error, counters_);
      bin_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    if (lrc({bin_.data(), nbin - 1}) != bin_[nbin - 1]) {
      // As on RTU: a corrupt frame that is not shaped like our answer is a stray on a multidrop
      // line (someone else's, or noise), skipped so that our answer may still follow.
      if (!expect_.shaped_like_answer(bin_[0], bin_[1])) {
        ++counters_.resyncs;
        continue;
      }
      return error(used, Errc::lrc_error, counters_);
    }
    if (expect_.unit >= 0 && bin_[0] != expect_.unit) {
      ++counters_.foreign_unit_skipped;
      continue;
    }
    ++counters_.frames;
    return {FeedStatus::frame, used, Frame{bin_[0], 0, {bin_.data() + 1, nbin - 2}}, {}};
  }
  return need_more(used);
}

bool AsciiFramer::partial_is_expected() const {
  if (!in_frame_) return false;
  // The unit's two hex digits, as far as they arrived; a bare ':' is a frame start like ours.
  for (std::size_t i = 0; i < std::min<std::size_t>(len_, 4); ++i)
    if (hex_value(text_[i]) < 0) return false;
  auto byte_at = [&](std::size_t i) {
    return len_ >= 2 * i + 2 ? hex_value(text_[2 * i]) << 4 | hex_value(text_[2 * i + 1]) : -1;
  };
  return expect_.shaped_like_answer(byte_at(0), byte_at(1));
}

// ---- TCP (MBAP) ------------------------------------------------------------------------------

std::error_code TcpFramer::encode(std::uint8_t unit, std::span<const std::uint8_t> pdu,
                                  AduBuffer& out, std::uint16_t transaction) const {
  out.size = 0;
  if (auto ec = check_pdu(pdu)) return ec;
  const std::size_t length = pdu.size() + 1;
  out.bytes[0] = static_cast<std::uint8_t>(transaction >> 8);
  out.bytes[1] = static_cast<std::uint8_t>(transaction & 0xFF);
  out.bytes[2] = 0;
  out.bytes[3] = 0;
  out.bytes[4] = static_cast<std::uint8_t>(length >> 8);
  out.bytes[5] = static_cast<std::uint8_t>(length & 0xFF);
  out.bytes[6] = unit;
  std::memcpy(&out.bytes[7], pdu.data(), pdu.size());
  out.size = 7 + pdu.size();
  return {};
}

FeedResult TcpFramer::feed(std::span<const std::uint8_t> bytes) {
  if (delivered_) {
    len_ = 0;
    delivered_ = false;
  }
  std::size_t used = 0;
  for (;;) {
    std::size_t need = 7;
    if (len_ >= 7) {
      const unsigned protocol = static_cast<unsigned>(buf_[2] << 8 | buf_[3]);
      const std::size_t length = static_cast<std::size_t>(buf_[4] << 8 | buf_[5]);
      if (protocol != 0) {
        len_ = 0;
        return error(used, Errc::framing_error, counters_);
      }
      if (length < 2 || length > 1 + kMaxPduSize) {
        len_ = 0;
        return error(used, Errc::wrong_length, counters_);
      }
      need = 6 + length;
    }
    if (len_ < need) {
      if (used == bytes.size()) return need_more(used);
      const std::size_t take = std::min(need - len_, bytes.size() - used);
      std::memcpy(buf_.data() + len_, bytes.data() + used, take);
      len_ += take;
      used += take;
      continue;
    }
    const std::uint16_t tid = static_cast<std::uint16_t>(buf_[0] << 8 | buf_[1]);
    if (expect_.transaction >= 0 && tid != expect_.transaction) {
      len_ = 0;  // a late answer to an earlier (timed out) request: drop it
      ++counters_.unknown_transaction_dropped;
      continue;
    }
    if (expect_.unit >= 0 && buf_[6] != expect_.unit) {
      len_ = 0;
      return error(used, Errc::wrong_unit, counters_);
    }
    delivered_ = true;
    ++counters_.frames;
    return {FeedStatus::frame, used, Frame{buf_[6], tid, {buf_.data() + 7, need - 7}}, {}};
  }
}

std::unique_ptr<Framer> make_framer(Framing f, Role role) {
  switch (f) {
    case Framing::rtu:
      return std::make_unique<RtuFramer>(role);
    case Framing::ascii:
      return std::make_unique<AsciiFramer>(role);
    case Framing::tcp:
      return std::make_unique<TcpFramer>(role);
    case Framing::rtu_over_tcp:
      return std::make_unique<RtuOverTcpFramer>(role);
  }
  return nullptr;
}

}  // namespace pollux::modbus
