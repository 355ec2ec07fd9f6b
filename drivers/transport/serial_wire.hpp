// The serial port under a serial or modem link, as the link sees it (failover.md "usable": a
// port that cannot be opened or vanished makes the channel down): SerialPortKeeper on a real
// port, a fake in tests (tests/testlib/fake_wire.hpp) so the links' own rules are tested
// without ptys. It is the exchange driver's Wire (write, flush_input) plus the port's life:
// opening and reopening, enable/disable, status, and the link's callbacks through Owner.
#pragma once

#include <cstdint>
#include <span>
#include <system_error>

#include <boost/system/error_code.hpp>

#include "transport/exchange_driver.hpp"
#include "transport/link.hpp"

namespace pollux::transport {

class SerialWire : public Wire {
 public:
  // The link that owns the port; called on the executor thread.
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
    // A write() finished; pass `ec` to io_failed(). Never called once the port is gone.
    virtual void on_port_written(const boost::system::error_code& ec) = 0;
  };

  virtual void set_owner(Owner& owner) = 0;
  // Opens the port, or reports disabled when the channel is disabled.
  virtual void start() = 0;
  // Closes the port and forgets any reopen; the status stays as it was.
  virtual void stop() = 0;
  // Operator enable/disable: disabling fails the exchange in flight, closes the port and reports
  // disabled; enabling (once started) opens again at once with a fresh backoff.
  virtual void set_enabled(bool enabled) = 0;
  virtual LinkStatus status() const = 0;
  virtual bool is_open() const = 0;
  // Writes text the port itself sees through (the modem's AT commands): the caller keeps
  // `bytes` alive until it completes; an error there means the port vanished.
  virtual void write_command(std::span<const std::uint8_t> bytes) = 0;
  // True when `ec` is an error. Any error but a cancellation means the port vanished: it is
  // closed, the exchange in flight fails with channel_down, the status turns down and a reopen
  // is scheduled (unless stopped or disabled meanwhile).
  virtual bool io_failed(const boost::system::error_code& ec) = 0;

  virtual std::uint64_t opens() const = 0;
  virtual std::uint64_t open_failures() const = 0;
  virtual std::uint64_t lost() const = 0;
  virtual std::uint64_t bytes_in() const = 0;
  virtual std::uint64_t bytes_out() const = 0;
};

}  // namespace pollux::transport
