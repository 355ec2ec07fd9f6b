// A point's value as the engine, the point store and the API see it (config.md point types).
//
// The alternatives are exactly api::PointValue's (src/api/node_api.hpp), so values cross from
// the codec to the API without conversion: monostate before the first good read, bool for
// bool points, int64/uint64 for unscaled signed/unsigned integers, double for floats and for
// any scaled point, string for string points.
//
// Usage:
//   points::Value v = points::decode_registers(point, regs);
//   if (auto* d = std::get_if<double>(&v)) ...
//   std::string shown = points::to_string(v);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace pollux::points {

using Value = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

// For logs and tests: "null", "true", "42", "1.5", the string itself.
std::string to_string(const Value& v);
// The numeric value as a double (bool as 0/1); nullopt for null and strings.
std::optional<double> as_double(const Value& v);

}  // namespace pollux::points
