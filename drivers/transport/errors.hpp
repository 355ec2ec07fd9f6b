// Transport failures that are not Modbus frame errors: the channel or device could not be
// reached at all (engine issue: "a dial failure is a failed message for that device"; a port
// that vanished marks the channel down). A "transport" std::error_code category next to the
// codec's "modbus" one (DESIGN.md principle 4). `counts_as_timeout()` tells the device counters
// which of api.md's three causes such a failure is: the device never answered -> timeouts.
#pragma once

#include <string_view>
#include <system_error>

namespace pollux::transport {

enum class Errc {
  channel_down = 1,  // port cannot be opened or vanished
  channel_disabled,  // disabled by config or operator
  connect_timeout,   // tcp connect did not finish within connect_timeout_ms
  connect_failed,    // tcp connect refused or unreachable
  dial_failed,       // modem: BUSY, NO CARRIER, NO DIALTONE, ERROR, no CONNECT in time
  stopped,           // the engine is shutting down or the device was unloaded
  max_connections,   // tcp: no free connection slot within the message timeout
  carrier_lost,      // modem: the call dropped (NO CARRIER) during the exchange
};

const std::error_category& transport_category();
std::error_code make_error_code(Errc e);

// True for failures where the device never answered (api.md: counted under timeouts).
bool counts_as_timeout(std::error_code ec);

}  // namespace pollux::transport

template <>
struct std::is_error_code_enum<pollux::transport::Errc> : std::true_type {};
