// Points to metrics (northbound/metric_mapping.hpp, spec/northbound.md "Datatypes" and the
// `Quality` property): the point-type table including scaled points, store values brought to
// their datatype, quality codes, and the datatypes' names.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "northbound/metric_mapping.hpp"
#include "print.hpp"

namespace pollux::northbound {
namespace {

using config::PointType;
using I = std::int64_t;
using U = std::uint64_t;

config::Point point(PointType t, double scale = 1.0, double offset = 0.0) {
  config::Point p;
  p.name = "P";
  p.type = t;
  p.scale = scale;
  p.offset = offset;
  return p;
}

TEST(SparkplugMapping, PointTypeToDatatype) {
  const std::pair<PointType, DataType> table[] = {
      {PointType::boolean, DataType::boolean}, {PointType::int16, DataType::int16},
      {PointType::uint16, DataType::uint16},   {PointType::int32, DataType::int32},
      {PointType::uint32, DataType::uint32},   {PointType::int64, DataType::int64},
      {PointType::uint64, DataType::uint64},   {PointType::float32, DataType::float32},
      {PointType::float64, DataType::float64}, {PointType::string, DataType::string},
  };
  for (const auto& [type, datatype] : table) {
    SCOPED_TRACE(config::to_string(type));
    EXPECT_EQ(datatype_for(point(type)), datatype);
  }
}

TEST(SparkplugMapping, AScaledPointIsADouble) {
  for (const PointType t :
       {PointType::int16, PointType::uint16, PointType::int32, PointType::uint32, PointType::int64,
        PointType::uint64, PointType::float32, PointType::float64}) {
    SCOPED_TRACE(config::to_string(t));
    EXPECT_EQ(datatype_for(point(t, 0.1)), DataType::float64);
    EXPECT_EQ(datatype_for(point(t, 1.0, -40.0)), DataType::float64);
    EXPECT_EQ(datatype_for(point(t, -1.0)), DataType::float64);
  }
  // Bits and text are never scaled (points/register_codec): they keep their datatype.
  EXPECT_EQ(datatype_for(point(PointType::boolean, 0.1)), DataType::boolean);
  EXPECT_EQ(datatype_for(point(PointType::string, 2.0, 1.0)), DataType::string);
  config::Point coil = point(PointType::uint16, 0.5);  // a coil's value is a bool
  coil.table = config::Table::coil;
  EXPECT_EQ(datatype_for(coil), DataType::boolean);
}

TEST(SparkplugMapping, AStatusPointsDatatypeFollowsItsValue) {
  EXPECT_EQ(status_datatype(points::Value{std::int64_t{2}}), DataType::int32);
  EXPECT_EQ(status_datatype(points::Value{std::uint64_t{2}}), DataType::int32);
  EXPECT_EQ(status_datatype(points::Value{std::string("line 2")}), DataType::string);
  EXPECT_EQ(status_datatype(points::Value{true}), DataType::boolean);
  EXPECT_EQ(status_datatype(points::Value{1.5}), DataType::float64);
}

TEST(SparkplugMapping, StoreValuesInTheirDatatypesForm) {
  struct Case {
    points::Value value;
    DataType type;
    MetricValue expected;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Case cases[] = {
      // What the point store holds for each point type comes through unchanged.
      {true, DataType::boolean, true},
      {I{-2}, DataType::int16, I{-2}},
      {U{65535}, DataType::uint16, U{65535}},
      {I{-2'000'000'000}, DataType::int32, I{-2'000'000'000}},
      {U{4'000'000'000}, DataType::uint32, U{4'000'000'000}},
      {std::numeric_limits<I>::min(), DataType::int64, std::numeric_limits<I>::min()},
      {std::numeric_limits<U>::max(), DataType::uint64, std::numeric_limits<U>::max()},
      {44.58, DataType::float32, 44.58},
      {76.1, DataType::float64, 76.1},
      {std::string("RUN"), DataType::string, std::string("RUN")},
      {std::monostate{}, DataType::int16, std::monostate{}},
      {std::monostate{}, DataType::string, std::monostate{}},
      {I{-5}, DataType::unknown, I{-5}},
      // Numbers convert among themselves when they fit.
      {U{7}, DataType::int16, I{7}},
      {I{7}, DataType::uint8, U{7}},
      {-2.5, DataType::int16, I{-3}},  // half away from zero
      {2.5, DataType::uint16, U{3}},
      {I{3}, DataType::float64, 3.0},
      {true, DataType::int32, I{1}},
      {false, DataType::float32, 0.0},
      {I{1}, DataType::boolean, true},
      {0.0, DataType::boolean, false},
      // What does not fit is null.
      {I{128}, DataType::int8, std::monostate{}},
      {I{-129}, DataType::int8, std::monostate{}},
      {I{65536}, DataType::uint16, std::monostate{}},
      {I{-1}, DataType::uint64, std::monostate{}},
      {std::numeric_limits<U>::max(), DataType::int64, std::monostate{}},
      {1e19, DataType::int64, std::monostate{}},
      {1e20, DataType::uint64, std::monostate{}},
      {-0.6, DataType::uint32, std::monostate{}},
      {nan, DataType::int32, std::monostate{}},
      {I{2}, DataType::boolean, std::monostate{}},
      {std::string("1"), DataType::boolean, std::monostate{}},
      {std::string("1.5"), DataType::float64, std::monostate{}},
      {I{1}, DataType::string, std::monostate{}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(points::to_string(c.value) + " as " + std::string(to_string(c.type)));
    const MetricValue v = metric_value(c.value, c.type);
    EXPECT_EQ(v, c.expected);
    EXPECT_EQ(v.index(), c.expected.index());
  }
  // NaN stays NaN for a real datatype.
  const MetricValue v = metric_value(nan, DataType::float64);
  ASSERT_TRUE(std::holds_alternative<double>(v));
  EXPECT_TRUE(std::isnan(std::get<double>(v)));
}

TEST(SparkplugMapping, QualityCodes) {
  EXPECT_EQ(quality_code(points::PointQuality::good), 192);
  EXPECT_EQ(quality_code(points::PointQuality::bad), 0);
  EXPECT_EQ(quality_code(points::PointQuality::uncertain), 64);
}

TEST(SparkplugMapping, DatatypeNamesAreTheSpecifications) {
  const std::pair<DataType, const char*> names[] = {
      {DataType::unknown, "Unknown"}, {DataType::int8, "Int8"},      {DataType::int16, "Int16"},
      {DataType::int32, "Int32"},     {DataType::int64, "Int64"},    {DataType::uint8, "UInt8"},
      {DataType::uint16, "UInt16"},   {DataType::uint32, "UInt32"},  {DataType::uint64, "UInt64"},
      {DataType::float32, "Float"},   {DataType::float64, "Double"}, {DataType::boolean, "Boolean"},
      {DataType::string, "String"},
  };
  for (const auto& [type, name] : names)
    EXPECT_EQ(to_string(type), name);
}

}  // namespace
}  // namespace pollux::northbound
