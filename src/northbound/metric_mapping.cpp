#include "northbound/metric_mapping.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <variant>

namespace pollux::northbound {
namespace {

using config::PointType;

std::int64_t signed_min(int bits) {
  return bits == 64 ? std::numeric_limits<std::int64_t>::min() : -(std::int64_t{1} << (bits - 1));
}
std::int64_t signed_max(int bits) {
  return bits == 64 ? std::numeric_limits<std::int64_t>::max()
                    : (std::int64_t{1} << (bits - 1)) - 1;
}
std::uint64_t unsigned_max(int bits) {
  return bits == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << bits) - 1;
}

// The range checks come before the casts: a double outside the target's range has no defined
// conversion.
std::optional<std::int64_t> rounded_int64(double d) {
  const double r = std::round(d);
  if (!(r >= -0x1p63 && r < 0x1p63)) return std::nullopt;  // NaN fails too
  return static_cast<std::int64_t>(r);
}
std::optional<std::uint64_t> rounded_uint64(double d) {
  const double r = std::round(d);
  if (!(r >= 0 && r < 0x1p64)) return std::nullopt;
  return static_cast<std::uint64_t>(r);
}

MetricValue as_signed(const points::Value& v, int bits) {
  std::int64_t x = 0;
  if (const auto* b = std::get_if<bool>(&v)) {
    x = *b ? 1 : 0;
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    x = *i;
  } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return {};
    x = static_cast<std::int64_t>(*u);
  } else if (const auto* d = std::get_if<double>(&v)) {
    const auto r = rounded_int64(*d);
    if (!r) return {};
    x = *r;
  } else {
    return {};
  }
  if (x < signed_min(bits) || x > signed_max(bits)) return {};
  return x;
}

MetricValue as_unsigned(const points::Value& v, int bits) {
  std::uint64_t x = 0;
  if (const auto* b = std::get_if<bool>(&v)) {
    x = *b ? 1 : 0;
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    if (*i < 0) return {};
    x = static_cast<std::uint64_t>(*i);
  } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
    x = *u;
  } else if (const auto* d = std::get_if<double>(&v)) {
    const auto r = rounded_uint64(*d);
    if (!r) return {};
    x = *r;
  } else {
    return {};
  }
  if (x > unsigned_max(bits)) return {};
  return x;
}

MetricValue as_boolean(const points::Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  const auto d = points::as_double(v);  // nullopt for null and text
  if (d && (*d == 0.0 || *d == 1.0)) return *d == 1.0;
  return {};
}

MetricValue as_real(const points::Value& v) {
  if (const auto d = points::as_double(v)) return *d;  // a bool is 0 or 1
  return {};
}

}  // namespace

DataType datatype_for(const config::Point& p) {
  if (config::is_bit_table(p.table) || p.type == PointType::boolean) return DataType::boolean;
  if (p.type == PointType::string) return DataType::string;
  if (p.scale != 1.0 || p.offset != 0.0) return DataType::float64;
  switch (p.type) {
    case PointType::int16:
      return DataType::int16;
    case PointType::uint16:
      return DataType::uint16;
    case PointType::int32:
      return DataType::int32;
    case PointType::uint32:
      return DataType::uint32;
    case PointType::int64:
      return DataType::int64;
    case PointType::uint64:
      return DataType::uint64;
    case PointType::float32:
      return DataType::float32;
    case PointType::float64:
      return DataType::float64;
    case PointType::boolean:
    case PointType::string:
      break;  // above
  }
  return DataType::unknown;
}

DataType status_datatype(const points::Value& v) {
  if (std::holds_alternative<std::string>(v)) return DataType::string;
  if (std::holds_alternative<bool>(v)) return DataType::boolean;
  if (std::holds_alternative<double>(v)) return DataType::float64;
  return DataType::int32;
}

MetricValue metric_value(const points::Value& v, DataType t) {
  if (std::holds_alternative<std::monostate>(v)) return {};
  if (is_signed_integer(t)) return as_signed(v, integer_bits(t));
  if (is_unsigned_integer(t)) return as_unsigned(v, integer_bits(t));
  switch (t) {
    case DataType::boolean:
      return as_boolean(v);
    case DataType::float32:
    case DataType::float64:
      return as_real(v);
    case DataType::string:
      if (const auto* s = std::get_if<std::string>(&v)) return *s;
      return {};
    default:
      return v;
  }
}

std::int32_t quality_code(points::PointQuality q) {
  switch (q) {
    case points::PointQuality::good:
      return kQualityGood;
    case points::PointQuality::uncertain:
      return kQualityUncertain;
    case points::PointQuality::bad:
      return kQualityBad;
  }
  return kQualityBad;
}

}  // namespace pollux::northbound
