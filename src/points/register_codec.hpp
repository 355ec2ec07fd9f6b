// Register ↔ value conversion for every point type of config.md (bool, int16/uint16,
// int32/uint32, int64/uint64, float32/float64, string), with word order, byte order and
// scale/offset, both directions: reads decode, writes encode.
//
// config.md rules served: Value = raw × scale + offset; `word_order: big` is high word first,
// `little` reverses all the point's registers (so all four on 64-bit types); `byte_order:
// little` swaps the two bytes inside each register; strings carry two characters per register,
// first character in the high byte (byte_order big), trailing NULs and spaces trimmed on read,
// NUL-padded on write (word_order does not apply to strings); a write converts back as
// (value − offset) / scale rounded half away from zero, and a value outside the type's range is
// refused. A scaled point (scale ≠ 1 or offset ≠ 0) reads as a double; unscaled integer types
// stay integers (int64_t for signed, uint64_t for unsigned). Pure code: no allocation except for
// string values.
//
// Reads carry no binary noise (fidelity issue): a float32 decodes to the double of its shortest
// decimal text (44.58, not 44.58273696899414; it converts back to the same float32), and a
// scaled value is rounded to 15 significant digits (761 × 0.1 is 76.1, not 76.10000000000001).
//
// Usage:
//   std::uint16_t regs[4];  // register_count(p.type, p.length) of them, in address order
//   points::Value v = points::decode_registers(point, std::span(regs, n));
//   points::Value c = points::decode_bit(coil_point, true);
//   std::array<std::uint16_t, 4> out;
//   if (auto ec = points::encode_registers(point, Value{12.5}, std::span(out).first(n)))
//   refuse(ec);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "config/model.hpp"
#include "points/value.hpp"

namespace pollux::points {

// Registers (register tables) or bits (coil/discrete: always 1) the point covers.
int point_width(const config::Point& p);

// Decodes `regs` (exactly point_width(p) registers, in address order). Never fails: every bit
// pattern is some value (a float may be NaN).
Value decode_registers(const config::Point& p, std::span<const std::uint16_t> regs);
// A coil or discrete input: always bool (scale and offset do not apply to bits).
Value decode_bit(const config::Point& p, bool bit);

// The float32 as the double of its shortest decimal text (the fidelity rule above), for every
// reader of a float32 (registers, Sparkplug's Float).
double shortest_float32(float f);

// Encodes a value to write into `out` (exactly point_width(p) registers). Errors:
// std::errc::invalid_argument (wrong kind of value, NaN for an integer type, size mismatch),
// std::errc::result_out_of_range (outside the type's range, string too long).
std::error_code encode_registers(const config::Point& p, const Value& v,
                                 std::span<std::uint16_t> out);
// A coil: bool, or a number 0/1. Same errors.
std::error_code encode_bit(const config::Point& p, const Value& v, bool& out);

// Why `v` cannot be written to `p`, in words that name the point, the value and the reason
// (api.md "Settled details": "PUMP_RUN is bool: 'banana' is not true or false",
// "PUMP_RUN: 2 is out of range for bool"). `ec` is what encode_bit or encode_registers returned
// (operation_not_permitted: a read-only table).
std::string describe_refusal(const config::Point& p, const Value& v, std::error_code ec);

}  // namespace pollux::points
