// A serial port in memory for unit tests of the exchange driver and of the serial and modem
// links (drivers/transport/serial_wire.hpp): no pty, no I/O, no clock of its own. The test plays
// the device: it reads what was written, completes writes, pushes the device's bytes in, makes
// the port vanish or refuse to open, and toggles enable. It behaves as SerialPortKeeper does
// towards its owner (callback order on open, close, disable and loss) but never reopens by
// itself: the test calls open_again().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transport/exchange_driver.hpp"
#include "transport/serial_wire.hpp"

namespace pollux::testlib {

class FakeWire final : public transport::SerialWire {
 public:
  // transport::Wire
  void write(std::span<const std::uint8_t> bytes) override;
  void flush_input() override { ++flushes; }
  bool input_pending() override { return pending_input; }

  // transport::SerialWire
  void set_owner(Owner& owner) override { owner_ = &owner; }
  void start() override;
  void stop() override;
  void set_enabled(bool enabled) override;
  transport::LinkStatus status() const override { return status_; }
  bool is_open() const override { return open_; }
  void write_command(std::span<const std::uint8_t> bytes) override;
  bool io_failed(const boost::system::error_code& ec) override;
  std::uint64_t opens() const override { return opens_; }
  std::uint64_t open_failures() const override { return open_failures_; }
  std::uint64_t lost() const override { return lost_; }
  std::uint64_t bytes_in() const override { return bytes_in_; }
  std::uint64_t bytes_out() const override { return bytes_out_; }

  // --- the test's side ---
  // The device sends `bytes` (hex helpers: testlib::bytes("01 03 ...")), or text.
  void receive(std::span<const std::uint8_t> bytes);
  void receive_text(std::string_view text);
  // The oldest write not yet completed goes out (or fails with `ec`): the owner hears it.
  void complete_write(const boost::system::error_code& ec = {});
  // The port goes away as a read error would show it: closed, exchange failed, status down.
  void vanish();
  // Opens the port again (the keeper's reopen after its backoff).
  void open_again();

  // Frames written through write(), oldest first, and how many are not completed yet.
  std::vector<std::vector<std::uint8_t>> writes;
  std::size_t unfinished_writes = 0;
  // Text written through write_command() (the modem's AT commands), all of it.
  std::string commands;
  int flushes = 0;
  // When set, write() reports the bytes out at once, from inside write() (as a TCP socket
  // with room does), to this driver.
  transport::ExchangeDriver* completes_inline = nullptr;
  bool pending_input = false;  // input_pending()'s answer
  bool missing = false;        // the port cannot be opened
  bool enabled = true;         // as configured, before start()

 private:
  void open();
  void close();
  void set_status(transport::LinkStatus s);

  Owner* owner_ = nullptr;
  transport::LinkStatus status_ = transport::LinkStatus::down;
  bool open_ = false;
  bool started_ = false;
  std::uint64_t opens_ = 0, open_failures_ = 0, lost_ = 0, bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace pollux::testlib
