#include "framing.hpp"

namespace sim {

uint16_t crc16(const uint8_t* data, size_t len) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b)
      crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
  }
  return crc;
}

bool rtu_crc_ok(const uint8_t* p, size_t n) {
  if (n < 4) return false;
  uint16_t crc = crc16(p, n - 2);
  return p[n - 2] == (crc & 0xFF) && p[n - 1] == (crc >> 8);
}

int rtu_request_length(const uint8_t* p, size_t n) {
  if (n < 2) return 0;
  switch (p[1]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x08:
      return 8;
    case 0x07:
    case 0x0B:
    case 0x0C:
    case 0x11:
      return 4;
    case 0x0F:
    case 0x10:
      return n < 7 ? 0 : 9 + p[6];
    case 0x16:
      return 10;
    case 0x17:
      return n < 11 ? 0 : 13 + p[10];
    case 0x2B:
      return 7;
    default:
      return -1;
  }
}

int tcp_frame_length(const uint8_t* p, size_t n) {
  if (n < 7) return 0;
  if (p[2] != 0 || p[3] != 0) return -1;
  int len = (p[4] << 8) | p[5];
  if (len < 2 || len > 254) return -1;
  return 6 + len;
}

std::vector<uint8_t> ascii_encode(const uint8_t* p, size_t n) {
  static const char* hexd = "0123456789ABCDEF";
  std::vector<uint8_t> out;
  out.reserve(2 * n + 5);
  out.push_back(':');
  uint8_t sum = 0;
  auto put = [&](uint8_t b) {
    out.push_back(static_cast<uint8_t>(hexd[b >> 4]));
    out.push_back(static_cast<uint8_t>(hexd[b & 15]));
  };
  for (size_t i = 0; i < n; ++i) {
    sum = static_cast<uint8_t>(sum + p[i]);
    put(p[i]);
  }
  put(static_cast<uint8_t>(-sum));
  out.push_back('\r');
  out.push_back('\n');
  return out;
}

bool ascii_decode(const uint8_t* p, size_t n, std::vector<uint8_t>* out) {
  auto nib = [](uint8_t c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (n < 9 || p[0] != ':' || p[n - 2] != '\r' || p[n - 1] != '\n' || (n - 3) % 2 != 0)
    return false;
  out->clear();
  uint8_t sum = 0;
  for (size_t i = 1; i + 2 < n; i += 2) {
    int hi = nib(p[i]), lo = nib(p[i + 1]);
    if (hi < 0 || lo < 0) return false;
    auto b = static_cast<uint8_t>((hi << 4) | lo);
    sum = static_cast<uint8_t>(sum + b);
    out->push_back(b);
  }
  if (sum != 0) return false;
  out->pop_back();  // the LRC
  return true;
}

}  // namespace sim
