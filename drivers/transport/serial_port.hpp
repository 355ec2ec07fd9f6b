// Opening and configuring a serial port from a channel's settings (config.md: baud, parity,
// data_bits, stop_bits), shared by the serial and modem links. Also the stale-input flush done
// before every request, so a late answer to a timed-out request is never taken for the next.
#pragma once

#include <cstddef>
#include <system_error>

#include <boost/asio/serial_port.hpp>

#include "transport/settings.hpp"

namespace pollux::transport {

// Opens `line.port` raw with the channel's line settings; the error when it cannot.
std::error_code open_serial(boost::asio::serial_port& port, const SerialLineSettings& line);
// Discards bytes received but not read yet (tcflush TCIFLUSH).
void flush_input(boost::asio::serial_port& port);
// Bytes received and not read yet (ioctl FIONREAD); 0 when closed or unknown.
std::size_t input_waiting(boost::asio::serial_port& port);

}  // namespace pollux::transport
