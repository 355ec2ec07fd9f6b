// Minimal Modbus framing for the simulator's device side: finds request boundaries in a byte
// stream (RTU by the function code's length rule, TCP by the MBAP length) and computes the RTU
// CRC so requests can be checked and fault-injected responses re-sealed. Answering requests is
// libmodbus's job (modbus_reply); this file only cuts the stream, independently of drivers/modbus
// so the simulator stays an independent oracle for our own codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sim {

uint16_t crc16(const uint8_t* data, size_t len);

// Length of the RTU request (unit .. CRC) starting at `p`, given the `n` bytes available:
// > 0 the full length, 0 when more bytes are needed to know, -1 when the function code has no
// length rule (the caller then falls back to inter-frame silence).
int rtu_request_length(const uint8_t* p, size_t n);

// Full ADU length of a Modbus TCP frame from its MBAP header: 0 when fewer than 7 bytes are
// available, -1 when the header is invalid (protocol id != 0 or a length outside 2..254).
int tcp_frame_length(const uint8_t* p, size_t n);

// True when the frame's last two bytes are the CRC of the rest.
bool rtu_crc_ok(const uint8_t* p, size_t n);

// Modbus ASCII: ':' + hex(unit, PDU, LRC) + CR LF, from unit+PDU bytes (no checksum).
std::vector<uint8_t> ascii_encode(const uint8_t* p, size_t n);
// Decodes a whole ':' .. CR LF frame into unit+PDU (LRC checked and removed). False when the
// hex is malformed or the LRC is wrong.
bool ascii_decode(const uint8_t* p, size_t n, std::vector<uint8_t>* out);

}  // namespace sim
