// Checksums of the serial framings: CRC-16/MODBUS for RTU (and RTU over TCP), LRC for ASCII.
//
// Isolated and tested alone (DESIGN.md, after libmodbus). The CRC is table-driven so an RTU
// response decode stays well under the 100 ns budget of the codec issue (10 M decodes/s).
//
// Usage:
//   std::uint16_t crc = modbus::crc16(frame.first(n));  // goes on the wire low byte first
//   std::uint8_t lrc = modbus::lrc(binary_pdu_with_unit);
#pragma once

#include <cstdint>
#include <span>

namespace pollux::modbus {

// CRC-16/MODBUS: polynomial 0xA001 (reflected 0x8005), initial value 0xFFFF, no final XOR.
std::uint16_t crc16(std::span<const std::uint8_t> bytes);
// Bitwise reference implementation, kept for the table test; never used on the hot path.
std::uint16_t crc16_bitwise(std::span<const std::uint8_t> bytes);
// Modbus ASCII LRC: two's complement of the 8-bit sum of the binary bytes (unit + PDU).
std::uint8_t lrc(std::span<const std::uint8_t> bytes);

}  // namespace pollux::modbus
