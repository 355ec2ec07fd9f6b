#include "modbus/pdu.hpp"

#include <utility>

#include "modbus/error.hpp"

namespace pollux::modbus {
namespace {

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

// Writes big-endian fields into a PduBuffer; callers have checked the size limits first.
struct Writer {
  PduBuffer& out;
  void u8(std::uint8_t v) { out.bytes[out.size++] = v; }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v & 0xFF));
  }
};

bool range_fits(std::uint16_t address, int quantity) {
  return static_cast<int>(address) + quantity <= 65536;
}

std::error_code check_quantity(std::uint16_t address, int quantity, int max) {
  if (quantity < 1 || quantity > max || !range_fits(address, quantity)) {
    return Errc::limit_exceeded;
  }
  return {};
}

int bit_bytes(int bits) {
  return (bits + 7) / 8;
}

}  // namespace

std::string_view to_string(FunctionCode f) {
  switch (f) {
    case FunctionCode::read_coils:
      return "read coils";
    case FunctionCode::read_discrete_inputs:
      return "read discrete inputs";
    case FunctionCode::read_holding_registers:
      return "read holding registers";
    case FunctionCode::read_input_registers:
      return "read input registers";
    case FunctionCode::write_single_coil:
      return "write single coil";
    case FunctionCode::write_single_register:
      return "write single register";
    case FunctionCode::write_multiple_coils:
      return "write multiple coils";
    case FunctionCode::write_multiple_registers:
      return "write multiple registers";
    case FunctionCode::mask_write_register:
      return "mask write register";
    case FunctionCode::read_write_multiple_registers:
      return "read/write multiple registers";
  }
  return "unknown function";
}

bool is_supported_function(std::uint8_t code) {
  switch (code) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 15:
    case 16:
    case 22:
    case 23:
      return true;
    default:
      return false;
  }
}

bool is_bit_read(FunctionCode f) {
  return f == FunctionCode::read_coils || f == FunctionCode::read_discrete_inputs;
}

Request Request::read(FunctionCode f, std::uint16_t address, std::uint16_t quantity) {
  Request r;
  r.function = f;
  r.address = address;
  r.quantity = quantity;
  return r;
}

Request Request::write_coil(std::uint16_t address, bool on) {
  Request r;
  r.function = FunctionCode::write_single_coil;
  r.address = address;
  r.coils = {static_cast<std::uint8_t>(on ? 1 : 0)};
  return r;
}

Request Request::write_register(std::uint16_t address, std::uint16_t value) {
  Request r;
  r.function = FunctionCode::write_single_register;
  r.address = address;
  r.values = {value};
  return r;
}

Request Request::write_coils(std::uint16_t address, std::vector<std::uint8_t> coils) {
  Request r;
  r.function = FunctionCode::write_multiple_coils;
  r.address = address;
  r.coils = std::move(coils);
  return r;
}

Request Request::write_registers(std::uint16_t address, std::vector<std::uint16_t> values) {
  Request r;
  r.function = FunctionCode::write_multiple_registers;
  r.address = address;
  r.values = std::move(values);
  return r;
}

Request Request::mask_write(std::uint16_t address, std::uint16_t and_mask, std::uint16_t or_mask) {
  Request r;
  r.function = FunctionCode::mask_write_register;
  r.address = address;
  r.and_mask = and_mask;
  r.or_mask = or_mask;
  return r;
}

Request Request::read_write(std::uint16_t read_address, std::uint16_t read_quantity,
                            std::uint16_t write_address, std::vector<std::uint16_t> values) {
  Request r;
  r.function = FunctionCode::read_write_multiple_registers;
  r.address = read_address;
  r.quantity = read_quantity;
  r.write_address = write_address;
  r.values = std::move(values);
  return r;
}

bool Request::is_write() const {
  switch (function) {
    case FunctionCode::write_single_coil:
    case FunctionCode::write_single_register:
    case FunctionCode::write_multiple_coils:
    case FunctionCode::write_multiple_registers:
    case FunctionCode::mask_write_register:
      return true;
    default:
      return false;
  }
}

std::error_code validate(const Request& req) {
  const int nvalues = static_cast<int>(req.values.size());
  const int ncoils = static_cast<int>(req.coils.size());
  switch (req.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs:
      return check_quantity(req.address, req.quantity, kMaxReadBits);
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers:
      return check_quantity(req.address, req.quantity, kMaxReadRegisters);
    case FunctionCode::write_single_coil:
      return ncoils == 1 ? std::error_code{} : make_error_code(Errc::invalid_request);
    case FunctionCode::write_single_register:
      return nvalues == 1 ? std::error_code{} : make_error_code(Errc::invalid_request);
    case FunctionCode::write_multiple_coils:
      return check_quantity(req.address, ncoils, kMaxWriteCoils);
    case FunctionCode::write_multiple_registers:
      return check_quantity(req.address, nvalues, kMaxWriteRegisters);
    case FunctionCode::mask_write_register:
      return {};
    case FunctionCode::read_write_multiple_registers:
      if (auto ec = check_quantity(req.address, req.quantity, kMaxReadRegisters)) return ec;
      return check_quantity(req.write_address, nvalues, kMaxReadWriteWriteRegisters);
  }
  return Errc::invalid_request;
}

