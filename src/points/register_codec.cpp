#include "points/register_codec.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace pollux::points {
namespace {

using config::Order;
using config::PointType;

std::uint16_t swap_bytes(std::uint16_t r) {
  return static_cast<std::uint16_t>(r << 8 | r >> 8);
}

// The point's raw bits as one integer, high word first after applying word and byte order.
std::uint64_t combine(const config::Point& p, std::span<const std::uint16_t> regs) {
  std::uint64_t raw = 0;
  const std::size_t n = regs.size();
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t r = regs[p.word_order == Order::big ? i : n - 1 - i];
    if (p.byte_order == Order::little) r = swap_bytes(r);
    raw = raw << 16 | r;
  }
  return raw;
}

void split(const config::Point& p, std::uint64_t raw, std::span<std::uint16_t> out) {
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) {
    // Word i counted from the high end.
    std::uint16_t r = static_cast<std::uint16_t>(raw >> (16 * (n - 1 - i)));
    if (p.byte_order == Order::little) r = swap_bytes(r);
    out[p.word_order == Order::big ? i : n - 1 - i] = r;
  }
}

bool is_scaled(const config::Point& p) {
  return p.scale != 1.0 || p.offset != 0.0;
}

bool is_signed(PointType t) {
  return t == PointType::int16 || t == PointType::int32 || t == PointType::int64;
}

// Range of the raw integer type, as exact integers.
struct Range {
  std::int64_t min_signed;
  std::uint64_t max_unsigned;
};

Range range_of(PointType t) {
  switch (t) {
    case PointType::int16:
      return {-32768, 32767};
    case PointType::uint16:
      return {0, 65535};
    case PointType::int32:
      return {-2147483648LL, 2147483647};
    case PointType::uint32:
      return {0, 4294967295ULL};
    case PointType::int64:
      return {std::numeric_limits<std::int64_t>::min(),
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())};
    default:
      return {0, std::numeric_limits<std::uint64_t>::max()};
  }
}

std::error_code out_of_range() {
  return std::make_error_code(std::errc::result_out_of_range);
}
std::error_code invalid() {
  return std::make_error_code(std::errc::invalid_argument);
}

// Rounds half away from zero and checks the type's range; gives the raw two's complement bits.
std::error_code integer_from_double(PointType t, double x, std::uint64_t& raw) {
  if (std::isnan(x)) return invalid();
  double r = std::round(x);  // std::round: halves away from zero
  // (value − offset) / scale of a decimal the operator typed is rarely exact in binary:
  // 12.35 / 0.1 is 123.49999999999999. A result within a few ulps of a half is that half, so
  // it rounds away from zero as config.md says.
  const double frac = std::fabs(x - std::trunc(x));
  if (std::fabs(frac - 0.5) <= 1e-9 * std::max(1.0, std::fabs(x))) {
    r = x > 0 ? std::trunc(x) + 1 : std::trunc(x) - 1;
  }
  const Range range = range_of(t);
  // 2^63 and 2^64 are exact doubles; compare against them, not against the integer limits.
  if (is_signed(t)) {
    if (r < static_cast<double>(range.min_signed)) return out_of_range();
    if (r >= 9223372036854775808.0 || r > static_cast<double>(range.max_unsigned)) {
      return out_of_range();
    }
    raw = static_cast<std::uint64_t>(static_cast<std::int64_t>(r));
  } else {
    if (r < 0) return out_of_range();
    if (r >= 18446744073709551616.0 || r > static_cast<double>(range.max_unsigned)) {
      return out_of_range();
    }
    raw = static_cast<std::uint64_t>(r);
  }
  return {};
}

std::error_code integer_from_value(PointType t, const Value& v, std::uint64_t& raw) {
  const Range range = range_of(t);
  if (auto* i = std::get_if<std::int64_t>(&v)) {
    if (is_signed(t)) {
      if (*i < range.min_signed ||
          (*i > 0 && static_cast<std::uint64_t>(*i) > range.max_unsigned)) {
        return out_of_range();
      }
    } else if (*i < 0 || static_cast<std::uint64_t>(*i) > range.max_unsigned) {
      return out_of_range();
    }
    raw = static_cast<std::uint64_t>(*i);
    return {};
  }
  if (auto* u = std::get_if<std::uint64_t>(&v)) {
    if (*u > range.max_unsigned) return out_of_range();
    raw = *u;
    return {};
  }
  if (auto* b = std::get_if<bool>(&v)) {
    raw = *b ? 1 : 0;
    return {};
  }
  if (auto* d = std::get_if<double>(&v)) return integer_from_double(t, *d, raw);
  return invalid();
}

