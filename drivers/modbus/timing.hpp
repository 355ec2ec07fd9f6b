// RTU inter-character (t1.5) and inter-frame (t3.5) silences for a baud rate, for the serial
// transport to pace frames and to cut a stalled frame (codec issue, "Compute t1.5/t3.5 from the
// baud rate").
//
// Modbus over serial line V1.02 §2.5.1.1: a character is 11 bits (start, 8 data, parity or a
// second stop, stop); above 19200 baud the times are fixed at 750 µs and 1750 µs.
//
// Usage:
//   modbus::RtuTiming t = modbus::rtu_timing(channel.baud);
//   executor.schedule_after(t.t3_5, [&] { framer.reset(); send_next(); });
#pragma once

#include "runtime/clock.hpp"

namespace pollux::modbus {

struct RtuTiming {
  runtime::Duration t1_5{};
  runtime::Duration t3_5{};
};

// Non-positive baud rates (never valid in a checked config) get the fixed high-speed values.
RtuTiming rtu_timing(int baud);

}  // namespace pollux::modbus
