// Keeping one real serial port open for a link: the SerialWire the serial and modem links run on
// (engine issue item 3; failover.md "usable": a port that cannot be opened or vanished makes the
// channel down). It opens the port with the channel's line settings, reopens it with backoff and
// jitter after a failure (never a tight loop), notices a port that vanished (a read or write
// error, e.g. the pty went away), honours operator enable/disable and reports the channel status
// (ok/down/disabled). The owning link keeps its protocol (what the bytes mean, the exchange in
// flight, its own timers); the keeper reaches it through SerialWire::Owner.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>

#include "runtime/backoff.hpp"
#include "runtime/executor.hpp"
#include "transport/link.hpp"
#include "transport/serial_wire.hpp"
#include "transport/settings.hpp"

namespace pollux::transport {

class SerialPortKeeper final : public SerialWire {
 public:
  // `settings` (port, line settings, enabled, id for the log) must outlive the keeper; `what`
  // names the port in the log ("port", "modem port"). The owner is set before start().
  SerialPortKeeper(boost::asio::io_context& io, runtime::Executor& ex,
                   const SerialLineSettings& settings, std::string_view what);
  SerialPortKeeper(boost::asio::io_context& io, runtime::Executor& ex,
                   const SerialLineSettings& settings, Owner& owner, std::string_view what)
      : SerialPortKeeper(io, ex, settings, what) {
    set_owner(owner);
  }

  void set_owner(Owner& owner) override { owner_ = &owner; }
  void start() override;
  void stop() override;
  void set_enabled(bool enabled) override;

  LinkStatus status() const override { return status_; }
  bool is_open() const override { return port_.is_open(); }
  // Discards input received but not read yet (see serial_port.hpp).
  void flush_input() override;
  bool input_pending() override { return input_waiting() > 0; }
  // Bytes the port received that no read completion has delivered yet.
  std::size_t input_waiting();

  void write(std::span<const std::uint8_t> bytes) override;
  void write_command(std::span<const std::uint8_t> bytes) override;
  bool io_failed(const boost::system::error_code& ec) override;

  std::uint64_t opens() const override { return opens_; }
  std::uint64_t open_failures() const override { return open_failures_; }
  std::uint64_t lost() const override { return lost_; }
  std::uint64_t bytes_in() const override { return bytes_in_; }
  std::uint64_t bytes_out() const override { return bytes_out_; }

 private:
  void open();
  void schedule_reopen();
  void close();
  void set_status(LinkStatus s);
  void read_loop();
  void port_lost(std::error_code ec);

  runtime::Executor& ex_;
  const SerialLineSettings& settings_;
  Owner* owner_ = nullptr;
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
  std::uint64_t opens_ = 0, open_failures_ = 0, lost_ = 0, bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace pollux::transport
