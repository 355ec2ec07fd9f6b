#include "modbus/error.hpp"

#include <gtest/gtest.h>

namespace pollux::modbus {
namespace {

TEST(ModbusErrors, EveryErrcHasItsOwnMessageInTheModbusCategory) {
  for (int e = static_cast<int>(Errc::timeout); e <= static_cast<int>(Errc::answer_cut_short);
       ++e) {
    std::error_code ec = static_cast<Errc>(e);
    EXPECT_EQ(ec.category().name(), std::string("modbus"));
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(ec.message().find("unknown"), std::string::npos) << e;
  }
  EXPECT_NE(std::error_code(Errc::crc_error).message(), std::error_code(Errc::lrc_error).message());
}

TEST(ModbusErrors, ExceptionCodesHaveStandardNames) {
  const std::pair<int, const char*> names[] = {
      {1, "illegal function"},
      {2, "illegal data address"},
      {3, "illegal data value"},
      {4, "server device failure"},
      {5, "acknowledge"},
      {6, "server device busy"},
      {7, "negative acknowledge"},
      {8, "memory parity error"},
      {10, "gateway path unavailable"},
      {11, "gateway target device failed to respond"},
  };
  for (auto [code, name] : names) {
    std::error_code ec = exception_error(static_cast<std::uint8_t>(code));
    EXPECT_EQ(ec.category(), exception_category());
    EXPECT_NE(ec.message().find(name), std::string::npos) << ec.message();
    EXPECT_EQ(ec, std::error_code(static_cast<ExceptionCode>(code)));
  }
  EXPECT_NE(exception_error(9).message().find("unknown exception code"), std::string::npos);
  EXPECT_NE(exception_error(0x42).message().find("66"), std::string::npos);
}

TEST(ModbusErrors, ClassifyMapsEachFailureToExactlyOneApiCounter) {
  EXPECT_EQ(classify(Errc::timeout), FailureKind::timeout);
  EXPECT_EQ(classify(std::make_error_code(std::errc::timed_out)), FailureKind::timeout);
  EXPECT_EQ(classify(Errc::crc_error), FailureKind::crc);
  EXPECT_EQ(classify(Errc::lrc_error), FailureKind::crc);
  for (Errc e : {Errc::framing_error, Errc::wrong_unit, Errc::wrong_function, Errc::wrong_length,
                 Errc::wrong_echo, Errc::wrong_transaction, Errc::too_long, Errc::connection_reset,
                 Errc::answer_cut_short}) {
    EXPECT_EQ(classify(e), FailureKind::framing) << std::error_code(e).message();
  }
  EXPECT_EQ(classify(std::make_error_code(std::errc::connection_reset)), FailureKind::framing);
  EXPECT_EQ(classify(ExceptionCode::illegal_data_address), FailureKind::exception);
  EXPECT_EQ(classify(exception_error(0x42)), FailureKind::exception);
}

}  // namespace
}  // namespace pollux::modbus
