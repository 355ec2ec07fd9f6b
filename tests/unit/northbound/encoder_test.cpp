// The Sparkplug B codec (northbound/encoder.hpp, spec/northbound.md "Topics and payloads" and
// "Settled details"): every datatype goes out and comes back equal; what goes on the wire is
// read with the generated protobuf classes (int_value vs long_value, sign extension, Quality,
// is_null, is_historical, optional fields); what a host might send is read at the datatype's
// width; malformed input is refused with a reason.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "northbound/encoder.hpp"
#include "northbound/sparkplug_b.pb.h"
#include "print.hpp"

namespace pollux::northbound {
namespace {

namespace pb = org::eclipse::tahu::protobuf;

constexpr std::uint64_t kNow = 1'767'000'000'000;  // ms since the epoch

Metric named(std::string name, DataType t, MetricValue v) {
  Metric m;
  m.name = std::move(name);
  m.alias = 42;
  m.type = t;
  m.timestamp = kNow - 500;
  m.value = std::move(v);
  m.quality = kQualityGood;
  return m;
}

Payload with(std::vector<Metric> metrics) {
  Payload p;
  p.timestamp = kNow;
  p.seq = 7;
  p.metrics = std::move(metrics);
  return p;
}

pb::Payload wire(const std::string& bytes) {
  pb::Payload p;
  EXPECT_TRUE(p.ParseFromString(bytes));
  return p;
}

pb::Payload_Metric wire_metric(const Metric& m) {
  const pb::Payload p = wire(encode(with({m})));
  EXPECT_EQ(p.metrics_size(), 1);
  return p.metrics_size() == 1 ? p.metrics(0) : pb::Payload_Metric{};
}

// Decodes bytes a host might send; fails the test when they are refused.
Metric decoded_metric(const pb::Payload_Metric& m) {
  pb::Payload p;
  p.set_timestamp(kNow);
  *p.add_metrics() = m;
  std::string error;
  const auto d = decode(p.SerializeAsString(), &error);
  EXPECT_TRUE(d) << error;
  if (!d || d->metrics.size() != 1) return {};
  return d->metrics[0];
}

std::string refused(std::string_view bytes) {
  std::string error;
  const auto d = decode(bytes, &error);
  EXPECT_FALSE(d) << "accepted";
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(decode(bytes, nullptr));  // no error out-parameter: still refused, no crash
  return error;
}

// A length-delimited field (wire type 2) of fewer than 128 bytes, for hand-made input.
std::string delimited(int field, const std::string& body) {
  return std::string{static_cast<char>(field << 3 | 2), static_cast<char>(body.size())} + body;
}

using I = std::int64_t;
using U = std::uint64_t;

TEST(SparkplugCodec, EveryDatatypeRoundTrips) {
  const std::vector<Metric> metrics = {
      named("i8 min", DataType::int8, I{-128}),
      named("i8 max", DataType::int8, I{127}),
      named("i16", DataType::int16, I{-2}),
      named("i16 min", DataType::int16, I{-32768}),
      named("i16 max", DataType::int16, I{32767}),
      named("i32 min", DataType::int32, I{std::numeric_limits<std::int32_t>::min()}),
      named("i32 max", DataType::int32, I{std::numeric_limits<std::int32_t>::max()}),
      named("i64 min", DataType::int64, std::numeric_limits<I>::min()),
      named("i64 -2", DataType::int64, I{-2}),
      named("i64 max", DataType::int64, std::numeric_limits<I>::max()),
      named("u8", DataType::uint8, U{255}),
      named("u16", DataType::uint16, U{65535}),
      named("u32", DataType::uint32, U{4'294'967'295}),
      named("u64", DataType::uint64, std::numeric_limits<U>::max()),
      named("float", DataType::float32, 1.5),
      named("float 76.1", DataType::float32, 76.1),  // a float32 point's reading (shortest text)
      named("float -0", DataType::float32, -0.0),
      named("double", DataType::float64, 0.1),
      named("double big", DataType::float64, 1e300),
      named("true", DataType::boolean, true),
      named("false", DataType::boolean, false),
      named("string", DataType::string, std::string("Pump 3 – läuft")),
      named("empty string", DataType::string, std::string()),
  };
  std::vector<Metric> all = metrics;
  for (Metric m : metrics) {  // and each datatype null, with bad quality
    m.name += " null";
    m.value = std::monostate{};
    m.quality = kQualityBad;
    all.push_back(m);
  }
  const Payload p = with(all);
  std::string error;
  const auto back = decode(encode(p), &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->metrics.size(), p.metrics.size());
  for (std::size_t i = 0; i < p.metrics.size(); ++i) {
    SCOPED_TRACE(p.metrics[i].name);
    EXPECT_EQ(back->metrics[i], p.metrics[i]);
    EXPECT_EQ(back->metrics[i].value.index(), p.metrics[i].value.index());
  }
  EXPECT_EQ(*back, p);
}

TEST(SparkplugCodec, IntegersOfAtMost32BitsTravelInIntValueSignExtended) {
  struct Case {
    DataType type;
    MetricValue value;
    bool in_int_value;
    std::uint64_t bits;
  };
  const Case cases[] = {
      {DataType::int8, I{-1}, true, 0xFFFF'FFFF},
      {DataType::int8, I{100}, true, 100},
      {DataType::int16, I{-2}, true, 4'294'967'294},
      {DataType::int16, I{-32768}, true, 0xFFFF'8000},
      {DataType::int32, I{-2}, true, 0xFFFF'FFFE},
      {DataType::int32, I{std::numeric_limits<std::int32_t>::min()}, true, 0x8000'0000},
      {DataType::uint8, U{200}, true, 200},
      {DataType::uint16, U{65535}, true, 65535},
      {DataType::uint32, U{4'294'967'295}, true, 4'294'967'295},
      {DataType::int64, I{-2}, false, 0xFFFF'FFFF'FFFF'FFFE},
      {DataType::int64, I{5}, false, 5},
      {DataType::uint64, U{5}, false, 5},
      {DataType::uint64, std::numeric_limits<U>::max(), false, 0xFFFF'FFFF'FFFF'FFFF},
      {DataType::unknown, I{-2}, false, 0xFFFF'FFFF'FFFF'FFFE},  // no datatype: 64 bits
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.type)) + " " + points::to_string(c.value));
    const pb::Payload_Metric m = wire_metric(named("x", c.type, c.value));
    if (c.type == DataType::unknown) {
      EXPECT_FALSE(m.has_datatype());
    } else {
      EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(c.type));
    }
    EXPECT_FALSE(m.has_is_null());
    if (c.in_int_value) {
      ASSERT_EQ(m.value_case(), pb::Payload_Metric::kIntValue);
      EXPECT_EQ(m.int_value(), c.bits);
    } else {
      ASSERT_EQ(m.value_case(), pb::Payload_Metric::kLongValue);
      EXPECT_EQ(m.long_value(), c.bits);
    }
  }
}

TEST(SparkplugCodec, FloatDoubleBooleanStringFields) {
  pb::Payload_Metric m = wire_metric(named("f", DataType::float32, 76.1));
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kFloatValue);
  EXPECT_EQ(m.float_value(), 76.1f);
  EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(pb::Float));

  m = wire_metric(named("d", DataType::float64, 76.1));
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kDoubleValue);
  EXPECT_EQ(m.double_value(), 76.1);
  EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(pb::Double));

  m = wire_metric(named("b", DataType::boolean, true));
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kBooleanValue);
  EXPECT_TRUE(m.boolean_value());
  EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(pb::Boolean));

  m = wire_metric(named("s", DataType::string, std::string("on")));
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kStringValue);
  EXPECT_EQ(m.string_value(), "on");
  EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(pb::String));

