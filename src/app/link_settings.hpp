// The links' own settings from a channel of the config (spec/config.md "Channels"): the one
// place that knows both config::Channel and drivers/transport's settings structs, so that the
// drivers do not depend on the config module (issue 19 item 2). real_links (run_command.cpp)
// builds each channel's link with these.
#pragma once

#include "config/model.hpp"
#include "modbus/framer.hpp"
#include "transport/settings.hpp"

namespace pollux::app {

modbus::Framing framing_for(config::Protocol p);

transport::SerialLineSettings serial_line_settings(const config::Channel& c);
transport::SerialSettings serial_settings(const config::Channel& c);
transport::ModemSettings modem_settings(const config::Channel& c);
transport::TcpSettings tcp_settings(const config::Channel& c);

}  // namespace pollux::app
