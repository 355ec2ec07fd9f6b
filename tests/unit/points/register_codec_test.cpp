#include "points/register_codec.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace pollux::points {
namespace {

using config::Order;
using config::PointType;
using config::Table;

config::Point point(PointType t, Order word = Order::big, Order byte = Order::big,
                    double scale = 1.0, double offset = 0.0, int length = 0) {
  config::Point p;
  p.name = "P";
  p.table = Table::holding;
  p.type = t;
  p.word_order = word;
  p.byte_order = byte;
  p.scale = scale;
  p.offset = offset;
  p.length = length;
  return p;
}

struct Golden {
  PointType type;
  Order word;
  Order byte;
  std::vector<std::uint16_t> regs;  // in address order, as on the wire
  Value value;
};

// Every numeric type × word order × byte order. The register images were computed outside the
// codec (Python struct, big-endian packing, then word reversal / byte swap per register).
const Golden kGolden[] = {
    {PointType::int16, Order::big, Order::big, {0xFFFE}, Value{std::int64_t{-2}}},
    {PointType::int16, Order::big, Order::little, {0xFEFF}, Value{std::int64_t{-2}}},
    {PointType::int16, Order::little, Order::big, {0xFFFE}, Value{std::int64_t{-2}}},
    {PointType::int16, Order::little, Order::little, {0xFEFF}, Value{std::int64_t{-2}}},
    {PointType::uint16, Order::big, Order::big, {0x1234}, Value{std::uint64_t{0x1234}}},
    {PointType::uint16, Order::big, Order::little, {0x3412}, Value{std::uint64_t{0x1234}}},
    {PointType::uint16, Order::little, Order::big, {0x1234}, Value{std::uint64_t{0x1234}}},
    {PointType::uint16, Order::little, Order::little, {0x3412}, Value{std::uint64_t{0x1234}}},
    {PointType::int32, Order::big, Order::big, {0xF8A4, 0x32EB}, Value{std::int64_t{-123456789}}},
    {PointType::int32,
     Order::big,
     Order::little,
     {0xA4F8, 0xEB32},
     Value{std::int64_t{-123456789}}},
    {PointType::int32,
     Order::little,
     Order::big,
     {0x32EB, 0xF8A4},
     Value{std::int64_t{-123456789}}},
    {PointType::int32,
     Order::little,
     Order::little,
     {0xEB32, 0xA4F8},
     Value{std::int64_t{-123456789}}},
    {PointType::uint32, Order::big, Order::big, {0x1234, 0x5678}, Value{std::uint64_t{0x12345678}}},
    {PointType::uint32,
     Order::big,
     Order::little,
     {0x3412, 0x7856},
     Value{std::uint64_t{0x12345678}}},
    {PointType::uint32,
     Order::little,
     Order::big,
     {0x5678, 0x1234},
     Value{std::uint64_t{0x12345678}}},
    {PointType::uint32,
     Order::little,
     Order::little,
     {0x7856, 0x3412},
     Value{std::uint64_t{0x12345678}}},
    {PointType::float32, Order::big, Order::big, {0x42F6, 0xE979}, Value{123.456}},
    {PointType::float32, Order::big, Order::little, {0xF642, 0x79E9}, Value{123.456}},
    {PointType::float32, Order::little, Order::big, {0xE979, 0x42F6}, Value{123.456}},
    {PointType::float32, Order::little, Order::little, {0x79E9, 0xF642}, Value{123.456}},
    {PointType::int64,
     Order::big,
     Order::big,
     {0xEEDD, 0xEF0B, 0x8216, 0x7EEB},
     Value{std::int64_t{-1234567890123456789}}},
    {PointType::int64,
     Order::big,
     Order::little,
     {0xDDEE, 0x0BEF, 0x1682, 0xEB7E},
     Value{std::int64_t{-1234567890123456789}}},
    {PointType::int64,
     Order::little,
     Order::big,
     {0x7EEB, 0x8216, 0xEF0B, 0xEEDD},
     Value{std::int64_t{-1234567890123456789}}},
    {PointType::int64,
     Order::little,
     Order::little,
     {0xEB7E, 0x1682, 0x0BEF, 0xDDEE},
     Value{std::int64_t{-1234567890123456789}}},
    {PointType::uint64,
     Order::big,
     Order::big,
     {0x0123, 0x4567, 0x89AB, 0xCDEF},
     Value{std::uint64_t{0x0123456789ABCDEF}}},
    {PointType::uint64,
     Order::big,
     Order::little,
     {0x2301, 0x6745, 0xAB89, 0xEFCD},
     Value{std::uint64_t{0x0123456789ABCDEF}}},
    {PointType::uint64,
     Order::little,
     Order::big,
     {0xCDEF, 0x89AB, 0x4567, 0x0123},
     Value{std::uint64_t{0x0123456789ABCDEF}}},
    {PointType::uint64,
     Order::little,
     Order::little,
     {0xEFCD, 0xAB89, 0x6745, 0x2301},
     Value{std::uint64_t{0x0123456789ABCDEF}}},
    {PointType::float64,
     Order::big,
     Order::big,
     {0x4093, 0x4A45, 0x6D5C, 0xFAAD},
     Value{double{1234.5678}}},
    {PointType::float64,
     Order::big,
     Order::little,
     {0x9340, 0x454A, 0x5C6D, 0xADFA},
     Value{double{1234.5678}}},
    {PointType::float64,
     Order::little,
     Order::big,
     {0xFAAD, 0x6D5C, 0x4A45, 0x4093},
     Value{double{1234.5678}}},
    {PointType::float64,
     Order::little,
     Order::little,
     {0xADFA, 0x5C6D, 0x454A, 0x9340},
     Value{double{1234.5678}}},
};

std::string describe(const Golden& g) {
  return std::string(config::to_string(g.type)) +
         " word=" + std::string(config::to_string(g.word)) +
         " byte=" + std::string(config::to_string(g.byte));
}

TEST(RegisterCodecGolden, DecodeEveryTypeAndOrder) {
  for (const auto& g : kGolden) {
    const auto p = point(g.type, g.word, g.byte);
    ASSERT_EQ(point_width(p), static_cast<int>(g.regs.size())) << describe(g);
    EXPECT_EQ(decode_registers(p, g.regs), g.value) << describe(g);
  }
}

TEST(RegisterCodecGolden, EncodeEveryTypeAndOrder) {
  for (const auto& g : kGolden) {
    const auto p = point(g.type, g.word, g.byte);
    std::vector<std::uint16_t> out(g.regs.size());
    ASSERT_FALSE(encode_registers(p, g.value, out)) << describe(g);
    EXPECT_EQ(out, g.regs) << describe(g);
  }
}

TEST(RegisterCodecGolden, StringsInBothByteOrders) {
  // "HELLO" in 3 registers: high byte first, NUL padded.
  const std::vector<std::uint16_t> big = {0x4845, 0x4C4C, 0x4F00};
  const std::vector<std::uint16_t> little = {0x4548, 0x4C4C, 0x004F};
  for (Order word : {Order::big, Order::little}) {  // word order does not apply to strings
    auto pb = point(PointType::string, word, Order::big, 1, 0, 3);
    auto pl = point(PointType::string, word, Order::little, 1, 0, 3);
    EXPECT_EQ(decode_registers(pb, big), Value{std::string("HELLO")});
    EXPECT_EQ(decode_registers(pl, little), Value{std::string("HELLO")});
    std::vector<std::uint16_t> out(3);
    ASSERT_FALSE(encode_registers(pb, Value{std::string("HELLO")}, out));
    EXPECT_EQ(out, big);
    ASSERT_FALSE(encode_registers(pl, Value{std::string("HELLO")}, out));
    EXPECT_EQ(out, little);
  }
}

TEST(RegisterCodec, StringTrimsTrailingNulsAndSpacesOnly) {
  auto p = point(PointType::string, Order::big, Order::big, 1, 0, 4);
  const std::vector<std::uint16_t> regs = {0x2041, 0x2042, 0x2000, 0x0000};  // " A B " + NULs
  EXPECT_EQ(decode_registers(p, regs), Value{std::string(" A B")});
  std::vector<std::uint16_t> out(4);
  EXPECT_EQ(encode_registers(p, Value{std::string("123456789")}, out),
            std::errc::result_out_of_range);
  EXPECT_EQ(encode_registers(p, Value{std::int64_t{1}}, out), std::errc::invalid_argument);
  ASSERT_FALSE(encode_registers(p, Value{std::string("12345678")}, out));
  EXPECT_EQ(out[3], 0x3738);
}

TEST(RegisterCodec, BoolOnARegisterAndOnBits) {
  auto p = point(PointType::boolean);
  EXPECT_EQ(decode_registers(p, std::vector<std::uint16_t>{0}), Value{false});
  EXPECT_EQ(decode_registers(p, std::vector<std::uint16_t>{0x0100}), Value{true});
  std::vector<std::uint16_t> out(1);
  ASSERT_FALSE(encode_registers(p, Value{true}, out));
  EXPECT_EQ(out[0], 1);
  auto coil = point(PointType::boolean);
  coil.table = Table::coil;
  EXPECT_EQ(point_width(coil), 1);
  EXPECT_EQ(decode_bit(coil, true), Value{true});
  bool b = false;
  ASSERT_FALSE(encode_bit(coil, Value{true}, b));
  EXPECT_TRUE(b);
  ASSERT_FALSE(encode_bit(coil, Value{std::int64_t{0}}, b));
  EXPECT_FALSE(b);
  ASSERT_FALSE(encode_bit(coil, Value{1.0}, b));
  EXPECT_TRUE(b);
  EXPECT_EQ(encode_bit(coil, Value{std::int64_t{2}}, b), std::errc::result_out_of_range);
  EXPECT_EQ(encode_bit(coil, Value{std::string("on")}, b), std::errc::invalid_argument);
  EXPECT_EQ(encode_bit(coil, Value{}, b), std::errc::invalid_argument);
}

TEST(RegisterCodec, ScaledPointsDecodeToDouble) {
  EXPECT_EQ(decode_registers(point(PointType::uint16, Order::big, Order::big, 0.5),
                             std::vector<std::uint16_t>{1235}),
            Value{617.5});
  EXPECT_EQ(decode_registers(point(PointType::int16, Order::big, Order::big, 2, 1),
                             std::vector<std::uint16_t>{0xFFFB}),
            Value{-9.0});
  // Offset alone makes a point scaled too.
  EXPECT_EQ(decode_registers(point(PointType::uint32, Order::big, Order::big, 1, -10),
                             std::vector<std::uint16_t>{0, 15}),
            Value{5.0});
  EXPECT_EQ(decode_registers(point(PointType::float32, Order::big, Order::big, 10, 1),
                             std::vector<std::uint16_t>{0xBE20, 0x0000}),
            Value{-0.5625});
  // Unscaled integers stay integers.
  EXPECT_TRUE(std::holds_alternative<std::uint64_t>(
      decode_registers(point(PointType::uint16), std::vector<std::uint16_t>{7})));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(
      decode_registers(point(PointType::int32), std::vector<std::uint16_t>{0, 7})));
}

