// What each link needs to know of its channel (spec/config.md "Channels"), as the links' own
// plain structs: drivers/transport does not depend on the config module. The app builds them
// from a config::Channel (src/app/link_settings.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "modbus/framer.hpp"
#include "runtime/clock.hpp"

namespace pollux::transport {

enum class Parity : std::uint8_t { none, even, odd };

// One serial port and its line settings (serial and modem channels).
struct SerialLineSettings {
  std::string id;    // the channel, for the log (and the seed of the reopen jitter)
  std::string port;  // device path
  int baud = 9600;
  Parity parity = Parity::none;
  int data_bits = 8;
  int stop_bits = 1;
  bool enabled = true;
};

struct SerialSettings {
  SerialLineSettings line;
  modbus::Framing framing = modbus::Framing::rtu;  // rtu or ascii
};

struct ModemSettings {
  SerialLineSettings line;
  modbus::Framing framing = modbus::Framing::rtu;  // rtu or ascii
  std::string init = "ATZ";                        // when the target names none
  runtime::Duration dial_timeout = runtime::seconds(60);
  runtime::Duration idle_hangup = runtime::seconds(5);
};

struct TcpSettings {
  std::string id;
  modbus::Framing framing = modbus::Framing::tcp;  // tcp or rtu_over_tcp
  bool enabled = true;
  runtime::Duration connect_timeout = runtime::milliseconds(3000);
  int max_connections = 64;
};

}  // namespace pollux::transport
