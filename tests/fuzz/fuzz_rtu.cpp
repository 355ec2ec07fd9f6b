// libFuzzer target: the Modbus rtu framer fed arbitrary streams in varying chunks (see
// fuzz_framer_driver.hpp for the input layout and the invariants checked).
#include "fuzz_framer_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pollux::fuzz::run_framer(pollux::modbus::Framing::rtu, data, size,
                           pollux::modbus::kMaxRtuAduSize);
  return 0;
}
