#include "app/link_settings.hpp"

#include "runtime/clock.hpp"
#include "runtime/same_state.hpp"

namespace pollux::app {

// The config's protocols and the codec's framings are the same four, in the same order.
static_assert(runtime::same_order(config::Protocol::modbus_rtu, modbus::Framing::rtu) &&
              runtime::same_order(config::Protocol::modbus_ascii, modbus::Framing::ascii) &&
              runtime::same_order(config::Protocol::modbus_tcp, modbus::Framing::tcp) &&
              runtime::same_order(config::Protocol::modbus_rtu_over_tcp,
                                  modbus::Framing::rtu_over_tcp));

modbus::Framing framing_for(config::Protocol p) {
  return runtime::same_state<modbus::Framing>(p);
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