TEST(RegisterCodec, WritesRoundHalfAwayFromZero) {
  std::vector<std::uint16_t> out(1);
  auto half = point(PointType::int16, Order::big, Order::big, 0.5);
  ASSERT_FALSE(encode_registers(half, Value{1.25}, out));  // 2.5 → 3
  EXPECT_EQ(out[0], 3);
  ASSERT_FALSE(encode_registers(half, Value{-1.25}, out));  // -2.5 → -3
  EXPECT_EQ(out[0], 0xFFFD);
  ASSERT_FALSE(encode_registers(half, Value{1.2}, out));  // 2.4 → 2
  EXPECT_EQ(out[0], 2);
  auto off = point(PointType::uint16, Order::big, Order::big, 0.1, 100);
  ASSERT_FALSE(encode_registers(off, Value{std::int64_t{112}}, out));  // (112 − 100) / 0.1
  EXPECT_EQ(out[0], 120);
  // Decimal inputs that are not exact in binary still round their half away from zero.
  auto tenth = point(PointType::int16, Order::big, Order::big, 0.1);
  ASSERT_FALSE(encode_registers(tenth, Value{12.35}, out));  // 123.49999999999999 in binary
  EXPECT_EQ(out[0], 124);
  ASSERT_FALSE(encode_registers(tenth, Value{-12.35}, out));
  EXPECT_EQ(out[0], static_cast<std::uint16_t>(-124));
  ASSERT_FALSE(encode_registers(tenth, Value{12.34}, out));
  EXPECT_EQ(out[0], 123);
  auto unscaled = point(PointType::uint16);
  ASSERT_FALSE(encode_registers(unscaled, Value{2.5}, out));
  EXPECT_EQ(out[0], 3);
}

