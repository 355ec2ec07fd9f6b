// One Modbus exchange at a time over one wire: the piece every link shares (issue 19 item 2;
// DESIGN.md data flow "drivers/transport ExchangeDriver <-> drivers/modbus Transaction <-> Wire").
//
// The driver owns the framer, the codec's sans-I/O modbus::Transaction (which decides why a
// failed attempt failed, api.md "How a failed attempt is classified"), the reply timer through
// the executor, and completion: the link's LinkListener hears on_exchange_done(tag) -- never
// inline from start_exchange (link.hpp). Below it is a Wire of two calls, write and flush_input;
// the wire's owner (a serial port, a modem call, a TCP connection) pushes what happens back in:
// on_written(), on_bytes(), on_wire_error(). A link is then its wire plus one driver per wire:
// serial = SerialPortKeeper + a driver, modem = the AT dialer over that + a driver, TCP = a
// driver per connection.
//
// Serial lines add their character timing (set_line_timing): the silence before a request
// (t3.5 for RTU) and the silence that ends a partial answer (the frame gap: t3.5 for RTU, 1 s
// inside an ASCII frame), both measured from the last byte seen on the wire, so an answer cut
// short ends the attempt at once rather than at message_timeout_ms.
//
// The reply deadline (message_timeout_ms, config.md) is kept to the letter: bytes handled after
// it -- the process was held up while they waited in the OS -- time the exchange out first, so
// no value is served older than one reply timeout at its timestamp.
//
// Hot path: no allocation per exchange after warm-up (the Transaction keeps its buffers, timers
// capture one pointer), no std::function per message; the link's extra steps at an exchange's
// end are the small Hooks interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

#include "modbus/framer.hpp"
#include "modbus/transaction.hpp"
#include "runtime/executor.hpp"
#include "transport/link.hpp"

namespace pollux::transport {

// The two calls the driver makes on its wire.
class Wire {
 public:
  virtual ~Wire() = default;
  // Sends `bytes`, valid until the driver hears on_written() or the exchange ends. The owner
  // calls on_written() once they are out; inline, from within write(), when they went at once.
  virtual void write(std::span<const std::uint8_t> bytes) = 0;
  // Discards input received but not read yet, before a request (a late answer to a timed-out
  // request is never taken for the next one's).
  virtual void flush_input() = 0;
  // Whether bytes arrived that the owner has not pushed yet. Asked only when the frame gap
  // elapses: a stalled thread may run that timer before the read completion of bytes that came
  // in time, and those are no silence. Only a serial port can tell (FIONREAD).
  virtual bool input_pending() { return false; }
};

class ExchangeDriver {
 public:
  // What the link around the driver adds at an exchange's end; every step optional.
  class Hooks {
   public:
    virtual ~Hooks() = default;
    // The transaction ended with `error` (empty: answered), before the exchange ends: a TCP
    // connection decides here whether its stream is out of step and closes it.
    virtual void on_transaction_end(std::error_code /*error*/) {}
    // The exchange is over (busy() is false), just before the listener hears of it.
    virtual void on_exchange_over() {}
    // The listener has heard of it.
    virtual void on_exchange_reported() {}
  };

  // `listener` is the link's own pointer (Link::listener_), read at each completion.
  ExchangeDriver(runtime::Executor& ex, modbus::Framing framing, Wire& wire,
                 LinkListener* const& listener, Hooks* hooks = nullptr);
  ~ExchangeDriver();
  ExchangeDriver(const ExchangeDriver&) = delete;
  ExchangeDriver& operator=(const ExchangeDriver&) = delete;

  // Serial lines only: the silence before a request and the frame gap (see the top).
  void set_line_timing(runtime::Duration before_send, runtime::Duration frame_gap);

  // Takes an exchange (its target and request must outlive it); nothing is sent yet. The link
  // then sends it (send_from_start, send_later, or send once its wire is ready) or fails it.
  void begin(const Exchange& ex, std::uint64_t tag);
  // Sends the request now: input flushed, framer afresh (MBAP keeps its framing state, link.hpp
  // of TcpLink), the codec's transaction started. An exchange that ends inside ends now.
  void send();
  // The same from inside start_exchange: an exchange that ends at once (a request the codec
  // refuses) is reported on a later turn.
  void send_from_start();
  // Sends on a later turn, once the line has been quiet for the pre-send silence.
  void send_later();
  // Ends the exchange with `ec` on a later turn (the channel is down or disabled).
  void fail_soon(std::error_code ec);
  // The wire failed (closed, reset, port lost): the exchange in flight ends now with `ec`.
  void on_wire_error(std::error_code ec);
  // Forgets the exchange in flight without a callback and cancels every timer (link stop).
  void abandon();
  // Cancels the timers (the wire closed; the exchange, if any, is failed right after).
  void stop_timers();

  // The wire (re)opened: a new stream starts at a frame boundary, and its line is quiet now.
  void on_wire_opened();
  // Bytes from the wire. Between exchanges they are only line activity.
  void on_bytes(std::span<const std::uint8_t> bytes);
  // The bytes of the last write() are out.
  void on_written();

  bool busy() const { return busy_; }
  const Exchange& exchange() const { return ex_req_; }
  const modbus::Framer& framer() const { return *framer_; }

 private:
  void handle(const modbus::Action& a);
  void end_later();
  void complete(std::error_code ec);
  void arm_gap(runtime::Duration gap);
  void gap_elapsed();
  void reply_timed_out();
  bool reply_overdue(runtime::TimePoint now) const;
  void cancel(runtime::TimerId& t);

  runtime::Executor& ex_;
  Wire& wire_;
  LinkListener* const& listener_;
  Hooks* hooks_;
  std::unique_ptr<modbus::Framer> framer_;
  modbus::Transaction tx_;
  bool busy_ = false;
  bool awaiting_ = false;
  bool defer_end_ = false;  // inside start_exchange or a write that went at once
  bool line_timing_ = false;
  std::uint64_t tag_ = 0;
  Exchange ex_req_;
  runtime::Duration before_send_{};
  runtime::TimePoint last_activity_{};
  runtime::TimerId timer_;        // reply timeout, pre-send silence, or a deferred end
  runtime::TimerId gap_timer_;    // the silence that ends a partial answer
  runtime::Duration gap_{};       // how long that silence is (the timer's wait, floored)
  runtime::TimerId reply_timer_;  // timer_ while it is the reply timeout, due at reply_due_
  runtime::TimePoint reply_due_{};
};

}  // namespace pollux::transport
