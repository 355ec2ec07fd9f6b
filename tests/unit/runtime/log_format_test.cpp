// The log line styles of log_format.hpp: the journal's priority prefixes without a timestamp,
// JSON lines that stay valid JSON whatever the message holds, and the JOURNAL_STREAM match.
#include "runtime/log_format.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace pollux::runtime {
namespace {

using L = spdlog::level::level_enum;

// 2026-01-05T10:00:00.123Z
const WallTime kTime = WallTime(std::chrono::milliseconds(1767607200123));

TEST(LogFormat, ParsesTextAndJsonInAnyCase) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(parse_log_format("JSON"), LogFormat::json);
  EXPECT_EQ(parse_log_format("syslog"), std::nullopt);
  EXPECT_EQ(parse_log_format(""), std::nullopt);
}

TEST(LogFormat, PrioritiesAreSdDaemonOnes) {
  EXPECT_EQ(syslog_priority(L::critical), 2);
  EXPECT_EQ(syslog_priority(L::err), 3);
  EXPECT_EQ(syslog_priority(L::warn), 4);
  EXPECT_EQ(syslog_priority(L::info), 6);
  EXPECT_EQ(syslog_priority(L::debug), 7);
  EXPECT_EQ(syslog_priority(L::trace), 7);
}

TEST(LogFormat, UtcWithMilliseconds) {
  EXPECT_EQ(format_utc_ms(kTime), "2026-01-05T10:00:00.123Z");
  EXPECT_EQ(format_utc_ms(WallTime(std::chrono::milliseconds(5))), "1970-01-01T00:00:00.005Z");
}

TEST(LogFormat, JournalTextIsPriorityLoggerAndMessageWithoutTime) {
  const LogStyle journal{.format = LogFormat::text, .journal = true};
  EXPECT_EQ(format_log_line(journal, kTime, L::info, "pollux", "API listening"),
            "<6>[pollux] API listening\n");
  EXPECT_EQ(format_log_line(journal, kTime, L::warn, "device.WELL_01", "timeout"),
            "<4>[device.WELL_01] timeout\n");
  EXPECT_EQ(format_log_line(journal, kTime, L::err, "channel.COM1", "x"), "<3>[channel.COM1] x\n");
  EXPECT_EQ(format_log_line(journal, kTime, L::debug, "pollux", "x"), "<7>[pollux] x\n");
}

TEST(LogFormat, JournalPrefixesEveryLineOfAMessage) {
  const LogStyle journal{.format = LogFormat::text, .journal = true};
  EXPECT_EQ(format_log_line(journal, kTime, L::err, "pollux", "two\nlines\n"),
            "<3>[pollux] two\n<3>lines\n\n");
}

TEST(LogFormat, JsonLineHasTimeLevelLoggerMessage) {
  const LogStyle json{.format = LogFormat::json, .journal = false};
  EXPECT_EQ(format_log_line(json, kTime, L::warn, "device.WELL_01", "no answer"),
            "{\"time\":\"2026-01-05T10:00:00.123Z\",\"level\":\"warning\","
            "\"logger\":\"device.WELL_01\",\"message\":\"no answer\"}\n");
}

TEST(LogFormat, JsonUnderTheJournalKeepsThePrefix) {
  const LogStyle json{.format = LogFormat::json, .journal = true};
  EXPECT_EQ(format_log_line(json, kTime, L::err, "pollux", "x"),
            "<3>{\"time\":\"2026-01-05T10:00:00.123Z\",\"level\":\"error\",\"logger\":\"pollux\","
            "\"message\":\"x\"}\n");
}

std::string escaped(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

TEST(LogFormat, JsonEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(escaped("say \"hi\" \\ bye"), "say \\\"hi\\\" \\\\ bye");
  EXPECT_EQ(escaped("a\nb\rc\td\be\ff"), "a\\nb\\rc\\td\\be\\ff");
  EXPECT_EQ(escaped(std::string_view("\x01\x1f\0", 3)), "\\u0001\\u001f\\u0000");
  EXPECT_EQ(escaped("\x7f"), "\x7f");  // DEL needs no escape in JSON
}

TEST(LogFormat, JsonKeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(escaped("m\xc2\xb3/h \xe2\x82\xac \xf0\x9f\x9b\xa2"),
            "m\xc2\xb3/h \xe2\x82\xac \xf0\x9f\x9b\xa2");
  EXPECT_EQ(escaped("\xff"), "\\ufffd");
  EXPECT_EQ(escaped("a\xc3"), "a\\ufffd");                                 // truncated
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");                        // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");             // surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // past U+10FFFF
}

TEST(LogFormat, JournalStreamMustNameStderr) {
  EXPECT_TRUE(journal_stream_matches("8:12345", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("8:12346", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("9:12345", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("x", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("8:", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("8:12345x", 8, 12345));
  EXPECT_FALSE(journal_stream_matches("", 8, 12345));
}

}  // namespace
}  // namespace pollux::runtime
