// The Modbus error vocabulary: codec/transport failures (Errc, "modbus" category) and device
// exception answers (codes 1..11, "modbus-exception" category), plus the mapping of any error to
// the API's failure statistics (api.md: timeouts / crc_errors / framing_errors / exceptions).
//
// DESIGN.md principle 4: one error vocabulary, std::error_code with our own categories. A Modbus
// exception is a valid answer, so it lives in its own category and classifies as `exception`.
//
// Usage:
//   std::error_code ec = modbus::Errc::crc_error;          // implicit, via is_error_code_enum
//   if (ec.category() == modbus::exception_category()) ... // the device answered an exception
//   switch (modbus::classify(ec)) { case FailureKind::crc: ++stats.crc_errors; ... }
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace pollux::modbus {

// Failures of one exchange that are not a device's exception answer. Zero is never used so a
// default-constructed std::error_code means success.
enum class Errc {
  timeout = 1,        // no (complete) answer within the message timeout
  crc_error,          // RTU CRC-16 mismatch
  lrc_error,          // ASCII LRC mismatch
  framing_error,      // bytes that cannot be a frame (bad hex, bad MBAP protocol id, garbage)
  wrong_unit,         // an answer that names another unit than asked
  wrong_function,     // an answer for another function code than asked
  wrong_length,       // byte count / MBAP length inconsistent with the request or the frame
  wrong_echo,         // a write answer that does not echo address, quantity or value
  wrong_transaction,  // a TCP answer whose transaction id is not the one asked (for callers
                      // matching ids themselves; the TCP framer drops and counts such answers)
  too_long,           // more bytes than any legal frame can hold (framer buffer cap)
  connection_reset,   // the stream closed or reset in the middle of an exchange
  limit_exceeded,     // a request outside the protocol limits (refused at encode time)
  invalid_request,    // a request that cannot be encoded (unknown function, missing values)
  answer_cut_short,   // the start of our answer arrived, its end did not (frame gap or timeout);
                      // a framing error for the counters. On Modbus TCP the stream stays in
                      // step: the tail completes that frame later and is dropped by its id
};

const std::error_category& modbus_category();
std::error_code make_error_code(Errc e);

// Modbus exception codes (the standard's numbering). 9 is unassigned by the standard; any code
// a device sends still becomes an error_code in exception_category() with a clear message.
enum class ExceptionCode : std::uint8_t {
  illegal_function = 1,
  illegal_data_address = 2,
  illegal_data_value = 3,
  server_device_failure = 4,
  acknowledge = 5,
  server_device_busy = 6,
  negative_acknowledge = 7,
  memory_parity_error = 8,
  gateway_path_unavailable = 10,
  gateway_target_failed = 11,
};

const std::error_category& exception_category();
std::error_code make_error_code(ExceptionCode e);
// The error for exception code `code` as received (any value 1..255).
inline std::error_code exception_error(std::uint8_t code) {
  return {static_cast<int>(code), exception_category()};
}
std::string_view to_string(Errc e);
std::string_view to_string(ExceptionCode e);

// The API's per-attempt failure counters (api.md "Every message ends as exactly one of ...").
enum class FailureKind { timeout, crc, framing, exception };
std::string_view to_string(FailureKind k);

// Maps any failure to exactly one counter: modbus exceptions → exception; timeout (ours or
// std::errc::timed_out) → timeout; CRC and LRC → crc; everything else, connection reset and
// transport errors included, → framing (api.md lists reset under framing_errors).
// Precondition: `ec` is an error (non-zero).
FailureKind classify(std::error_code ec);

}  // namespace pollux::modbus

template <>
struct std::is_error_code_enum<pollux::modbus::Errc> : std::true_type {};
template <>
struct std::is_error_code_enum<pollux::modbus::ExceptionCode> : std::true_type {};