  m = wire_metric(named("d?", DataType::unknown, 2.5));  // no datatype: a double is a Double
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kDoubleValue);
  EXPECT_EQ(m.double_value(), 2.5);
}

TEST(SparkplugCodec, QualityIsAnInt32Property) {
  for (const std::int32_t q : {kQualityGood, kQualityUncertain, kQualityBad}) {
    Metric x = named("x", DataType::int16, I{1});
    x.quality = q;
    const pb::Payload_Metric m = wire_metric(x);
    ASSERT_TRUE(m.has_properties());
    ASSERT_EQ(m.properties().keys_size(), 1);
    EXPECT_EQ(m.properties().keys(0), "Quality");
    ASSERT_EQ(m.properties().values_size(), 1);
    const auto& v = m.properties().values(0);
    EXPECT_EQ(v.type(), static_cast<std::uint32_t>(pb::Int32));
    ASSERT_EQ(v.value_case(), pb::Payload_PropertyValue::kIntValue);
    EXPECT_EQ(v.int_value(), static_cast<std::uint32_t>(q));
    EXPECT_FALSE(v.has_is_null());
  }
  Metric none = named("x", DataType::int16, I{1});
  none.quality.reset();
  EXPECT_FALSE(wire_metric(none).has_properties());
  EXPECT_EQ(decode(encode(with({none})), nullptr)->metrics[0].quality, std::nullopt);
}