std::error_code encode_request(const Request& req, PduBuffer& out) {
  out.size = 0;
  if (auto ec = validate(req)) return ec;
  Writer w{out};
  w.u8(static_cast<std::uint8_t>(req.function));
  switch (req.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs:
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers:
      w.u16(req.address);
      w.u16(req.quantity);
      break;
    case FunctionCode::write_single_coil:
      w.u16(req.address);
      w.u16(req.coils[0] ? 0xFF00 : 0x0000);
      break;
    case FunctionCode::write_single_register:
      w.u16(req.address);
      w.u16(req.values[0]);
      break;
    case FunctionCode::write_multiple_coils: {
      const int n = static_cast<int>(req.coils.size());
      w.u16(req.address);
      w.u16(static_cast<std::uint16_t>(n));
      w.u8(static_cast<std::uint8_t>(bit_bytes(n)));
      for (int byte = 0; byte < bit_bytes(n); ++byte) {
        std::uint8_t v = 0;
        for (int bit = 0; bit < 8 && byte * 8 + bit < n; ++bit) {
          if (req.coils[static_cast<std::size_t>(byte * 8 + bit)])
            v |= static_cast<std::uint8_t>(1u << bit);
        }
        w.u8(v);
      }
      break;
    }
    case FunctionCode::write_multiple_registers:
      w.u16(req.address);
      w.u16(static_cast<std::uint16_t>(req.values.size()));
      w.u8(static_cast<std::uint8_t>(2 * req.values.size()));
      for (auto v : req.values)
        w.u16(v);
      break;
    case FunctionCode::mask_write_register:
      w.u16(req.address);
      w.u16(req.and_mask);
      w.u16(req.or_mask);
      break;
    case FunctionCode::read_write_multiple_registers:
      w.u16(req.address);
      w.u16(req.quantity);
      w.u16(req.write_address);
      w.u16(static_cast<std::uint16_t>(req.values.size()));
      w.u8(static_cast<std::uint8_t>(2 * req.values.size()));
      for (auto v : req.values)
        w.u16(v);
      break;
  }
  return {};
}

std::error_code decode_response(const Request& req, std::span<const std::uint8_t> pdu,
                                ResponseView& out) {
  out = ResponseView{};
  out.function = req.function;
  if (pdu.empty()) return Errc::wrong_length;
  const auto fc = static_cast<std::uint8_t>(req.function);
  if (pdu[0] == (fc | 0x80u)) {
    if (pdu.size() != 2) return Errc::wrong_length;
    // Code 0 would read as success in an error_code; no standard exception uses it.
    if (pdu[1] == 0) return Errc::framing_error;
    out.exception = pdu[1];
    return exception_error(pdu[1]);
  }
  if (pdu[0] != fc) return Errc::wrong_function;

  switch (req.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs:
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers:
    case FunctionCode::read_write_multiple_registers: {
      if (pdu.size() < 2) return Errc::wrong_length;
      const std::size_t expected = is_bit_read(req.function)
                                       ? static_cast<std::size_t>(bit_bytes(req.quantity))
                                       : 2u * req.quantity;
      if (pdu[1] != expected || pdu.size() != 2 + expected) return Errc::wrong_length;
      out.data = pdu.subspan(2);
      return {};
    }
    case FunctionCode::write_single_coil:
    case FunctionCode::write_single_register:
    case FunctionCode::write_multiple_coils:
    case FunctionCode::write_multiple_registers: {
      if (pdu.size() != 5) return Errc::wrong_length;
      out.address = get16(pdu, 1);
      out.value = get16(pdu, 3);
      std::uint16_t want = 0;
      switch (req.function) {
        case FunctionCode::write_single_coil:
          want = (!req.coils.empty() && req.coils[0]) ? 0xFF00 : 0x0000;
          break;
        case FunctionCode::write_single_register:
          want = req.values.empty() ? 0 : req.values[0];
          break;
        case FunctionCode::write_multiple_coils:
          want = static_cast<std::uint16_t>(req.coils.size());
          break;
        default:
          want = static_cast<std::uint16_t>(req.values.size());
          break;
      }
      if (out.address != req.address || out.value != want) return Errc::wrong_echo;
      return {};
    }
    case FunctionCode::mask_write_register:
      if (pdu.size() != 7) return Errc::wrong_length;
      out.address = get16(pdu, 1);
      out.and_mask = get16(pdu, 3);
      out.or_mask = get16(pdu, 5);
      if (out.address != req.address || out.and_mask != req.and_mask ||
          out.or_mask != req.or_mask) {
        return Errc::wrong_echo;
      }
      return {};
  }
  return Errc::wrong_function;
}

