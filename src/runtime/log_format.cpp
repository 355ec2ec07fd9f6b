#include "runtime/log_format.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace pollux::runtime {

std::optional<LogFormat> parse_log_format(std::string_view given) {
  std::string name(given);
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

int syslog_priority(spdlog::level::level_enum level) {
  using L = spdlog::level::level_enum;
  switch (level) {
    case L::critical:
      return 2;
    case L::err:
      return 3;
    case L::warn:
      return 4;
    case L::info:
      return 6;
    default:
      return 7;  // debug, trace
  }
}

std::string format_utc_ms(WallTime time) {
  const auto since = time.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];  // room for any int year, which the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one (overlong
// forms, surrogates and code points past U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void append_priority(std::string& out, spdlog::level::level_enum level) {
  out += '<';
  out += static_cast<char>('0' + syslog_priority(level));
  out += '>';
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(text.substr(i));
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

std::string format_log_line(const LogStyle& style, WallTime time, spdlog::level::level_enum level,
                            std::string_view logger, std::string_view message) {
  std::string out;
  out.reserve(message.size() + logger.size() + 80);
  if (style.journal) append_priority(out, level);
  if (style.format == LogFormat::json) {
    out += "{\"time\":\"";
    out += format_utc_ms(time);
    out += "\",\"level\":\"";
    const auto name = spdlog::level::to_string_view(level);
    out.append(name.data(), name.size());
    out += "\",\"logger\":\"";
    append_json_escaped(out, logger);
    out += "\",\"message\":\"";
    append_json_escaped(out, message);
    out += "\"}\n";
    return out;
  }
  out += '[';
  out.append(logger);
  out += "] ";
  for (std::size_t i = 0; i < message.size(); ++i) {
    out += message[i];
    if (message[i] == '\n' && style.journal && i + 1 < message.size()) append_priority(out, level);
  }
  out += '\n';
  return out;
}

bool journal_stream_matches(std::string_view value, dev_t dev, ino_t ino) {
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long d = 0;
  unsigned long long i = 0;
  const char* end = value.data() + value.size();
  const auto [p1, e1] = std::from_chars(value.data(), value.data() + colon, d);
  if (e1 != std::errc() || p1 != value.data() + colon) return false;
  const auto [p2, e2] = std::from_chars(value.data() + colon + 1, end, i);
  if (e2 != std::errc() || p2 != end || colon + 1 == value.size()) return false;
  return d == static_cast<unsigned long long>(dev) && i == static_cast<unsigned long long>(ino);
}

bool stderr_is_journal() {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (!value || !*value) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return journal_stream_matches(value, st.st_dev, st.st_ino);
}

}  // namespace pollux::runtime