TEST(RegisterCodec, OutOfRangeWritesAreRefused) {
  std::vector<std::uint16_t> one(1), two(2), four(4);
  const auto oor = std::errc::result_out_of_range;
  EXPECT_EQ(encode_registers(point(PointType::uint16), Value{std::int64_t{65536}}, one), oor);
  EXPECT_EQ(encode_registers(point(PointType::uint16), Value{std::int64_t{-1}}, one), oor);
  EXPECT_EQ(encode_registers(point(PointType::int16), Value{std::int64_t{-32769}}, one), oor);
  EXPECT_EQ(encode_registers(point(PointType::int16), Value{std::uint64_t{32768}}, one), oor);
  EXPECT_EQ(encode_registers(point(PointType::int16), Value{32767.5}, one), oor);
  EXPECT_FALSE(encode_registers(point(PointType::int16), Value{-32768.4}, one));
  EXPECT_EQ(
      encode_registers(point(PointType::uint16, Order::big, Order::big, 0.5), Value{32768.0}, one),
      oor);
  EXPECT_EQ(encode_registers(point(PointType::uint32), Value{4294967296.0}, two), oor);
  EXPECT_EQ(
      encode_registers(point(PointType::int64), Value{std::uint64_t{9223372036854775808ULL}}, four),
      oor);
  EXPECT_EQ(encode_registers(point(PointType::int64), Value{9.3e18}, four), oor);
  EXPECT_EQ(encode_registers(point(PointType::uint64), Value{std::int64_t{-1}}, four), oor);
  EXPECT_EQ(encode_registers(point(PointType::uint64), Value{1.9e19}, four), oor);
  EXPECT_EQ(encode_registers(point(PointType::float32), Value{1e39}, two), oor);
  EXPECT_EQ(encode_registers(point(PointType::int32), Value{std::nan("")}, two),
            std::errc::invalid_argument);
  EXPECT_EQ(encode_registers(point(PointType::int32), Value{}, two), std::errc::invalid_argument);
  EXPECT_EQ(encode_registers(point(PointType::int32), Value{std::int64_t{1}}, one),
            std::errc::invalid_argument);  // wrong register count
}