std::error_code decode_request(std::span<const std::uint8_t> pdu, Request& out) {
  out = Request{};
  if (pdu.empty()) return Errc::wrong_length;
  if (!is_supported_function(pdu[0])) return Errc::wrong_function;
  out.function = static_cast<FunctionCode>(pdu[0]);
  const int predicted = predict_request_size(pdu);
  if (predicted <= 0 || pdu.size() != static_cast<std::size_t>(predicted)) {
    return Errc::wrong_length;
  }
  out.address = get16(pdu, 1);
  switch (out.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs:
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers:
      out.quantity = get16(pdu, 3);
      break;
    case FunctionCode::write_single_coil: {
      const std::uint16_t v = get16(pdu, 3);
      if (v != 0xFF00 && v != 0x0000) return Errc::framing_error;
      out.coils = {static_cast<std::uint8_t>(v == 0xFF00 ? 1 : 0)};
      break;
    }
    case FunctionCode::write_single_register:
      out.values = {get16(pdu, 3)};
      break;
    case FunctionCode::write_multiple_coils: {
      const int n = get16(pdu, 3);
      if (pdu[5] != bit_bytes(n)) return Errc::wrong_length;
      if (n < 1 || n > kMaxWriteCoils) return Errc::limit_exceeded;
      out.coils.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i)
        out.coils[static_cast<std::size_t>(i)] = (pdu[6 + i / 8] >> (i % 8)) & 1u;
      break;
    }
    case FunctionCode::write_multiple_registers: {
      const int n = get16(pdu, 3);
      if (pdu[5] != 2 * n) return Errc::wrong_length;
      out.values.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i)
        out.values[static_cast<std::size_t>(i)] = get16(pdu, 6 + 2 * static_cast<std::size_t>(i));
      break;
    }
    case FunctionCode::mask_write_register:
      out.and_mask = get16(pdu, 3);
      out.or_mask = get16(pdu, 5);
      break;
    case FunctionCode::read_write_multiple_registers: {
      out.quantity = get16(pdu, 3);
      out.write_address = get16(pdu, 5);
      const int n = get16(pdu, 7);
      if (pdu[9] != 2 * n) return Errc::wrong_length;
      out.values.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i)
        out.values[static_cast<std::size_t>(i)] = get16(pdu, 10 + 2 * static_cast<std::size_t>(i));
      break;
    }
  }
  return validate(out);
}

std::error_code encode_response(const Request& req, std::span<const std::uint16_t> data,
                                PduBuffer& out) {
  out.size = 0;
  if (auto ec = validate(req)) return ec;
  Writer w{out};
  w.u8(static_cast<std::uint8_t>(req.function));
  switch (req.function) {
    case FunctionCode::read_coils:
    case FunctionCode::read_discrete_inputs: {
      if (data.size() != req.quantity) return Errc::invalid_request;
      const int n = req.quantity;
      w.u8(static_cast<std::uint8_t>(bit_bytes(n)));
      for (int byte = 0; byte < bit_bytes(n); ++byte) {
        std::uint8_t v = 0;
        for (int bit = 0; bit < 8 && byte * 8 + bit < n; ++bit) {
          if (data[static_cast<std::size_t>(byte * 8 + bit)])
            v |= static_cast<std::uint8_t>(1u << bit);
        }
        w.u8(v);
      }
      break;
    }
    case FunctionCode::read_holding_registers:
    case FunctionCode::read_input_registers:
    case FunctionCode::read_write_multiple_registers:
      if (data.size() != req.quantity) return Errc::invalid_request;
      w.u8(static_cast<std::uint8_t>(2 * req.quantity));
      for (auto v : data)
        w.u16(v);
      break;
    case FunctionCode::write_single_coil:
      w.u16(req.address);
      w.u16(req.coils[0] ? 0xFF00 : 0x0000);
      break;
    case FunctionCode::write_single_register:
      w.u16(req.address);
      w.u16(req.values[0]);
      break;
    case FunctionCode::write_multiple_coils:
      w.u16(req.address);
      w.u16(static_cast<std::uint16_t>(req.coils.size()));
      break;
    case FunctionCode::write_multiple_registers:
      w.u16(req.address);
      w.u16(static_cast<std::uint16_t>(req.values.size()));
      break;
    case FunctionCode::mask_write_register:
      w.u16(req.address);
      w.u16(req.and_mask);
      w.u16(req.or_mask);
      break;
  }
  return {};
}

void encode_exception(FunctionCode f, std::uint8_t code, PduBuffer& out) {
  out.size = 0;
  Writer w{out};
  w.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(f) | 0x80u));
  w.u8(code);
}

int predict_response_size(std::span<const std::uint8_t> head) {
  if (head.empty()) return 0;
  const std::uint8_t fc = head[0];
  if (fc & 0x80u) return is_supported_function(fc & 0x7Fu) ? 2 : -1;
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 23:
      return head.size() < 2 ? 0 : 2 + head[1];
    case 5:
    case 6:
    case 15:
    case 16:
      return 5;
    case 22:
      return 7;
    default:
      return -1;
  }
}

int predict_request_size(std::span<const std::uint8_t> head) {
  if (head.empty()) return 0;
  switch (head[0]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return 5;
    case 15:
    case 16:
      return head.size() < 6 ? 0 : 6 + head[5];
    case 22:
      return 7;
    case 23:
      return head.size() < 10 ? 0 : 10 + head[9];
    default:
      return -1;
  }
}

}  // namespace pollux::modbus
