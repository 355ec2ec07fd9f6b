#include "app/link_settings.hpp"

#include "runtime/clock.hpp"

namespace pollux::app {

modbus::Framing framing_for(config::Protocol p) {
  switch (p) {
    case config::Protocol::modbus_rtu:
      return modbus::Framing::rtu;
    case config::Protocol::modbus_ascii:
      return modbus::Framing::ascii;
    case config::Protocol::modbus_tcp:
      return modbus::Framing::tcp;
    case config::Protocol::modbus_rtu_over_tcp:
      return modbus::Framing::rtu_over_tcp;
  }
  return modbus::Framing::rtu;
}

transport::SerialLineSettings serial_line_settings(const config::Channel& c) {
  transport::SerialLineSettings s;
  s.id = c.id;
  s.port = c.port;
  s.baud = c.baud;
  s.parity = c.parity == config::Parity::even  ? transport::Parity::even
             : c.parity == config::Parity::odd ? transport::Parity::odd
                                               : transport::Parity::none;
  s.data_bits = c.data_bits;
  s.stop_bits = c.stop_bits;
  s.enabled = c.enabled;
  return s;
}

transport::SerialSettings serial_settings(const config::Channel& c) {
  return {serial_line_settings(c), framing_for(c.protocol)};
}

transport::ModemSettings modem_settings(const config::Channel& c) {
  transport::ModemSettings s;
  s.line = serial_line_settings(c);
  s.framing = framing_for(c.protocol);
  s.init = c.init;
  s.dial_timeout = runtime::from_seconds(c.dial_timeout_s);
  s.idle_hangup = runtime::from_seconds(c.idle_hangup_s);
  return s;
}

transport::TcpSettings tcp_settings(const config::Channel& c) {
  transport::TcpSettings s;
  s.id = c.id;
  s.framing = framing_for(c.protocol);
  s.enabled = c.enabled;
  s.connect_timeout = runtime::milliseconds(c.connect_timeout_ms);
  s.max_connections = c.max_connections;
  return s;
}

}  // namespace pollux::app