TEST(RegisterCodec, SixtyFourBitExtremesAreExact) {
  std::vector<std::uint16_t> four(4);
  ASSERT_FALSE(encode_registers(point(PointType::int64),
                                Value{std::numeric_limits<std::int64_t>::max()}, four));
  EXPECT_EQ(four, (std::vector<std::uint16_t>{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}));
  EXPECT_EQ(decode_registers(point(PointType::int64), four),
            Value{std::numeric_limits<std::int64_t>::max()});
  ASSERT_FALSE(encode_registers(point(PointType::int64),
                                Value{std::numeric_limits<std::int64_t>::min()}, four));
  EXPECT_EQ(decode_registers(point(PointType::int64), four),
            Value{std::numeric_limits<std::int64_t>::min()});
  ASSERT_FALSE(encode_registers(point(PointType::uint64),
                                Value{std::numeric_limits<std::uint64_t>::max()}, four));
  EXPECT_EQ(decode_registers(point(PointType::uint64), four),
            Value{std::numeric_limits<std::uint64_t>::max()});
}

TEST(RegisterCodec, NaNFloatsPassThrough) {
  std::vector<std::uint16_t> two = {0x7FC0, 0x0000};
  auto v = decode_registers(point(PointType::float32), two);
  ASSERT_TRUE(std::holds_alternative<double>(v));
  EXPECT_TRUE(std::isnan(std::get<double>(v)));
}

