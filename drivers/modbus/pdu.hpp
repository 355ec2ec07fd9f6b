// The Modbus PDU (function code + data) for function codes 1-6, 15, 16, 22 and 23: request
// encoding with the standard's limits enforced, response decoding checked against the request,
// and length prediction for the stream framers.
//
// Serves the codec issue's PDU layer: "enforce the standard limits at encode time, reject
// out-of-spec responses with a precise error". Decoding never allocates: a ResponseView points
// into the caller's bytes. The server-side half (decode_request, encode_response) exists for the
// simulator and the libmodbus cross-check.
//
// Usage:
//   modbus::Request req = modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0,
//   10); modbus::PduBuffer pdu; if (auto ec = modbus::encode_request(req, pdu)) { /*
//   limit_exceeded, invalid_request */ }
//   ... framer.encode(unit, pdu.span(), adu) ... send ... receive frame.pdu ...
//   modbus::ResponseView resp;
//   std::error_code ec = modbus::decode_response(req, frame.pdu, resp);
//   if (!ec) for (std::size_t i = 0; i < resp.register_count(); ++i) use(resp.register_at(i));
//   else if (ec.category() == modbus::exception_category()) { /* device said no: resp.exception */
//   }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace pollux::modbus {

enum class FunctionCode : std::uint8_t {
  read_coils = 1,
  read_discrete_inputs = 2,
  read_holding_registers = 3,
  read_input_registers = 4,
  write_single_coil = 5,
  write_single_register = 6,
  write_multiple_coils = 15,
  write_multiple_registers = 16,
  mask_write_register = 22,
  read_write_multiple_registers = 23,
};
std::string_view to_string(FunctionCode f);
bool is_supported_function(std::uint8_t code);
bool is_bit_read(FunctionCode f);  // 1, 2

// The standard's limits (Modbus Application Protocol V1.1b3, section 6).
inline constexpr std::size_t kMaxPduSize = 253;
inline constexpr int kMaxReadRegisters = 125;
inline constexpr int kMaxReadBits = 2000;
inline constexpr int kMaxWriteRegisters = 123;
inline constexpr int kMaxWriteCoils = 1968;
inline constexpr int kMaxReadWriteWriteRegisters = 121;  // FC23's write part

// One request as plain data. Reads take `quantity`; writes take their count from `values`
// (FC6: values[0]; FC16; FC23's write part) or `coils` (FC5: coils[0]; FC15), one entry per
// coil, non-zero meaning ON.
struct Request {
  FunctionCode function = FunctionCode::read_holding_registers;
  std::uint16_t address = 0;   // first address; FC23: the read address
  std::uint16_t quantity = 0;  // reads (1-4, 23): registers or bits to read
  std::vector<std::uint16_t> values;
  std::vector<std::uint8_t> coils;
  std::uint16_t write_address = 0;  // FC23
  std::uint16_t and_mask = 0xFFFF;  // FC22
  std::uint16_t or_mask = 0x0000;   // FC22

  static Request read(FunctionCode f, std::uint16_t address, std::uint16_t quantity);
  static Request write_coil(std::uint16_t address, bool on);
  static Request write_register(std::uint16_t address, std::uint16_t value);
  static Request write_coils(std::uint16_t address, std::vector<std::uint8_t> coils);
  static Request write_registers(std::uint16_t address, std::vector<std::uint16_t> values);
  static Request mask_write(std::uint16_t address, std::uint16_t and_mask, std::uint16_t or_mask);
  static Request read_write(std::uint16_t read_address, std::uint16_t read_quantity,
                            std::uint16_t write_address, std::vector<std::uint16_t> values);

  // Whether a broadcast (unit 0) of this request is allowed: writes only.
  bool is_write() const;
  friend bool operator==(const Request&, const Request&) = default;
};

// A reusable PDU buffer; encoders fill it, never allocating.
struct PduBuffer {
  std::array<std::uint8_t, kMaxPduSize> bytes{};
  std::size_t size = 0;
  std::span<const std::uint8_t> span() const { return {bytes.data(), size}; }
};

// Checks the standard limits: limit_exceeded for a quantity out of range or an address range
// past 65535, invalid_request for a missing value (FC5/6 without a value).
std::error_code validate(const Request& req);
std::error_code encode_request(const Request& req, PduBuffer& out);

// A decoded response; spans point into the bytes given to decode_response.
struct ResponseView {
  FunctionCode function = FunctionCode::read_holding_registers;
  std::uint8_t exception = 0;          // non-zero: the device answered this exception code
  std::span<const std::uint8_t> data;  // reads: the payload after the byte count
  std::uint16_t address = 0;           // write echoes (5, 6, 15, 16, 22)
  std::uint16_t value = 0;             // FC5/FC6 value echo, FC15/16 quantity echo
  std::uint16_t and_mask = 0;          // FC22 echo
  std::uint16_t or_mask = 0;

  std::size_t register_count() const { return data.size() / 2; }
  std::uint16_t register_at(std::size_t i) const {
    return static_cast<std::uint16_t>((data[2 * i] << 8) | data[2 * i + 1]);
  }
  bool bit_at(std::size_t i) const { return (data[i / 8] >> (i % 8)) & 1u; }
};

// Decodes `pdu` as the answer to `req`. Errors: wrong_function (neither the function nor its
// exception form), wrong_length (byte count or size does not fit the request), wrong_echo
// (write echo differs), or exception_category() for an exception answer (then out.exception).
std::error_code decode_response(const Request& req, std::span<const std::uint8_t> pdu,
                                ResponseView& out);

// Server side (simulator, interop): parses a request PDU; same limits as validate().
std::error_code decode_request(std::span<const std::uint8_t> pdu, Request& out);
// Server side: the normal answer to `req`. Reads take `data` as one entry per register or bit
// (bits: non-zero is ON), exactly the requested quantity; writes echo and ignore `data`.
std::error_code encode_response(const Request& req, std::span<const std::uint16_t> data,
                                PduBuffer& out);
void encode_exception(FunctionCode f, std::uint8_t code, PduBuffer& out);

// Length prediction for the RTU framers (after libmodbus): given the first bytes of a PDU,
// returns its total size, 0 when more bytes are needed to know, or -1 when the function code
// is not one we can frame.
int predict_response_size(std::span<const std::uint8_t> head);
int predict_request_size(std::span<const std::uint8_t> head);

}  // namespace pollux::modbus
