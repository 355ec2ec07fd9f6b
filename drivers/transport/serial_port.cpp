#include "transport/serial_port.hpp"

#include <sys/ioctl.h>
#include <termios.h>

namespace pollux::transport {

std::error_code open_serial(boost::asio::serial_port& port, const SerialLineSettings& cfg) {
  using SP = boost::asio::serial_port_base;
  boost::system::error_code ec;
  if (port.is_open()) port.close(ec);
  port.open(cfg.port, ec);
  if (ec) return ec;
  SP::parity::type parity = SP::parity::none;
  if (cfg.parity == Parity::even) parity = SP::parity::even;
  if (cfg.parity == Parity::odd) parity = SP::parity::odd;
  port.set_option(SP::baud_rate(static_cast<unsigned>(cfg.baud)), ec);
  if (!ec) port.set_option(SP::character_size(static_cast<unsigned>(cfg.data_bits)), ec);
  if (!ec) port.set_option(SP::parity(parity), ec);
  if (!ec)
    port.set_option(SP::stop_bits(cfg.stop_bits == 2 ? SP::stop_bits::two : SP::stop_bits::one),
                    ec);
  if (!ec) port.set_option(SP::flow_control(SP::flow_control::none), ec);
  if (ec) {
    boost::system::error_code ignored;
    port.close(ignored);
  }
  return ec;
}

void flush_input(boost::asio::serial_port& port) {
  if (port.is_open()) ::tcflush(port.native_handle(), TCIFLUSH);
}

std::size_t input_waiting(boost::asio::serial_port& port) {
  int n = 0;
  if (!port.is_open() || ::ioctl(port.native_handle(), FIONREAD, &n) != 0 || n < 0) return 0;
  return static_cast<std::size_t>(n);
}

}  // namespace pollux::transport
