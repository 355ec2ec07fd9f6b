// One Modbus request/response exchange as a sans-I/O machine: it returns the next action (write
// these bytes, await a reply within this timeout, keep reading, or done with a result) and never
// touches a socket, a port or a clock.
//
// Serves the codec issue's Transaction (DESIGN.md principle 1, after Boost.MySQL's sans-I/O
// algorithms). One attempt per Transaction: attempts, message delay and timeouts are policy
// owned by the caller (ChannelRunner). Broadcast (unit 0 on the serial framings) writes expect
// no answer and finish when written. The machine allocates nothing after warm-up: the request
// is copied into storage that keeps its capacity, and the answer into a fixed buffer.
//
// Usage (the ChannelRunner's loop):
//   modbus::Transaction tx(*framer);
//   modbus::Action a = tx.start(request, unit, timing.message_timeout);
//   for (;;) switch (a.kind) {
//     case ActionKind::write:       transport.write(a.bytes) then a = tx.on_written();  break;
//     case ActionKind::await_reply: arm timer(a.timeout) → a = tx.on_timeout();
//                                   on data → a = tx.on_bytes(data);                       break;
//     case ActionKind::read_more:   keep reading, timer still armed;                       break;
//     case ActionKind::done:        a.error empty: tx.response() holds the answer;
//                                   exception_category(): the device's exception;
//                                   else classify(a.error) for the stats.
//   }
//
// Why an attempt failed is decided here, from the bytes alone (api.md "How a failed attempt is
// classified"): only an attempt that received no byte at all is a timeout. Bytes that arrived
// and made no valid answer end it as a CRC/LRC error or a framing error (garbage, an answer cut
// short, another unit's frame). A frame for another unit, or a stray burst, does not end the
// attempt: reading goes on until our answer or the timeout, and only then does it count
// (once). On a serial line the start of our answer followed by the inter-frame silence
// (set_frame_gap: t3.5 for RTU, 1 s inside an ASCII frame) is an answer cut short: read_more
// carries that gap as its `timeout` while a frame is partial (zero: none), and the caller
// calls on_silence() once the line has stayed quiet that long since its last byte.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <system_error>

#include "modbus/framer.hpp"
#include "modbus/pdu.hpp"
#include "runtime/clock.hpp"

namespace pollux::modbus {

// Modbus over serial line V1.02 §2.5.2.1: in ASCII mode, 1 s between characters of a frame ends it.
inline constexpr runtime::Duration kAsciiFrameGap = std::chrono::seconds(1);

enum class ActionKind { write, await_reply, read_more, done };

struct Action {
  ActionKind kind = ActionKind::done;
  std::span<const std::uint8_t> bytes;  // write: valid until the next call on the Transaction
  runtime::Duration timeout{};          // await_reply: how long to wait for the answer;
                                        // read_more: the silence that ends the partial frame
                                        // now buffered (zero: none, cancel any silence timer)
  std::error_code error;                // done: empty on success
};

class Transaction {
 public:
  explicit Transaction(Framer& framer) : framer_(framer) {}
  // The line silence that ends a frame (zero, the default: none, for streams whose reads carry
  // no timing). Serial links set rtu_timing(baud).t3_5 for RTU, kAsciiFrameGap for ASCII.
  void set_frame_gap(runtime::Duration gap) { frame_gap_ = gap; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Begins an exchange (any earlier one is abandoned). Done at once when the request cannot be
  // encoded (limit_exceeded, invalid_request) or is a broadcast read.
  Action start(const Request& req, std::uint8_t unit, runtime::Duration timeout);
  // The bytes of the write action went out: await the reply (or done, for a broadcast).
  Action on_written();
  // Bytes arrived from the line. Before on_written they are still taken: a fast device may
  // answer before the write completion is seen.
  Action on_bytes(std::span<const std::uint8_t> bytes);
  // The reply timer fired: done with Errc::timeout when no byte arrived for this attempt, else
  // with what the bytes were (answer_cut_short when the start of our answer is buffered,
  // framing_error for garbage, wrong_unit for another unit's frame). On TCP a complete answer
  // to an earlier transaction, dropped by its id, is not a byte of this attempt, and a partial
  // MBAP frame is answer_cut_short: the framer keeps it, so the connection stays in step.
  Action on_timeout();
  // The line stayed silent for the frame gap since the last byte: a partial frame that starts
  // as our answer would is our answer cut short (done, answer_cut_short). A partial stray (another
  // unit, noise) is dropped and reading goes on (read_more), as with nothing partial.
  Action on_silence();
  // The transport failed (closed, reset): done with `ec` (connection_reset when empty); the
  // framer is reset for the new connection. After a framing error on TCP the stream is out of
  // step: the caller should reconnect (and call this). answer_cut_short on Modbus TCP is not
  // such an error: keep the connection.
  Action on_transport_error(std::error_code ec);

  bool done() const { return state_ == State::done; }
  std::error_code result() const { return result_; }
  // The decoded answer; valid once done with success or an exception, until the next start().
  const ResponseView& response() const { return response_; }
  const Request& request() const { return request_; }
  std::uint8_t unit() const { return unit_; }
  std::uint16_t transaction_id() const { return transaction_id_; }
  bool is_broadcast() const { return broadcast_; }

 private:
  enum class State { idle, writing, awaiting, done };
  Action finish(std::error_code ec);
  Action reading() const;
  std::error_code cause_without_answer() const;

  Framer& framer_;
  State state_ = State::idle;
  Request request_;
  std::uint8_t unit_ = 0;
  std::uint16_t transaction_id_ = 0;
  bool broadcast_ = false;
  runtime::Duration timeout_{};
  runtime::Duration frame_gap_{};
  std::size_t received_ = 0;
  std::uint64_t foreign_at_start_ = 0;
  PduBuffer pdu_;
  AduBuffer adu_;
  std::array<std::uint8_t, kMaxPduSize> answer_{};
  ResponseView response_;
  std::error_code result_;
};

}  // namespace pollux::modbus
