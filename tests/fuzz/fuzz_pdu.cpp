// libFuzzer target: PDU response decoding (and request parsing) on arbitrary bytes.
//
// Input layout: [function][address hi][address lo][quantity hi][quantity lo][value] then the
// response PDU. Invariants beyond "no crash, no UB": an accepted read answer holds exactly the
// requested quantity; an accepted request parses back identically after re-encoding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "modbus/error.hpp"
#include "modbus/pdu.hpp"

// Aborts with the failed invariant named, so a crash report says which rule broke.
#define POLLUX_FUZZ_CHECK(cond)                                                  \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pollux::modbus;
  if (size < 6) return 0;
  Request req;
  req.function = static_cast<FunctionCode>(data[0]);
  req.address = static_cast<std::uint16_t>(data[1] << 8 | data[2]);
  req.quantity = static_cast<std::uint16_t>(data[3] << 8 | data[4]);
  req.values.assign(data[5] % 4, static_cast<std::uint16_t>(data[5]));
  req.coils.assign(data[5] % 3, data[5] & 1);
  const std::span<const std::uint8_t> pdu(data + 6, size - 6);

  ResponseView v;
  const std::error_code ec = decode_response(req, pdu, v);
  if (!ec) {
    if (req.function == FunctionCode::read_holding_registers ||
        req.function == FunctionCode::read_input_registers ||
        req.function == FunctionCode::read_write_multiple_registers) {
      POLLUX_FUZZ_CHECK(v.register_count() == req.quantity);
    }
    volatile unsigned sink = 0;
    for (std::size_t i = 0; i < v.register_count(); ++i)
      sink = sink + v.register_at(i);
    if (is_bit_read(req.function)) {
      for (std::size_t i = 0; i < req.quantity; ++i)
        sink = sink + v.bit_at(i);
    }
  } else if (ec.category() == exception_category()) {
    POLLUX_FUZZ_CHECK(v.exception == pdu[1]);
  }
  PduBuffer buf;
  (void)encode_request(req, buf);
  POLLUX_FUZZ_CHECK(buf.size <= kMaxPduSize);

  Request parsed;
  if (!decode_request(pdu, parsed)) {
    POLLUX_FUZZ_CHECK(!encode_request(parsed, buf));
    Request again;
    POLLUX_FUZZ_CHECK(!decode_request(buf.span(), again));
    POLLUX_FUZZ_CHECK(again == parsed);
    const int predicted = predict_request_size(buf.span());
    POLLUX_FUZZ_CHECK(predicted == static_cast<int>(buf.size));
  }
  (void)predict_response_size(pdu);
  return 0;
}
