// Keeping one serial port open for a link: the piece the serial and modem links share (engine
// issue item 3; failover.md "usable": a port that cannot be opened or vanished makes the channel
// down). It opens the port with the channel's line settings, reopens it with backoff and jitter
// after a failure (never a tight loop), notices a port that vanished (a read or write error, e.g.
// the pty went away), honours operator enable/disable and reports the channel status
// (ok/down/disabled). The owning link keeps its protocol (what the bytes mean, the exchange in
// flight, its own timers); the keeper reaches it through the small Owner interface.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/write.hpp>

#include "config/model.hpp"
#include "runtime/executor.hpp"
#include "runtime/backoff.hpp"
#include "transport/link.hpp"

namespace pollux::transport {

class SerialPortKeeper {
 public:
  // The link that owns the keeper; called on the executor thread.
  class Owner {
   public:
    virtual ~Owner() = default;
    // The port has just opened; reads start and the status turns ok right after this returns.
    virtual void on_port_opened() = 0;
    // Bytes read from the port.
    virtual void on_port_bytes(std::span<const std::uint8_t> bytes) = 0;
    // The port is closing (stop, disable, vanished): drop per-port timers and state.
    virtual void on_port_closed() = 0;
    // The exchange in flight, if any, ends now with `ec` (channel_disabled or channel_down).
    virtual void fail_exchange(std::error_code ec) = 0;
    // The channel status changed.
    virtual void on_port_status(LinkStatus status) = 0;
  };

  // `cfg` (port, line settings, enabled, id for the log) must outlive the keeper; `what` names
  // the port in the log ("port", "modem port").
  SerialPortKeeper(boost::asio::io_context& io, runtime::Executor& ex, const config::Channel& cfg,
                   Owner& owner, std::string_view what);

  // Opens the port, or reports disabled when the channel is disabled.
  void start();
  // Closes the port and forgets any reopen; the status stays as it was.
  void stop();
  // Operator enable/disable: disabling fails the exchange in flight, closes the port and reports
  // disabled; enabling (once started) opens again at once with a fresh backoff.
  void set_enabled(bool enabled);

  LinkStatus status() const { return status_; }
  bool is_open() const { return port_.is_open(); }
  // Discards input received but not read yet (see serial_port.hpp).
  void flush_input();
  // Bytes the port received that no read completion has delivered yet.
  std::size_t input_waiting();

  // Writes `bytes`, which the caller keeps alive until `done(const boost::system::error_code&)`
  // runs; `done` never runs once the keeper is gone. Pass the error to io_failed().
  template <class Done>
  void write(boost::asio::const_buffer bytes, Done done) {
    std::weak_ptr<int> life = life_;
    boost::asio::async_write(
        port_, bytes,
        [life, done = std::move(done)](const boost::system::error_code& ec, std::size_t) mutable {
          if (life.expired()) return;
          done(ec);
        });
  }
  // True when `ec` is an error. Any error but a cancellation means the port vanished: it is
  // closed, the exchange in flight fails with channel_down, the status turns down and a reopen
  // is scheduled (unless stopped or disabled meanwhile).
  bool io_failed(const boost::system::error_code& ec);

  std::uint64_t opens() const { return opens_; }
  std::uint64_t open_failures() const { return open_failures_; }
  std::uint64_t lost() const { return lost_; }

 private:
  void open();
  void schedule_reopen();
  void close();
  void set_status(LinkStatus s);
  void read_loop();
  void port_lost(std::error_code ec);

  runtime::Executor& ex_;
  const config::Channel& cfg_;
  Owner& owner_;
  std::string_view what_;
  boost::asio::serial_port port_;
  LinkStatus status_ = LinkStatus::down;
  bool enabled_;
  bool started_ = false;
  bool reading_ = false;
  runtime::TimerId reopen_timer_;
  runtime::Backoff backoff_;
  runtime::Jitter jitter_;
  std::array<std::uint8_t, 512> rx_{};
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  std::uint64_t opens_ = 0, open_failures_ = 0, lost_ = 0;
};

}  // namespace pollux::transport
