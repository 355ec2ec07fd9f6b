#include "modbus/crc.hpp"

#include <gtest/gtest.h>

#include <random>

#include "hex.hpp"

namespace pollux::modbus {
namespace {

using test::bytes_of;
using test::hex;

TEST(Crc16, CheckValueOfTheCatalogue) {
  // CRC-16/MODBUS check value over "123456789".
  EXPECT_EQ(crc16(bytes_of("123456789")), 0x4B37);
}

TEST(Crc16, ModbusSpecificationExamples) {
  // Modbus over serial line: 11 03 00 6B 00 03 → CRC 0x8776, sent 76 87.
  EXPECT_EQ(crc16(hex("11 03 00 6B 00 03")), 0x8776);
  EXPECT_EQ(crc16(hex("01 03 00 00 00 0A")), 0xCDC5);
}

TEST(Crc16, EmptyInputIsTheInitialValue) {
  EXPECT_EQ(crc16({}), 0xFFFF);
}

TEST(Crc16, TableMatchesBitwiseOnRandomData) {
  std::mt19937 rng(42);
  for (int n = 0; n < 300; ++n) {
    std::vector<std::uint8_t> data(static_cast<std::size_t>(n));
    for (auto& b : data)
      b = static_cast<std::uint8_t>(rng());
    ASSERT_EQ(crc16(data), crc16_bitwise(data)) << n;
  }
}

TEST(Crc16, FrameWithItsCrcAppendedChecksToZero) {
  auto frame = hex("11 03 00 6B 00 03 76 87");
  EXPECT_EQ(crc16(frame), 0x0000);
}

TEST(Lrc, ModbusSpecificationExample) {
  // ":1103006B00037E" — LRC of 11 03 00 6B 00 03 is 0x7E.
  EXPECT_EQ(lrc(hex("11 03 00 6B 00 03")), 0x7E);
  EXPECT_EQ(lrc({}), 0x00);
  EXPECT_EQ(lrc(hex("FF 01")), 0x00);
}

}  // namespace
}  // namespace pollux::modbus