TEST(SparkplugCodec, NullIsIsNullWithNoValueAndKeepsItsDatatype) {
  Metric x = named("x", DataType::int16, std::monostate{});
  x.quality = kQualityBad;
  const pb::Payload_Metric m = wire_metric(x);
  EXPECT_TRUE(m.has_is_null());
  EXPECT_TRUE(m.is_null());
  EXPECT_EQ(m.value_case(), pb::Payload_Metric::VALUE_NOT_SET);
  EXPECT_EQ(m.datatype(), static_cast<std::uint32_t>(pb::Int16));
  EXPECT_EQ(m.properties().values(0).int_value(), 0u);
  // A value is not null: is_null is absent, not false.
  EXPECT_FALSE(wire_metric(named("x", DataType::int16, I{0})).has_is_null());
}

TEST(SparkplugCodec, HistoricalIsSetOnlyWhenTrue) {
  Metric x = named("x", DataType::boolean, true);
  EXPECT_FALSE(wire_metric(x).has_is_historical());
  x.historical = true;
  const pb::Payload_Metric m = wire_metric(x);
  EXPECT_TRUE(m.has_is_historical());
  EXPECT_TRUE(m.is_historical());
  EXPECT_TRUE(decode(encode(with({x})), nullptr)->metrics[0].historical);
}

TEST(SparkplugCodec, OptionalMetricFieldsAreAbsentWhenUnset) {
  Metric alias_only;
  alias_only.alias = 0;  // alias 0 is an alias
  alias_only.value = I{3};
  pb::Payload_Metric m = wire_metric(alias_only);
  EXPECT_FALSE(m.has_name());
  EXPECT_TRUE(m.has_alias());
  EXPECT_EQ(m.alias(), 0u);
  EXPECT_FALSE(m.has_datatype());
  EXPECT_FALSE(m.has_timestamp());
  EXPECT_FALSE(m.has_properties());
  EXPECT_FALSE(m.has_is_historical());
  auto back = decode(encode(with({alias_only})), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->metrics[0], alias_only);

  Metric name_only;
  name_only.name = "Tank/Level";
  name_only.type = DataType::float64;
  name_only.value = 1.25;
  m = wire_metric(name_only);
  EXPECT_EQ(m.name(), "Tank/Level");
  EXPECT_FALSE(m.has_alias());
  back = decode(encode(with({name_only})), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->metrics[0], name_only);
}

