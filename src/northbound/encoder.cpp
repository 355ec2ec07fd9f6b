#include "northbound/encoder.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "northbound/metric_mapping.hpp"
#include "northbound/sparkplug_b.pb.h"
#include "points/register_codec.hpp"

namespace pollux::northbound {
namespace {

namespace pb = org::eclipse::tahu::protobuf;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr std::string_view kQualityKey = "Quality";

// Length of the well-formed UTF-8 sequence at s[i], 0 when there is none there (a stray
// continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, a cut).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = at(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;  // the second byte's range; the rest are always 80..BF
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < n || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void set_text(std::string_view s, std::string* out) {
  if (valid_utf8(s)) {
    out->assign(s);
    return;
  }
  out->clear();
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out->append(s.substr(i, n));
      i += n;
    }
  }
}

void set_value(const MetricValue& v, DataType t, pb::Payload_Metric& out) {
  const int bits = integer_bits(t);
  const bool in_int_value = bits != 0 && bits <= 32;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out.set_is_null(true);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.set_boolean_value(x);
        } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) {
          // Two's complement truncation: the low 32 bits of a sign-extended int64 are the value
          // sign-extended to 32 bits, as Sparkplug 3.0 wants.
          if (in_int_value) {
            out.set_int_value(static_cast<std::uint32_t>(x));
          } else {
            out.set_long_value(static_cast<std::uint64_t>(x));
          }
        } else if constexpr (std::is_same_v<T, double>) {
          if (t == DataType::float32) {
            out.set_float_value(static_cast<float>(x));
          } else {
            out.set_double_value(x);
          }
        } else {
          set_text(x, out.mutable_string_value());
        }
      },
      v);
}

// protobuf keeps a field of the schema that arrives with another wire type (a varint where a
// message belongs) among the unknown fields instead of failing; for Sparkplug that is a
// malformed payload. Numbers the schema does not know are left alone (a newer schema,
// extensions). Returns the first such field, searching every message the payload holds (the
// parser's recursion limit bounds the depth).
const FieldDescriptor* misplaced_field(const Message& m) {
  const auto* reflection = m.GetReflection();
  const auto* descriptor = m.GetDescriptor();
  const auto& unknown = reflection->GetUnknownFields(m);
  for (int i = 0; i < unknown.field_count(); ++i)
    if (const auto* f = descriptor->FindFieldByNumber(unknown.field(i).number())) return f;
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(m, f); ++i)
        if (const auto* bad = misplaced_field(reflection->GetRepeatedMessage(m, f, i))) return bad;
    } else if (const auto* bad = misplaced_field(reflection->GetMessage(m, f))) {
      return bad;
    }
  }
  return nullptr;
}

std::int64_t sign_extend(std::uint64_t bits, int width) {
  if (width >= 64) return static_cast<std::int64_t>(bits);
  const std::uint64_t sign = std::uint64_t{1} << (width - 1);
  const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
  return static_cast<std::int64_t>(((bits & mask) ^ sign) - sign);
}

// An integer field read at the datatype's width (decode's contract in encoder.hpp). `from`
// is the field's width: 32 for int_value, 64 for long_value.
MetricValue integer_value(std::uint64_t bits, int from, DataType t) {
  const int width = std::min(integer_bits(t), from);
  if (is_signed_integer(t)) return sign_extend(bits, width);
  if (is_unsigned_integer(t)) return width >= 64 ? bits : bits & ((std::uint64_t{1} << width) - 1);
  return static_cast<std::int64_t>(bits);
}

