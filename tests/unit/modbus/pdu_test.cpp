#include "modbus/pdu.hpp"

#include <gtest/gtest.h>

#include "hex.hpp"
#include "modbus/error.hpp"

namespace pollux::modbus {
namespace {

using test::hex;
using test::to_hex;
using FC = FunctionCode;

std::string encoded(const Request& r) {
  PduBuffer b;
  auto ec = encode_request(r, b);
  if (ec) return "error: " + ec.message();
  return to_hex(b.span());
}

struct EncodeCase {
  const char* name;
  Request req;
  const char* pdu;
};

TEST(PduEncode, EveryFunctionCodeMatchesTheStandardLayout) {
  const EncodeCase cases[] = {
      {"fc1", Request::read(FC::read_coils, 0x0013, 0x0013), "01 00 13 00 13"},
      {"fc2", Request::read(FC::read_discrete_inputs, 0x00C4, 0x0016), "02 00 C4 00 16"},
      {"fc3", Request::read(FC::read_holding_registers, 0x006B, 3), "03 00 6B 00 03"},
      {"fc4", Request::read(FC::read_input_registers, 0x0008, 1), "04 00 08 00 01"},
      {"fc5 on", Request::write_coil(0x00AC, true), "05 00 AC FF 00"},
      {"fc5 off", Request::write_coil(0x00AC, false), "05 00 AC 00 00"},
      {"fc6", Request::write_register(0x0001, 0x0003), "06 00 01 00 03"},
      {"fc15", Request::write_coils(0x0013, {1, 0, 1, 1, 0, 0, 1, 1, 1, 0}),
       "0F 00 13 00 0A 02 CD 01"},
      {"fc16", Request::write_registers(0x0001, {0x000A, 0x0102}), "10 00 01 00 02 04 00 0A 01 02"},
      {"fc22", Request::mask_write(0x0004, 0x00F2, 0x0025), "16 00 04 00 F2 00 25"},
      {"fc23", Request::read_write(0x0003, 6, 0x000E, {0x00FF, 0x00FF, 0x00FF}),
       "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(encoded(c.req), c.pdu) << c.name;
}

TEST(PduEncode, ReadLimitsAreEnforced) {
  EXPECT_EQ(encoded(Request::read(FC::read_holding_registers, 0, 125)).substr(0, 2), "03");
  PduBuffer b;
  EXPECT_EQ(encode_request(Request::read(FC::read_holding_registers, 0, 126), b),
            Errc::limit_exceeded);
  EXPECT_EQ(encode_request(Request::read(FC::read_input_registers, 0, 0), b), Errc::limit_exceeded);
  EXPECT_FALSE(encode_request(Request::read(FC::read_coils, 0, 2000), b));
  EXPECT_EQ(encode_request(Request::read(FC::read_coils, 0, 2001), b), Errc::limit_exceeded);
  EXPECT_EQ(encode_request(Request::read(FC::read_discrete_inputs, 0, 0), b), Errc::limit_exceeded);
  // The range must stay inside the 65536 addresses.
  EXPECT_FALSE(encode_request(Request::read(FC::read_holding_registers, 65535, 1), b));
  EXPECT_EQ(encode_request(Request::read(FC::read_holding_registers, 65535, 2), b),
            Errc::limit_exceeded);
}

TEST(PduEncode, WriteLimitsAreEnforced) {
  PduBuffer b;
  EXPECT_FALSE(encode_request(Request::write_registers(0, std::vector<std::uint16_t>(123)), b));
  EXPECT_EQ(b.size, 6u + 2 * 123);
  EXPECT_EQ(encode_request(Request::write_registers(0, std::vector<std::uint16_t>(124)), b),
            Errc::limit_exceeded);
  EXPECT_EQ(encode_request(Request::write_registers(0, {}), b), Errc::limit_exceeded);
  EXPECT_FALSE(encode_request(Request::write_coils(0, std::vector<std::uint8_t>(1968)), b));
  EXPECT_EQ(encode_request(Request::write_coils(0, std::vector<std::uint8_t>(1969)), b),
            Errc::limit_exceeded);
  EXPECT_FALSE(encode_request(Request::read_write(0, 125, 0, std::vector<std::uint16_t>(121)), b));
  EXPECT_LE(b.size, kMaxPduSize);
  EXPECT_EQ(encode_request(Request::read_write(0, 125, 0, std::vector<std::uint16_t>(122)), b),
            Errc::limit_exceeded);
  EXPECT_EQ(encode_request(Request::read_write(0, 126, 0, {1}), b), Errc::limit_exceeded);
  Request no_value;
  no_value.function = FC::write_single_register;
  EXPECT_EQ(encode_request(no_value, b), Errc::invalid_request);
  no_value.function = FC::write_single_coil;
  EXPECT_EQ(encode_request(no_value, b), Errc::invalid_request);
  Request bad;
  bad.function = static_cast<FC>(7);
  EXPECT_EQ(encode_request(bad, b), Errc::invalid_request);
}

ResponseView decode_ok(const Request& r, const std::vector<std::uint8_t>& pdu) {
  ResponseView v;
  auto ec = decode_response(r, pdu, v);
  EXPECT_FALSE(ec) << ec.message();
  return v;
}

TEST(PduDecode, ReadRegisters) {
  auto pdu = hex("03 06 02 2B 00 00 00 64");
  auto v = decode_ok(Request::read(FC::read_holding_registers, 0x6B, 3), pdu);
  ASSERT_EQ(v.register_count(), 3u);
  EXPECT_EQ(v.register_at(0), 0x022B);
  EXPECT_EQ(v.register_at(2), 0x0064);
  auto in = hex("04 02 00 0A");
  EXPECT_EQ(decode_ok(Request::read(FC::read_input_registers, 8, 1), in).register_at(0), 10);
  auto rw = hex("17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF");
  EXPECT_EQ(decode_ok(Request::read_write(3, 6, 14, {1}), rw).register_at(5), 0x00FF);
}

TEST(PduDecode, ReadBits) {
  // Standard example: coils 20..38 → CD 6B 05.
  auto pdu = hex("01 03 CD 6B 05");
  auto v = decode_ok(Request::read(FC::read_coils, 0x13, 19), pdu);
  const int expect[] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1};
  for (int i = 0; i < 19; ++i)
    EXPECT_EQ(v.bit_at(static_cast<std::size_t>(i)), expect[i] != 0) << i;
  auto di = hex("02 03 AC DB 35");
  EXPECT_TRUE(decode_ok(Request::read(FC::read_discrete_inputs, 0xC4, 22), di).bit_at(2));
}

TEST(PduDecode, WriteEchoes) {
  auto fc5 = hex("05 00 AC FF 00");
  decode_ok(Request::write_coil(0xAC, true), fc5);
  auto fc6 = hex("06 00 01 00 03");
  decode_ok(Request::write_register(1, 3), fc6);
  auto fc15 = hex("0F 00 13 00 0A");
  decode_ok(Request::write_coils(0x13, std::vector<std::uint8_t>(10)), fc15);
  auto fc16 = hex("10 00 01 00 02");
  decode_ok(Request::write_registers(1, {1, 2}), fc16);
  auto fc22 = hex("16 00 04 00 F2 00 25");
  decode_ok(Request::mask_write(4, 0xF2, 0x25), fc22);
}

TEST(PduDecode, OutOfSpecAnswersGetAPreciseError) {
  struct Case {
    const char* name;
    Request req;
    const char* pdu;
    Errc want;
  };
  const Case cases[] = {
      {"other function", Request::read(FC::read_holding_registers, 0, 1), "04 02 00 01",
       Errc::wrong_function},
      {"byte count too small", Request::read(FC::read_holding_registers, 0, 2), "03 02 00 01",
       Errc::wrong_length},
      {"byte count lies", Request::read(FC::read_holding_registers, 0, 1), "03 02 00",
       Errc::wrong_length},
      {"trailing byte", Request::read(FC::read_holding_registers, 0, 1), "03 02 00 01 00",
       Errc::wrong_length},
      {"bits byte count", Request::read(FC::read_coils, 0, 9), "01 01 FF", Errc::wrong_length},
      {"empty", Request::read(FC::read_coils, 0, 9), "", Errc::wrong_length},
      {"header only", Request::read(FC::read_coils, 0, 9), "01", Errc::wrong_length},
      {"fc5 value", Request::write_coil(1, true), "05 00 01 00 00", Errc::wrong_echo},
      {"fc6 address", Request::write_register(1, 7), "06 00 02 00 07", Errc::wrong_echo},
      {"fc16 quantity", Request::write_registers(1, {1, 2}), "10 00 01 00 03", Errc::wrong_echo},
      {"fc16 short", Request::write_registers(1, {1, 2}), "10 00 01 00", Errc::wrong_length},
      {"fc15 quantity", Request::write_coils(1, {1, 1}), "0F 00 01 00 01", Errc::wrong_echo},
      {"fc22 mask", Request::mask_write(4, 1, 2), "16 00 04 00 01 00 03", Errc::wrong_echo},
      {"fc22 short", Request::mask_write(4, 1, 2), "16 00 04 00 01", Errc::wrong_length},
      {"exception too long", Request::read(FC::read_coils, 0, 1), "81 02 00", Errc::wrong_length},
      {"other exception", Request::read(FC::read_coils, 0, 1), "82 02", Errc::wrong_function},
      {"exception code 0", Request::read(FC::read_coils, 0, 1), "81 00", Errc::framing_error},
  };
  for (const auto& c : cases) {
    ResponseView v;
    EXPECT_EQ(decode_response(c.req, hex(c.pdu), v), c.want) << c.name;
  }
}

TEST(PduDecode, ExceptionAnswersMapToTheExceptionCategory) {
  for (int code = 1; code <= 11; ++code) {
    std::vector<std::uint8_t> pdu = {0x83, static_cast<std::uint8_t>(code)};
    ResponseView v;
    auto ec = decode_response(Request::read(FC::read_holding_registers, 0, 1), pdu, v);
    EXPECT_EQ(ec.category(), exception_category());
    EXPECT_EQ(ec.value(), code);
    EXPECT_EQ(v.exception, code);
  }
}

TEST(PduServerSide, DecodeRequestRoundTripsEveryFunction) {
  const Request reqs[] = {
      Request::read(FC::read_coils, 1, 2000),
      Request::read(FC::read_discrete_inputs, 9, 17),
      Request::read(FC::read_holding_registers, 100, 125),
      Request::read(FC::read_input_registers, 65535, 1),
      Request::write_coil(3, true),
      Request::write_register(4, 0xBEEF),
      Request::write_coils(5, {1, 0, 0, 1, 1, 0, 1, 0, 1}),
      Request::write_registers(6, {1, 2, 3}),
      Request::mask_write(7, 0xF0F0, 0x0F0F),
      Request::read_write(8, 3, 9, {0xAAAA, 0x5555}),
  };
  for (const auto& r : reqs) {
    PduBuffer b;
    ASSERT_FALSE(encode_request(r, b));
    EXPECT_EQ(predict_request_size(b.span()), static_cast<int>(b.size));
    Request back;
    ASSERT_FALSE(decode_request(b.span(), back)) << to_string(r.function);
    EXPECT_EQ(back, r) << to_string(r.function);
  }
}

TEST(PduServerSide, EncodeResponseIsDecodedByTheClientSide) {
  const Request read = Request::read(FC::read_coils, 0, 10);
  const std::uint16_t bits[] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
  PduBuffer b;
  ASSERT_FALSE(encode_response(read, bits, b));
  EXPECT_EQ(to_hex(b.span()), "01 02 CD 01");
  EXPECT_EQ(predict_response_size(b.span()), static_cast<int>(b.size));
  ResponseView v;
  ASSERT_FALSE(decode_response(read, b.span(), v));
  EXPECT_TRUE(v.bit_at(8));
  EXPECT_FALSE(v.bit_at(9));
  const Request w = Request::write_registers(6, {1, 2, 3});
  ASSERT_FALSE(encode_response(w, {}, b));
  EXPECT_EQ(to_hex(b.span()), "10 00 06 00 03");
  encode_exception(FC::read_input_registers, 2, b);
  EXPECT_EQ(to_hex(b.span()), "84 02");
  EXPECT_EQ(predict_response_size(b.span()), 2);
  EXPECT_EQ(encode_response(Request::read(FC::read_holding_registers, 0, 2), bits, b),
            Errc::invalid_request);
}

TEST(PduPredict, NeedsMoreThenKnowsTheSize) {
  EXPECT_EQ(predict_response_size({}), 0);
  auto head = hex("03");
  EXPECT_EQ(predict_response_size(head), 0);
  auto full = hex("03 14");
  EXPECT_EQ(predict_response_size(full), 22);
  auto unknown = hex("07");
  EXPECT_EQ(predict_response_size(unknown), -1);
  auto bad_exc = hex("87");
  EXPECT_EQ(predict_response_size(bad_exc), -1);
  auto req16 = hex("10 00 01 00 02");
  EXPECT_EQ(predict_request_size(req16), 0);
}

}  // namespace
}  // namespace pollux::modbus
