// libFuzzer target for the Sparkplug B decoder (northbound/encoder.hpp), which reads what any
// client of the broker may publish to NCMD and DCMD topics (spec/northbound.md). decode() must
// refuse with a reason or return a payload, never crash or throw; and what it returns must
// survive the encoder: encode(decode(x)) decodes again, and encoding that gives the same bytes
// (the encoder's output is a fixed point of decode then encode).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "northbound/encoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pollux::northbound;
  std::string error;
  const auto payload = decode(std::string_view(reinterpret_cast<const char*>(data), size), &error);
  if (!payload) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  const std::string once = encode(*payload);
  const auto again = decode(once, &error);
  if (!again || again->metrics.size() != payload->metrics.size()) __builtin_trap();
  if (encode(*again) != once) __builtin_trap();
  return 0;
}