std::optional<std::int32_t> quality_of(const pb::Payload_Metric& m) {
  if (!m.has_properties()) return std::nullopt;
  const auto& props = m.properties();
  for (int i = 0; i < props.keys_size() && i < props.values_size(); ++i) {
    if (props.keys(i) != kQualityKey) continue;
    const auto& v = props.values(i);
    if (v.has_int_value()) return static_cast<std::int32_t>(v.int_value());
    if (v.has_long_value()) {
      const auto q = static_cast<std::int64_t>(v.long_value());
      if (q >= INT32_MIN && q <= INT32_MAX) return static_cast<std::int32_t>(q);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// A metric's name as an error message shows it: whoever may publish to the broker may send a
// name of megabytes. Cut at a character boundary (the name is valid UTF-8 by then).
std::string shown_name(std::string_view name) {
  constexpr std::size_t kMax = 64;
  if (name.size() <= kMax) return std::string(name);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(name.substr(0, cut)) + "...";
}

std::string_view unsupported_value(pb::Payload_Metric::ValueCase c) {
  switch (c) {
    case pb::Payload_Metric::kBytesValue:
      return "bytes_value";
    case pb::Payload_Metric::kDatasetValue:
      return "dataset_value";
    case pb::Payload_Metric::kTemplateValue:
      return "template_value";
    case pb::Payload_Metric::kExtensionValue:
      return "extension_value";
    default:
      return {};
  }
}

}  // namespace

std::string encode(const Payload& p) {
  // One message per thread, cleared and refilled: Clear() keeps its metrics, property sets and
  // strings for reuse, so a DDATA allocates only its result (a fresh message costs about as
  // much again in allocations as the encoding itself).
  thread_local pb::Payload out;
  out.Clear();
  out.set_timestamp(p.timestamp);
  if (p.seq) out.set_seq(*p.seq);
  out.mutable_metrics()->Reserve(static_cast<int>(p.metrics.size()));
  for (const Metric& m : p.metrics) {
    pb::Payload_Metric& w = *out.add_metrics();
    if (!m.name.empty()) set_text(m.name, w.mutable_name());
    if (m.alias) w.set_alias(*m.alias);
    if (m.timestamp != 0) w.set_timestamp(m.timestamp);
    if (m.type != DataType::unknown) w.set_datatype(static_cast<std::uint32_t>(m.type));
    if (m.historical) w.set_is_historical(true);
    if (m.quality) {
      auto& props = *w.mutable_properties();
      props.add_keys(std::string(kQualityKey));
      auto& v = *props.add_values();
      v.set_type(pb::Int32);
      v.set_int_value(static_cast<std::uint32_t>(*m.quality));
    }
    set_value(metric_value(m.value, m.type), m.type, w);
  }
  return out.SerializeAsString();
}

std::optional<Payload> decode(std::string_view bytes, std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<Payload> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return fail("Sparkplug payload too large (" + std::to_string(bytes.size()) + " bytes)");
  pb::Payload in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail("malformed Sparkplug payload: not a protobuf Payload, or cut short");
  if (const FieldDescriptor* f = misplaced_field(in))
    return fail("malformed Sparkplug payload: field " + f->full_name() +
                " has the wrong wire type");

  Payload out;
  out.timestamp = in.timestamp();
  if (in.has_seq()) out.seq = in.seq();
  out.metrics.reserve(static_cast<std::size_t>(in.metrics_size()));
  for (int i = 0; i < in.metrics_size(); ++i) {
    const pb::Payload_Metric& m = in.metrics(i);
    if (m.has_name() && !valid_utf8(m.name()))
      return fail("metric " + std::to_string(i) + ": name is not valid UTF-8");
    const auto where = [&] {
      return "metric " + std::to_string(i) +
             (m.name().empty() ? "" : " '" + shown_name(m.name()) + "'");
    };
    Metric r;
    r.name = m.name();
    if (m.has_alias()) r.alias = m.alias();
    r.timestamp = m.timestamp();
    r.historical = m.is_historical();
    r.quality = quality_of(m);
    if (m.datatype() > static_cast<std::uint32_t>(DataType::string)) {
      const bool named = pb::DataType_IsValid(static_cast<int>(m.datatype()));
      return fail(
          where() + ": unsupported datatype " +
          (named ? pb::DataType_Name(static_cast<pb::DataType>(m.datatype())) + " (" : "(") +
          std::to_string(m.datatype()) + ")");
    }
    r.type = static_cast<DataType>(m.datatype());
    switch (m.value_case()) {
      case pb::Payload_Metric::kIntValue:
        r.value = integer_value(m.int_value(), 32, r.type);
        break;
      case pb::Payload_Metric::kLongValue:
        r.value = integer_value(m.long_value(), 64, r.type);
        break;
      case pb::Payload_Metric::kFloatValue:
        r.value = points::shortest_float32(m.float_value());
        break;
      case pb::Payload_Metric::kDoubleValue:
        r.value = m.double_value();
        break;
      case pb::Payload_Metric::kBooleanValue:
        r.value = m.boolean_value();
        break;
      case pb::Payload_Metric::kStringValue:
        if (!valid_utf8(m.string_value()))
          return fail(where() + ": string_value is not valid UTF-8");
        r.value = m.string_value();
        break;
      case pb::Payload_Metric::VALUE_NOT_SET:
        break;
      default:
        return fail(where() + ": unsupported metric value (" +
                    std::string(unsupported_value(m.value_case())) + ")");
    }
    if (m.is_null()) r.value = std::monostate{};
    out.metrics.push_back(std::move(r));
  }
  return out;
}

}  // namespace pollux::northbound
