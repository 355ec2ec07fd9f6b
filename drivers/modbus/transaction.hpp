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
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <system_error>

#include "modbus/framer.hpp"
#include "modbus/pdu.hpp"
#include "runtime/clock.hpp"

namespace pollux::modbus {

enum class ActionKind { write, await_reply, read_more, done };

struct Action {
  ActionKind kind = ActionKind::done;
  std::span<const std::uint8_t> bytes;  // write: valid until the next call on the Transaction
  runtime::Duration timeout{};          // await_reply: how long to wait for the answer
  std::error_code error;                // done: empty on success
};

class Transaction {
 public:
  explicit Transaction(Framer& framer) : framer_(framer) {}
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
  // The reply timer fired: done with Errc::timeout.
  Action on_timeout();
  // The transport failed (closed, reset): done with `ec` (connection_reset when empty); the
  // framer is reset for the new connection. After a framing error on TCP the stream is out of
  // step: the caller should reconnect (and call this).
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

  Framer& framer_;
  State state_ = State::idle;
  Request request_;
  std::uint8_t unit_ = 0;
  std::uint16_t transaction_id_ = 0;
  bool broadcast_ = false;
  runtime::Duration timeout_{};
  PduBuffer pdu_;
  AduBuffer adu_;
  std::array<std::uint8_t, kMaxPduSize> answer_{};
  ResponseView response_;
  std::error_code result_;
};

}  // namespace pollux::modbus