// The encoder refills one message per thread: nothing of a larger, fuller payload may show in
// the next one.
TEST(SparkplugCodec, AnEncodingCarriesNothingOfThePreviousOne) {
  std::vector<Metric> full(3);
  for (std::size_t i = 0; i < full.size(); ++i) {
    full[i].name = "POINT_" + std::to_string(i);
    full[i].alias = i;
    full[i].type = DataType::string;
    full[i].timestamp = kNow;
    full[i].value = std::string("text");
    full[i].quality = kQualityGood;
    full[i].historical = true;
  }
  (void)encode(with(full));
  Metric small;
  small.alias = 1;
  small.value = I{3};
  Payload p;
  p.timestamp = kNow;
  p.metrics = {small};
  const pb::Payload w = wire(encode(p));
  EXPECT_FALSE(w.has_seq());
  ASSERT_EQ(w.metrics_size(), 1);
  EXPECT_FALSE(w.metrics(0).has_name());
  EXPECT_FALSE(w.metrics(0).has_properties());
  EXPECT_FALSE(w.metrics(0).has_is_historical());
  EXPECT_FALSE(w.metrics(0).has_timestamp());
  EXPECT_FALSE(w.metrics(0).has_string_value());
  const auto back = decode(encode(p), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
}

TEST(SparkplugCodec, PayloadSeqZeroIsPresentAndAbsentSeqIsAbsent) {
  Payload p = with({});
  p.seq = 0;
  pb::Payload w = wire(encode(p));
  EXPECT_TRUE(w.has_seq());
  EXPECT_EQ(w.seq(), 0u);
  EXPECT_EQ(w.timestamp(), kNow);
  EXPECT_EQ(decode(encode(p), nullptr)->seq, std::optional<std::uint64_t>(0));

  p.seq.reset();
  w = wire(encode(p));
  EXPECT_FALSE(w.has_seq());
  EXPECT_TRUE(w.has_timestamp());
  EXPECT_EQ(decode(encode(p), nullptr)->seq, std::nullopt);
}

TEST(SparkplugCodec, AValueThatDoesNotFitItsDatatypeGoesAsNull) {
  const std::vector<Metric> cases = {
      named("int8 300", DataType::int8, I{300}),
      named("uint16 -1", DataType::uint16, I{-1}),
      named("int32 text", DataType::int32, std::string("12")),
      named("string number", DataType::string, I{12}),
      named("bool 2", DataType::boolean, I{2}),
      named("int64 NaN", DataType::int64, std::numeric_limits<double>::quiet_NaN()),
  };
  for (const Metric& x : cases) {
    SCOPED_TRACE(x.name);
    const pb::Payload_Metric m = wire_metric(x);
    EXPECT_TRUE(m.is_null());
    EXPECT_EQ(m.value_case(), pb::Payload_Metric::VALUE_NOT_SET);
  }
  // Numbers that fit are converted to the datatype's field.
  const pb::Payload_Metric m = wire_metric(named("double for Int16", DataType::int16, -2.0));
  ASSERT_EQ(m.value_case(), pb::Payload_Metric::kIntValue);
  EXPECT_EQ(m.int_value(), 0xFFFF'FFFEu);
}

TEST(SparkplugCodec, TextThatIsNotUtf8IsRepairedOnTheWay) {
  const pb::Payload_Metric m = wire_metric(named("A\xC3", DataType::string,
                                                 std::string("A\xFF"
                                                             "B\xED\xA0\x80")));
  EXPECT_EQ(m.name(), "A\xEF\xBF\xBD");
  EXPECT_EQ(m.string_value(),
            "A\xEF\xBF\xBD"
            "B\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

// What a host may send: integers at the datatype's width, whichever field carries them.
TEST(SparkplugCodec, DecodeReadsIntegersAtTheDatatypesWidth) {
  struct Case {
    pb::DataType type;  // Unknown: datatype absent
    bool int_field;
    std::uint64_t bits;
    MetricValue expected;
  };
  const Case cases[] = {
      {pb::Int16, true, 0xFFFF'FFFE, I{-2}},  // sign-extended to 32 bits (Sparkplug 3.0)
      {pb::Int16, true, 0x0000'FFFE, I{-2}},  // sign bit of the 16: also -2
      {pb::Int16, true, 0x0000'7FFF, I{32767}},
      {pb::Int8, true, 0xFFFF'FF80, I{-128}},
      {pb::Int32, true, 0xFFFF'FFFE, I{-2}},
      {pb::Int64, true, 0xFFFF'FFFE, I{-2}},  // a 64-bit type in int_value: from 32 bits
      {pb::UInt16, true, 0xFFFF'FFFF, U{65535}},
      {pb::UInt8, true, 0xFF, U{255}},
      {pb::UInt32, true, 0xFFFF'FFFF, U{4'294'967'295}},
      {pb::UInt64, true, 0xFFFF'FFFF, U{4'294'967'295}},
      {pb::Unknown, true, 0xFFFF'FFFE, I{4'294'967'294}},  // zero-extended
      {pb::Int64, false, 0xFFFF'FFFF'FFFF'FFFF, I{-1}},
      {pb::UInt64, false, 0xFFFF'FFFF'FFFF'FFFF, std::numeric_limits<U>::max()},
      {pb::Unknown, false, 0xFFFF'FFFF'FFFF'FFFF, I{-1}},
      {pb::Int16, false, 0xFFFF'FFFF'FFFF'FFFE, I{-2}},
      {pb::UInt16, false, 0x1'0001, U{1}},
      {pb::Double, true, 7, I{7}},  // a number for a Double: the DCMD rules convert it
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(pb::DataType_Name(c.type) + (c.int_field ? " int_value " : " long_value ") +
                 std::to_string(c.bits));
    pb::Payload_Metric m;
    m.set_name("x");
    if (c.type != pb::Unknown) m.set_datatype(c.type);
    if (c.int_field) {
      m.set_int_value(static_cast<std::uint32_t>(c.bits));
    } else {
      m.set_long_value(c.bits);
    }
    const Metric d = decoded_metric(m);
    EXPECT_EQ(d.value, c.expected);
    EXPECT_EQ(d.type, static_cast<DataType>(c.type));
  }
}

TEST(SparkplugCodec, DecodeReadsTheOtherFields) {
  pb::Payload_Metric m;
  m.set_name("Tank/Level");
  m.set_alias(9);
  m.set_timestamp(kNow - 1);
  m.set_datatype(pb::Float);
  m.set_float_value(76.1f);
  m.set_is_transient(true);  // ignored
  auto* props = m.mutable_properties();
  props->add_keys("Engineering Units");
  props->add_values()->set_string_value("m");
  props->add_keys("Quality");
  props->add_values()->set_long_value(64);
  Metric d = decoded_metric(m);
  EXPECT_EQ(d.name, "Tank/Level");
  EXPECT_EQ(d.alias, std::optional<std::uint64_t>(9));
  EXPECT_EQ(d.timestamp, kNow - 1);
  EXPECT_EQ(d.type, DataType::float32);
  EXPECT_EQ(d.value, MetricValue(76.1));  // the float32's shortest text, as points read it
  EXPECT_EQ(d.quality, std::optional<std::int32_t>(64));
  EXPECT_FALSE(d.historical);

  pb::Payload_Metric null_with_value;  // is_null wins over a value
  null_with_value.set_alias(1);
  null_with_value.set_is_null(true);
  null_with_value.set_boolean_value(true);
  d = decoded_metric(null_with_value);
  EXPECT_EQ(d.value, MetricValue());
  EXPECT_TRUE(d.name.empty());
  EXPECT_EQ(d.type, DataType::unknown);
  EXPECT_EQ(d.quality, std::nullopt);

  pb::Payload_Metric no_value;
  no_value.set_name("x");
  EXPECT_EQ(decoded_metric(no_value).value, MetricValue());
}

TEST(SparkplugCodec, DecodeIgnoresFieldsTheSchemaDoesNotKnow) {
  pb::Payload p;
  p.set_timestamp(kNow);
  p.add_metrics()->set_name("x");
  std::string bytes = p.SerializeAsString();
  bytes += std::string("\xA0\x06\x01", 3);  // field 100 (extension range), varint 1
  bytes += std::string("\x2A\x02hi", 4);    // field 5 `body`, bytes
  std::string error;
  const auto d = decode(bytes, &error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->metrics.at(0).name, "x");
}

TEST(SparkplugCodec, TruncatedInputIsRefused) {
  Payload p = with({named("Tank/Level", DataType::float64, 12.5)});
  const std::string bytes = encode(p);
  // Every cut inside the metric (after its tag and length) or inside seq is refused. A cut at a
  // field boundary is a shorter valid message: protobuf cannot tell, so those are not here.
  const pb::Payload w = wire(bytes);
  const std::size_t metric_start = bytes.find(w.metrics(0).SerializeAsString());
  ASSERT_NE(metric_start, std::string::npos);
  const std::size_t metric_end = metric_start + w.metrics(0).ByteSizeLong();
  for (std::size_t cut = metric_start; cut < metric_end; ++cut) {
    SCOPED_TRACE(cut);
    refused(std::string_view(bytes).substr(0, cut));
  }
  refused(std::string_view(bytes).substr(0, bytes.size() - 1));  // seq's tag without its value
}

TEST(SparkplugCodec, GarbageIsRefused) {
  const std::string cases[] = {
      std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 11),  // varint past 10 bytes
      std::string("\x0F", 1),          // wire type 7 does not exist
      std::string("\x00\x01", 2),      // field number 0
      std::string("\x12\x7F\x01", 3),  // metric of 127 bytes, 1 there
      std::string("\x13", 1),          // a group start never ended
      "hello, world: this is not protobuf",
      std::string("\x89\x50\x4E\x47\x0D\x0A\x1A\x0A", 8),  // a PNG header
  };
  for (const std::string& bytes : cases) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    EXPECT_NE(refused(bytes).find("malformed"), std::string::npos);
  }
}

TEST(SparkplugCodec, AFieldOfTheSchemaWithAnotherWireTypeIsRefused) {
  // metrics (2, a message) as a varint; timestamp (1, a varint) as bytes; a metric's name
  // (1, a string) as a varint, one level down; a Quality PropertyValue's type as a fixed32.
  const std::string payload_level[] = {std::string("\x08\x01\x10\x05", 4),
                                       std::string("\x0A\x01X", 3)};
  for (const std::string& bytes : payload_level) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    EXPECT_NE(refused(bytes).find("wrong wire type"), std::string::npos);
  }
  const std::string metric_name_varint("\x12\x02\x08\x01", 4);
  EXPECT_NE(refused(metric_name_varint).find("Metric.name"), std::string::npos);

  // metric { properties { keys: "Quality", values: { type as a fixed32 } } }
  pb::Payload_PropertySet set;
  set.add_keys("Quality");
  const std::string set_bytes =
      set.SerializeAsString() + delimited(2, std::string("\x0D\x03\x00\x00\x00", 5));
  const std::string bytes = delimited(2, delimited(9, set_bytes));
  EXPECT_NE(refused(bytes).find("PropertyValue.type"), std::string::npos);
}

TEST(SparkplugCodec, UnsupportedValuesAndDatatypesAreRefused) {
  struct Case {
    const char* what;
    pb::Payload_Metric metric;
    const char* says;
  };
  std::vector<Case> cases;
  pb::Payload_Metric m;
  m.set_name("blob");
  m.set_datatype(pb::Bytes);
  m.set_bytes_value("\x01\x02");
  cases.push_back({"bytes", m, "unsupported datatype Bytes (17)"});
  m.clear_datatype();
  cases.push_back({"bytes, no datatype", m, "unsupported metric value (bytes_value)"});
  m.Clear();
  m.set_name("table");
  m.mutable_dataset_value()->set_num_of_columns(0);
  cases.push_back({"dataset", m, "unsupported metric value (dataset_value)"});
  m.Clear();
  m.set_alias(3);
  m.mutable_template_value()->set_version("1");
  cases.push_back({"template", m, "metric 0: unsupported metric value (template_value)"});
  m.Clear();
  m.set_name("when");
  m.set_datatype(pb::DateTime);
  m.set_long_value(kNow);
  cases.push_back({"DateTime", m, "metric 0 'when': unsupported datatype DateTime (13)"});
  m.set_datatype(99);
  cases.push_back({"datatype 99", m, "unsupported datatype (99)"});
  m.Clear();
  m.set_name("x\xC0\xAF");  // overlong '/'
  cases.push_back({"name not UTF-8", m, "name is not valid UTF-8"});
  m.Clear();
  m.set_name("x");
  m.set_string_value("\xED\xA0\x80");  // a surrogate
  cases.push_back({"string not UTF-8", m, "'x': string_value is not valid UTF-8"});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    pb::Payload p;
    *p.add_metrics() = c.metric;
    EXPECT_NE(refused(p.SerializeAsString()).find(c.says), std::string::npos) << "want: " << c.says;
  }
}

TEST(SparkplugCodec, ALongNameIsCutInTheError) {
  pb::Payload p;
  auto* m = p.add_metrics();
  m->set_name(std::string(62, 'x') + "äöü" + std::string(100'000, 'y'));
  m->set_bytes_value("z");
  const std::string error = refused(p.SerializeAsString());
  EXPECT_EQ(error, "metric 0 '" + std::string(62, 'x') + "ä...': unsupported metric value " +
                       "(bytes_value)");
}

TEST(SparkplugCodec, EmptyInputIsAnEmptyPayload) {
  const auto d = decode("", nullptr);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, Payload{});
}

}  // namespace
}  // namespace pollux::northbound
