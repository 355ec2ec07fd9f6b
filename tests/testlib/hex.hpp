// Hex helpers for tests: wire expectations are written as hex strings (DESIGN.md, opendnp3
// style), e.g. bytes("01 03 00 00 00 0A C5 CD").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pollux::testlib {

// Parses hex digits, ignoring spaces; throws std::invalid_argument on anything else.
std::vector<std::uint8_t> bytes(std::string_view hex);
// "01 03 00 0A" (upper case, single spaces).
std::string hex(std::span<const std::uint8_t> data);

}  // namespace pollux::testlib
