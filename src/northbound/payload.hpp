// Sparkplug B payloads as plain data (spec/northbound.md "Topics and payloads"): what the
// session machine builds and reads, and what the encoder turns into the protobuf `Payload`
// and back. No protobuf type crosses this header (DESIGN.md principle 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pollux::northbound {

// The Sparkplug DataType numbers Pollux sends or accepts (sparkplug_b.proto `DataType`).
enum class DataType : std::uint32_t {
  unknown = 0,
  int8 = 1,
  int16 = 2,
  int32 = 3,
  int64 = 4,
  uint8 = 5,
  uint16 = 6,
  uint32 = 7,
  uint64 = 8,
  float32 = 9,   // Sparkplug "Float"
  float64 = 10,  // Sparkplug "Double"
  boolean = 11,
  string = 12,
};
std::string_view to_string(DataType t);

// Bits of an integer datatype (8, 16, 32, 64); 0 for every other datatype.
constexpr int integer_bits(DataType t) {
  switch (t) {
    case DataType::int8:
    case DataType::uint8:
      return 8;
    case DataType::int16:
    case DataType::uint16:
      return 16;
    case DataType::int32:
    case DataType::uint32:
      return 32;
    case DataType::int64:
    case DataType::uint64:
      return 64;
    default:
      return 0;
  }
}
constexpr bool is_signed_integer(DataType t) {
  return t == DataType::int8 || t == DataType::int16 || t == DataType::int32 ||
         t == DataType::int64;
}
constexpr bool is_unsigned_integer(DataType t) {
  return integer_bits(t) != 0 && !is_signed_integer(t);
}

// The `Quality` property (Int32): OPC-style codes.
inline constexpr std::int32_t kQualityGood = 192;
inline constexpr std::int32_t kQualityUncertain = 64;
inline constexpr std::int32_t kQualityBad = 0;

// A metric's value. monostate: is_null. Signed integers of every width travel as int64,
// unsigned ones as uint64, Float and Double as double; the DataType says how each is encoded
// (32 bits or fewer in int_value, 64-bit in long_value, Float as float_value).
using MetricValue =
    std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

struct Metric {
  std::string name;  // births, and DCMDs that name the metric; else empty
  std::optional<std::uint64_t> alias;
  DataType type = DataType::unknown;  // unknown: absent on the wire (DDATA, DCMD by alias)
  std::uint64_t timestamp = 0;        // ms since the Unix epoch; 0: absent
  MetricValue value;
  std::optional<std::int32_t> quality;  // the `Quality` property
  bool historical = false;
  friend bool operator==(const Metric&, const Metric&) = default;
};

struct Payload {
  std::uint64_t timestamp = 0;  // time of sending, ms since the Unix epoch
  std::optional<std::uint64_t> seq;
  std::vector<Metric> metrics;
  friend bool operator==(const Payload&, const Payload&) = default;
};

}  // namespace pollux::northbound
