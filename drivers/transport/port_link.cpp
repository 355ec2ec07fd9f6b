#include "transport/port_link.hpp"

#include "transport/errors.hpp"
#include "transport/serial_port_keeper.hpp"

namespace pollux::transport {

PortLink::PortLink(boost::asio::io_context& io, runtime::Executor& ex, SerialLineSettings line,
                   modbus::Framing framing, std::string_view what, ExchangeDriver::Hooks* hooks)
    : line_(std::move(line)),
      port_(std::make_unique<SerialPortKeeper>(io, ex, line_, what)),
      driver_(ex, framing, *port_, listener_, hooks) {
  port_->set_owner(*this);
}

PortLink::PortLink(runtime::Executor& ex, SerialLineSettings line, modbus::Framing framing,
                   std::unique_ptr<SerialWire> wire, ExchangeDriver::Hooks* hooks)
    : line_(std::move(line)),
      port_(std::move(wire)),
      driver_(ex, framing, *port_, listener_, hooks) {
  port_->set_owner(*this);
}

void PortLink::stop_port() {
  driver_.abandon();
  port_->stop();
}

bool PortLink::fail_unless_ok() {
  const LinkStatus s = port_->status();
  if (s == LinkStatus::ok) return false;
  driver_.fail_soon(
      make_error_code(s == LinkStatus::disabled ? Errc::channel_disabled : Errc::channel_down));
  return true;
}

void PortLink::on_port_status(LinkStatus s) {
  if (listener_) listener_->on_link_status(s);
}

void PortLink::on_port_written(const boost::system::error_code& ec) {
  if (!driver_.busy()) return;
  if (port_->io_failed(ec)) return;
  driver_.on_written();
}

}  // namespace pollux::transport
