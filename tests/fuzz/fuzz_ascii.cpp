// libFuzzer target: the Modbus ascii framer fed arbitrary streams in varying chunks (see
// fuzz_framer_driver.hpp for the input layout and the invariants checked).
#include "fuzz_framer_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pollux::fuzz::run_framer(pollux::modbus::Framing::ascii, data, size, pollux::modbus::kMaxAduSize);
  return 0;
}