std::int64_t sign_extend(std::uint64_t raw, int bits) {
  if (bits == 64) return static_cast<std::int64_t>(raw);
  const std::uint64_t sign = 1ULL << (bits - 1);
  const std::uint64_t mask = (1ULL << bits) - 1;
  raw &= mask;
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

// raw × scale + offset for an integer reading when scale and offset are decimals of at most six
// places (0.1, 0.05, -273.15), the common case, in a few nanoseconds: (raw × M + O) / 10^k with
// integers M and O is exact up to its one division, which rounds to the double nearest the
// decimal the device means. Nothing otherwise (a float reading, a scale like 1/3, huge values).
std::optional<double> decimal_scaled(double raw, const config::Point& p) {
  static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  constexpr double kExact = 9007199254740992.0;  // 2^53: integers up to here are exact doubles
  const auto integral = [](double v) {
    return std::abs(v - std::nearbyint(v)) <= 1e-9 * std::max(1.0, std::abs(v));
  };
  if (raw != std::nearbyint(raw)) return std::nullopt;
  for (const double p10 : kPow10) {
    const double m = p.scale * p10;
    const double o = p.offset * p10;
    if (!integral(m) || !integral(o)) continue;
    const double product = raw * std::nearbyint(m);
    const double sum = product + std::nearbyint(o);
    if (std::abs(product) >= kExact || std::abs(sum) >= kExact) return std::nullopt;
    return sum / p10;
  }
  return std::nullopt;
}

// raw × scale + offset without the binary noise of the arithmetic: 761 × 0.1 is
// 76.10000000000001 in binary, but the value the device means is 76.1. The computation is off by
// a few ulps at most, so 15 significant digits (every such decimal survives a double) drop the
// noise and keep all the information a reading of 32 bits or fewer carries. A 64-bit reading
// may carry more digits than that: it is scaled as it is (`drop_noise` false).
double scaled(double raw, const config::Point& p, bool drop_noise = true) {
  const double x = raw * p.scale + p.offset;
  if (!drop_noise || !std::isfinite(x) || x == 0) return x;
  if (auto exact = decimal_scaled(raw, p)) return *exact;
  char buf[40];
  const auto end = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific, 14).ptr;
  double d = x;
  std::from_chars(buf, end, d);
  return d;
}

// A number as its shortest text (1e+39, 76.1); strings quoted, so 'banana' reads as a value.
std::string value_text(const Value& v) {
  if (auto* d = std::get_if<double>(&v)) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, *d).ptr);
  }
  if (auto* s = std::get_if<std::string>(&v)) return "'" + *s + "'";
  if (std::holds_alternative<std::monostate>(v)) return "no value";
  return to_string(v);
}

std::string number_text(double x) {
  return value_text(Value{x});
}

// "uint16 (0..65535)", "uint16 with scale 0.1 (0..6553.5)": what the operator may write.
std::string range_text(const config::Point& p) {
  std::string type(config::to_string(p.type));
  if (p.type == PointType::float32) {
    char buf[32];
    const std::string m(
        buf, std::to_chars(buf, buf + sizeof buf, std::numeric_limits<float>::max()).ptr);
    return type + " (-" + m + ".." + m + ")";
  }
  const Range r = range_of(p.type);
  const double lo = static_cast<double>(r.min_signed);
  const double hi = static_cast<double>(r.max_unsigned);
  if (!is_scaled(p)) {
    const std::string lo_text = std::to_string(r.min_signed);
    const std::string hi_text = std::to_string(r.max_unsigned);
    return type + " (" + lo_text + ".." + hi_text + ")";
  }
  double a = scaled(lo, p), b = scaled(hi, p);
  if (a > b) std::swap(a, b);
  std::string how = " with scale " + number_text(p.scale);
  if (p.offset != 0) how += " and offset " + number_text(p.offset);
  return type + how + " (" + number_text(a) + ".." + number_text(b) + ")";
}

}  // namespace

// 44.58f widened is 44.58273696899414, which no operator typed into an RTU; 44.58 reads back as
// the same float32. Falls back to the plain widening in the rare case where the decimal's double
// would not.
double shortest_float32(float f) {
  if (!std::isfinite(f)) return f;
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, f).ptr;
  double d = 0;
  if (std::from_chars(buf, end, d).ec != std::errc{} || static_cast<float>(d) != f) return f;
  return d;
}

