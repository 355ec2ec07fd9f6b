// Shared body of the Modbus framer fuzzers (fuzz_rtu, fuzz_ascii, fuzz_tcp, fuzz_rtu_over_tcp).
//
// Input layout: [chunking][flags][unit][function][tid hi][tid lo] then the byte stream. The
// stream is fed in chunks of varying size, as a line would deliver it, with the expectation
// the header selects. Invariants checked beyond "no crash, no UB": feed never claims more
// bytes than given, always makes progress, never buffers past the framer's hard cap (no
// unbounded growth), and every frame returned is one the framer itself could have encoded
// (re-encoding and re-feeding it yields the same unit and PDU) and then decodes without fault.
// The stream is then also fed to a Transaction awaiting a read answer (run_transaction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "modbus/framer.hpp"
#include "modbus/pdu.hpp"
#include "modbus/transaction.hpp"

// Aborts with the failed invariant named, so a crash report says which rule broke.
#define POLLUX_FUZZ_CHECK(cond)                                                  \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace pollux::fuzz {

inline void exercise_pdu(std::span<const std::uint8_t> pdu, std::uint8_t function) {
  // Response decoding against a request of the frame's function code (quantities from the
  // frame itself so the happy path is reachable).
  modbus::Request req;
  if (modbus::is_supported_function(function))
    req.function = static_cast<modbus::FunctionCode>(function);
  req.quantity = pdu.size() >= 2 ? static_cast<std::uint16_t>(pdu[1] / 2) : 1;
  modbus::ResponseView v;
  if (!modbus::decode_response(req, pdu, v)) {
    volatile unsigned sink = 0;
    for (std::size_t i = 0; i < v.register_count(); ++i)
      sink = sink + v.register_at(i);
    for (std::size_t i = 0; i < v.data.size() * 8; ++i)
      sink = sink + v.bit_at(i);
  }
  modbus::Request parsed;
  (void)modbus::decode_request(pdu, parsed);
}

// The same stream as the answer to a read request driven through a Transaction: it ends at
// most once, stays ended, and a success holds exactly what was asked.
inline void run_transaction(modbus::Framing framing, const std::uint8_t* data, std::size_t size) {
  auto framer = modbus::make_framer(framing);
  modbus::Transaction tx(*framer);
  // The serial framings get their frame gap, and the line may fall silent after any chunk.
  if (framing == modbus::Framing::rtu) tx.set_frame_gap(std::chrono::milliseconds(2));
  if (framing == modbus::Framing::ascii) tx.set_frame_gap(modbus::kAsciiFrameGap);
  const auto fc = static_cast<modbus::FunctionCode>(1 + data[3] % 4);  // FC1..FC4
  const std::uint16_t quantity = static_cast<std::uint16_t>(1 + data[4] % 125);
  const modbus::Request req = modbus::Request::read(fc, data[5], quantity);
  modbus::Action a = tx.start(req, data[2], std::chrono::seconds(1));
  if (a.kind == modbus::ActionKind::done) return;  // unit 0 read on a serial framing
  POLLUX_FUZZ_CHECK(a.kind == modbus::ActionKind::write && !a.bytes.empty());
  a = tx.on_written();
  POLLUX_FUZZ_CHECK(a.kind == modbus::ActionKind::await_reply);
  std::span<const std::uint8_t> rest(data + 6, size - 6);
  std::size_t chunk = (data[0] & 0x3F) + 1;
  while (!rest.empty() && a.kind != modbus::ActionKind::done) {
    const auto piece = rest.first(std::min(chunk, rest.size()));
    rest = rest.subspan(piece.size());
    a = tx.on_bytes(piece);
    if (a.kind == modbus::ActionKind::read_more && a.timeout.count() > 0 && (chunk & 1))
      a = tx.on_silence();
    chunk = ((chunk * 7 + data[0]) & 0x3F) + 1;
  }
  if (a.kind != modbus::ActionKind::done) a = tx.on_timeout();
  POLLUX_FUZZ_CHECK(a.kind == modbus::ActionKind::done && tx.done());
  const std::error_code result = a.error;
  POLLUX_FUZZ_CHECK(tx.on_bytes({data, size}).error == result);
  POLLUX_FUZZ_CHECK(tx.on_timeout().error == result);
  POLLUX_FUZZ_CHECK(tx.on_silence().error == result);
  if (!result) {
    const modbus::ResponseView& v = tx.response();
    if (modbus::is_bit_read(fc)) {
      POLLUX_FUZZ_CHECK(v.data.size() == static_cast<std::size_t>((quantity + 7) / 8));
    } else {
      POLLUX_FUZZ_CHECK(v.register_count() == quantity);
    }
  }
}

