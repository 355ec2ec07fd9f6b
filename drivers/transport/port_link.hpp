// What the serial and modem links share (engine issue item 3; issue 19 item 2): one serial port
// (a SerialWire: the SerialPortKeeper on a real port, a fake in tests) and one ExchangeDriver over
// it, since such a line carries one exchange at a time. The port's status is the channel's
// (failover.md "usable"); a port that vanishes or is disabled fails the exchange in flight. The
// serial link adds the line's character timing, the modem link the AT dialer.
#pragma once

#include <memory>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "runtime/executor.hpp"
#include "transport/exchange_driver.hpp"
#include "transport/link.hpp"
#include "transport/serial_wire.hpp"
#include "transport/settings.hpp"

namespace pollux::transport {

class PortLink : public Link, protected SerialWire::Owner {
 public:
  void start() override { port_->start(); }
  void set_enabled(bool enabled) override { port_->set_enabled(enabled); }
  LinkStatus status() const override { return port_->status(); }

 protected:
  // On the real port `line.port`; `what` names it in the log ("port", "modem port").
  PortLink(boost::asio::io_context& io, runtime::Executor& ex, SerialLineSettings line,
           modbus::Framing framing, std::string_view what, ExchangeDriver::Hooks* hooks);
  // On `wire` (tests: a fake port).
  PortLink(runtime::Executor& ex, SerialLineSettings line, modbus::Framing framing,
           std::unique_ptr<SerialWire> wire, ExchangeDriver::Hooks* hooks);

  // No callbacks after this; the port closes.
  void stop_port();
  // A message for a channel that is not ok fails on the next turn; true when it did.
  bool fail_unless_ok();

  // SerialWire::Owner, alike on both lines.
  void fail_exchange(std::error_code ec) override { driver_.on_wire_error(ec); }
  void on_port_status(LinkStatus s) override;
  void on_port_written(const boost::system::error_code& ec) override;

  SerialLineSettings line_;
  std::unique_ptr<SerialWire> port_;
  ExchangeDriver driver_;
};

}  // namespace pollux::transport