// A float32 reads as the double of its shortest decimal text, which reads back as the same
// float32: what the RTU holds is 44.58, not 44.58273696899414 (fidelity issue item 5).
TEST(RegisterCodec, Float32ReadsAsItsShortestDecimal) {
  for (const float f : {44.58f, 0.1f, -3.3f, 1e-7f, 123456.79f, 3.4028235e38f, 1.17549435e-38f}) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    const std::vector<std::uint16_t> regs = {static_cast<std::uint16_t>(bits >> 16),
                                             static_cast<std::uint16_t>(bits & 0xFFFF)};
    const auto v = decode_registers(point(PointType::float32), regs);
    ASSERT_TRUE(std::holds_alternative<double>(v));
    const double d = std::get<double>(v);
    EXPECT_EQ(static_cast<float>(d), f) << d;  // the same float32
    char buf[32];
    EXPECT_EQ(std::string(buf, std::to_chars(buf, buf + sizeof buf, d).ptr),
              std::string(buf, std::to_chars(buf, buf + sizeof buf, f).ptr));
  }
  EXPECT_EQ(std::get<double>(decode_registers(point(PointType::float32),
                                              std::vector<std::uint16_t>{0x4232, 0x51EC})),
            44.58);
}

// raw × scale + offset carries no binary noise: 761 × 0.1 reads 76.1, not 76.10000000000001.
TEST(RegisterCodec, ScaledValuesHaveNoBinaryNoise) {
  auto tenth = point(PointType::uint16, Order::big, Order::big, 0.1);
  EXPECT_EQ(std::get<double>(decode_registers(tenth, std::vector<std::uint16_t>{761})), 76.1);
  EXPECT_EQ(std::get<double>(decode_registers(tenth, std::vector<std::uint16_t>{3})), 0.3);
  auto off = point(PointType::int16, Order::big, Order::big, 0.01, -0.1);
  EXPECT_EQ(std::get<double>(decode_registers(off, std::vector<std::uint16_t>{707})), 6.97);
  // A float32 scaled starts from its shortest decimal too: 44.58 × 0.1.
  auto f = point(PointType::float32, Order::big, Order::big, 0.1);
  EXPECT_EQ(std::get<double>(decode_registers(f, std::vector<std::uint16_t>{0x4232, 0x51EC})),
            4.458);
  // Exact results and large raw values are untouched.
  auto half = point(PointType::uint32, Order::big, Order::big, 0.5);
  EXPECT_EQ(std::get<double>(decode_registers(half, std::vector<std::uint16_t>{0xFFFF, 0xFFFF})),
            2147483647.5);
  // Decimal scales and offsets give the decimal itself; any other scale is rounded through text.
  auto kelvin = point(PointType::uint16, Order::big, Order::big, 0.01, -273.15);
  EXPECT_EQ(std::get<double>(decode_registers(kelvin, std::vector<std::uint16_t>{30000})), 26.85);
  auto twentieth = point(PointType::int16, Order::big, Order::big, 0.05);
  EXPECT_EQ(std::get<double>(decode_registers(twentieth, std::vector<std::uint16_t>{0xFFF9})),
            -0.35);
  auto third = point(PointType::uint16, Order::big, Order::big, 1.0 / 3);
  EXPECT_EQ(std::get<double>(decode_registers(third, std::vector<std::uint16_t>{3})), 1.0);
  // A 64-bit reading may carry more than 15 digits: scaled as it is, none dropped.
  auto wide = point(PointType::uint64, Order::big, Order::big, 0.5);
  EXPECT_EQ(std::get<double>(
                decode_registers(wide, std::vector<std::uint16_t>{0x0010, 0x0000, 0x0000, 0x0001})),
            static_cast<double>(0x0010000000000001ULL) * 0.5);
}

}  // namespace
}  // namespace pollux::points