inline void run_framer(modbus::Framing framing, const std::uint8_t* data, std::size_t size,
                       std::size_t cap) {
  if (size < 6) return;
  const std::uint8_t chunking = data[0];
  const std::uint8_t flags = data[1];
  modbus::Expectation expect;
  if (flags & 1) expect.unit = data[2];
  if (flags & 2) expect.function = data[3] & 0x7F;
  if (flags & 4) expect.transaction = data[4] << 8 | data[5];
  const auto role = (flags & 8) ? modbus::Role::server : modbus::Role::client;
  auto framer = modbus::make_framer(framing, role);
  framer->expect(expect);
  std::span<const std::uint8_t> rest(data + 6, size - 6);
  std::size_t chunk = (chunking & 0x3F) + 1;
  while (!rest.empty()) {
    auto piece = rest.first(std::min(chunk, rest.size()));
    while (!piece.empty()) {
      const modbus::FeedResult r = framer->feed(piece);
      POLLUX_FUZZ_CHECK(r.consumed <= piece.size());
      POLLUX_FUZZ_CHECK(framer->buffered() <= cap);
      if (r.status == modbus::FeedStatus::need_more)
        POLLUX_FUZZ_CHECK(r.consumed == piece.size());
      else
        POLLUX_FUZZ_CHECK(r.consumed > 0);
      piece = piece.subspan(r.consumed);
      rest = rest.subspan(r.consumed);
      if (r.status == modbus::FeedStatus::frame) {
        POLLUX_FUZZ_CHECK(!r.frame.pdu.empty() && r.frame.pdu.size() <= modbus::kMaxPduSize);
        if (expect.unit >= 0) POLLUX_FUZZ_CHECK(r.frame.unit == expect.unit);
        if (framing == modbus::Framing::tcp && expect.transaction >= 0)
          POLLUX_FUZZ_CHECK(r.frame.transaction == expect.transaction);
        // Round trip: the frame re-encoded is framed again to the same content.
        modbus::AduBuffer adu;
        POLLUX_FUZZ_CHECK(!framer->encode(r.frame.unit, r.frame.pdu, adu, r.frame.transaction));
        std::uint8_t copy[modbus::kMaxPduSize];
        const std::size_t n = r.frame.pdu.size();
        std::memcpy(copy, r.frame.pdu.data(), n);
        const std::uint8_t unit = r.frame.unit;
        auto again = modbus::make_framer(framing, role);
        const modbus::FeedResult r2 = again->feed(adu.span());
        POLLUX_FUZZ_CHECK(r2.status == modbus::FeedStatus::frame);
        POLLUX_FUZZ_CHECK(r2.frame.unit == unit && r2.frame.pdu.size() == n &&
                          std::memcmp(r2.frame.pdu.data(), copy, n) == 0);
        exercise_pdu({copy, n}, copy[0]);
      }
    }
    chunk = ((chunk * 7 + chunking) & 0x3F) + 1;  // vary the chunking as a line would
  }
  framer->reset();
  POLLUX_FUZZ_CHECK(framer->buffered() == 0);
  run_transaction(framing, data, size);
}

}  // namespace pollux::fuzz
