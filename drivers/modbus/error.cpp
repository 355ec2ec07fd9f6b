#include "modbus/error.hpp"

#include <string>

namespace pollux::modbus {
namespace {

class ModbusCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "modbus"; }
  std::string message(int ev) const override {
    auto s = to_string(static_cast<Errc>(ev));
    if (s.empty()) return "unknown modbus error " + std::to_string(ev);
    return std::string(s);
  }
};

class ExceptionCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "modbus-exception"; }
  std::string message(int ev) const override {
    auto s = to_string(static_cast<ExceptionCode>(ev));
    std::string code = "exception " + std::to_string(ev);
    if (s.empty()) return code + ": unknown exception code";
    return code + ": " + std::string(s);
  }
};

}  // namespace

const std::error_category& modbus_category() {
  static const ModbusCategory c;
  return c;
}

const std::error_category& exception_category() {
  static const ExceptionCategory c;
  return c;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), modbus_category()};
}

std::error_code make_error_code(ExceptionCode e) {
  return {static_cast<int>(e), exception_category()};
}

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::timeout:
      return "timeout: no answer within the message timeout";
    case Errc::crc_error:
      return "CRC error: the frame's CRC-16 does not match its contents";
    case Errc::lrc_error:
      return "LRC error: the ASCII frame's LRC does not match its contents";
    case Errc::framing_error:
      return "framing error: bytes that do not form a Modbus frame";
    case Errc::wrong_unit:
      return "wrong unit: the answer names another unit id";
    case Errc::wrong_function:
      return "wrong function: the answer is for another function code";
    case Errc::wrong_length:
      return "wrong length: byte count or length field does not fit";
    case Errc::wrong_echo:
      return "wrong echo: the write answer does not echo the request";
    case Errc::wrong_transaction:
      return "wrong transaction: unexpected MBAP transaction id";
    case Errc::too_long:
      return "too long: more bytes than a Modbus frame can hold";
    case Errc::connection_reset:
      return "connection reset during the exchange";
    case Errc::limit_exceeded:
      return "request exceeds the Modbus protocol limits";
    case Errc::invalid_request:
      return "invalid request: cannot be encoded";
    case Errc::answer_cut_short:
      return "answer cut short: the start of the answer arrived, not its end";
  }
  return {};
}

std::string_view to_string(ExceptionCode e) {
  switch (e) {
    case ExceptionCode::illegal_function:
      return "illegal function";
    case ExceptionCode::illegal_data_address:
      return "illegal data address";
    case ExceptionCode::illegal_data_value:
      return "illegal data value";
    case ExceptionCode::server_device_failure:
      return "server device failure";
    case ExceptionCode::acknowledge:
      return "acknowledge (processing a long command)";
    case ExceptionCode::server_device_busy:
      return "server device busy";
    case ExceptionCode::negative_acknowledge:
      return "negative acknowledge";
    case ExceptionCode::memory_parity_error:
      return "memory parity error";
    case ExceptionCode::gateway_path_unavailable:
      return "gateway path unavailable";
    case ExceptionCode::gateway_target_failed:
      return "gateway target device failed to respond";
  }
  return {};
}

std::string_view to_string(FailureKind k) {
  switch (k) {
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::crc:
      return "crc";
    case FailureKind::framing:
      return "framing";
    case FailureKind::exception:
      return "exception";
  }
  return "unknown";
}

FailureKind classify(std::error_code ec) {
  if (ec.category() == exception_category()) return FailureKind::exception;
  if (ec.category() == modbus_category()) {
    switch (static_cast<Errc>(ec.value())) {
      case Errc::timeout:
        return FailureKind::timeout;
      case Errc::crc_error:
      case Errc::lrc_error:
        return FailureKind::crc;
      default:
        return FailureKind::framing;
    }
  }
  if (ec == std::errc::timed_out) return FailureKind::timeout;
  return FailureKind::framing;
}

}  // namespace pollux::modbus