std::string describe_refusal(const config::Point& p, const Value& v, std::error_code ec) {
  const std::string type(config::to_string(p.type));
  const std::string value = value_text(v);
  if (ec == std::errc::operation_not_permitted) {
    return p.name + " is in the read-only " + std::string(config::to_string(p.table)) +
           " table: " + value + " cannot be written";
  }
  const bool out_of_range = ec == std::errc::result_out_of_range;
  if (p.type == PointType::boolean || config::is_bit_table(p.table)) {
    if (out_of_range) return p.name + ": " + value + " is out of range for bool (true/false, 1/0)";
    return p.name + " is bool: " + value + " is not true or false";
  }
  if (p.type == PointType::string) {
    if (out_of_range) {
      return p.name + ": " + value + " is too long for string of " + std::to_string(p.length) +
             " registers (at most " + std::to_string(2 * p.length) + " characters)";
    }
    return p.name + " is string: " + value + " is not text";
  }
  if (out_of_range) return p.name + ": " + value + " is out of range for " + range_text(p);
  return p.name + " is " + type + ": " + value + " is not a number";
}

int point_width(const config::Point& p) {
  if (config::is_bit_table(p.table)) return 1;
  return config::register_count(p.type, p.length);
}

Value decode_bit(const config::Point&, bool bit) {
  return bit;
}

Value decode_registers(const config::Point& p, std::span<const std::uint16_t> regs) {
  if (p.type == PointType::string) {
    std::string s;
    s.reserve(regs.size() * 2);
    for (std::uint16_t r : regs) {
      if (p.byte_order == Order::little) r = swap_bytes(r);
      s.push_back(static_cast<char>(r >> 8));
      s.push_back(static_cast<char>(r & 0xFF));
    }
    while (!s.empty() && (s.back() == '\0' || s.back() == ' '))
      s.pop_back();
    return s;
  }
  const std::uint64_t raw = combine(p, regs);
  const int bits = static_cast<int>(16 * regs.size());
  if (p.type == PointType::boolean) return raw != 0;
  double as_float = 0;
  bool is_float = false;
  if (p.type == PointType::float32) {
    as_float = shortest_float32(std::bit_cast<float>(static_cast<std::uint32_t>(raw)));
    is_float = true;
  } else if (p.type == PointType::float64) {
    as_float = std::bit_cast<double>(raw);
    is_float = true;
  }
  const bool narrow = bits <= 32;
  if (is_float) return is_scaled(p) ? scaled(as_float, p, narrow) : as_float;
  if (is_signed(p.type)) {
    const std::int64_t v = sign_extend(raw, bits);
    if (is_scaled(p)) return scaled(static_cast<double>(v), p, narrow);
    return v;
  }
  if (is_scaled(p)) return scaled(static_cast<double>(raw), p, narrow);
  return raw;
}

std::error_code encode_bit(const config::Point&, const Value& v, bool& out) {
  if (auto* b = std::get_if<bool>(&v)) {
    out = *b;
    return {};
  }
  auto d = as_double(v);
  if (!d) return invalid();
  if (*d == 0.0 || *d == 1.0) {
    out = *d == 1.0;
    return {};
  }
  return out_of_range();
}

std::error_code encode_registers(const config::Point& p, const Value& v,
                                 std::span<std::uint16_t> out) {
  if (static_cast<int>(out.size()) != config::register_count(p.type, p.length)) return invalid();
  if (p.type == PointType::string) {
    auto* s = std::get_if<std::string>(&v);
    if (!s) return invalid();
    if (s->size() > 2 * out.size()) return out_of_range();
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto at = [&](std::size_t k) -> std::uint16_t {
        return k < s->size() ? static_cast<unsigned char>((*s)[k]) : 0;
      };
      std::uint16_t r = static_cast<std::uint16_t>(at(2 * i) << 8 | at(2 * i + 1));
      if (p.byte_order == Order::little) r = swap_bytes(r);
      out[i] = r;
    }
    return {};
  }
  if (p.type == PointType::boolean) {
    bool b = false;
    if (auto ec = encode_bit(p, v, b)) return ec;
    split(p, b ? 1 : 0, out);
    return {};
  }
  if (std::holds_alternative<std::monostate>(v) || std::holds_alternative<std::string>(v)) {
    return invalid();
  }
  if (p.type == PointType::float32 || p.type == PointType::float64) {
    double x = *as_double(v);
    if (is_scaled(p)) x = (x - p.offset) / p.scale;
    if (p.type == PointType::float32) {
      if (std::isfinite(x) && std::fabs(x) > std::numeric_limits<float>::max()) {
        return out_of_range();
      }
      split(p, std::bit_cast<std::uint32_t>(static_cast<float>(x)), out);
    } else {
      split(p, std::bit_cast<std::uint64_t>(x), out);
    }
    return {};
  }
  std::uint64_t raw = 0;
  if (is_scaled(p)) {
    const double x = (*as_double(v) - p.offset) / p.scale;
    if (auto ec = integer_from_double(p.type, x, raw)) return ec;
  } else if (auto ec = integer_from_value(p.type, v, raw)) {
    return ec;
  }
  split(p, raw, out);
  return {};
}

}  // namespace pollux::points
