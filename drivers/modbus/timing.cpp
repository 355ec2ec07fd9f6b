#include "modbus/timing.hpp"

#include <chrono>

namespace pollux::modbus {

RtuTiming rtu_timing(int baud) {
  using std::chrono::microseconds;
  if (baud <= 0 || baud > 19200) return {microseconds(750), microseconds(1750)};
  // 11 bits per character; 1.5 and 3.5 characters, in nanoseconds, rounded up so the silence
  // is never shorter than the standard asks.
  const auto chars_ns = [baud](long long tenths) {
    const long long num = tenths * 11LL * 1'000'000'000LL;
    const long long den = 10LL * baud;
    return runtime::Duration((num + den - 1) / den);
  };
  return {chars_ns(15), chars_ns(35)};
}

}  // namespace pollux::modbus
