// How log lines look, for people and for the machines that collect them (issue 22 "Logging"):
//   text     "2026-01-05T10:00:00.123Z INFO  [pollux] message" on a terminal or a file;
//   journal  "<6>[pollux] message" when stderr is systemd's journal stream: the journal keeps
//            its own timestamp, and reads the sd-daemon priority prefix (<3> error, <4> warning,
//            <6> info, <7> debug) as the entry's PRIORITY;
//   json     one object per line, {"time","level","logger","message"}, for log shippers
//            (`--log-format json`); under the journal it carries the priority prefix too.
// The formatting is pure (time, level, logger and message in, bytes out) so tests pin it.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "runtime/clock.hpp"

namespace pollux::runtime {

enum class LogFormat { text, json };

// "text" or "json", any case; nullopt on anything else.
std::optional<LogFormat> parse_log_format(std::string_view name);

struct LogStyle {
  LogFormat format = LogFormat::text;
  bool journal = false;  // stderr is the journal: priority prefix, no timestamp of our own
};

// The sd-daemon.h priority of a level: 2 critical, 3 error, 4 warning, 6 info, 7 debug/trace.
int syslog_priority(spdlog::level::level_enum level);

// "2026-01-05T10:00:00.123Z": UTC with milliseconds, as the text format and the API show time.
std::string format_utc_ms(WallTime time);

// `text` as the inside of a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD so the line stays valid JSON whatever a device sent.
void append_json_escaped(std::string& out, std::string_view text);

// One line for the journal or json styles, with its '\n'. (The plain text style stays spdlog's
// pattern, with colour on a terminal.) Under the journal, a message of several lines gets the
// prefix on each, since the journal stores each line as an entry of its own.
std::string format_log_line(const LogStyle& style, WallTime time, spdlog::level::level_enum level,
                            std::string_view logger, std::string_view message);

// JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected to stderr; it is inherited
// by children whose stderr may go elsewhere, so it counts only when it names stderr itself
// (systemd.exec(5), "$JOURNAL_STREAM").
bool journal_stream_matches(std::string_view value, dev_t dev, ino_t ino);

// Whether this process's stderr is the journal stream named by JOURNAL_STREAM.
bool stderr_is_journal();

// Switches every logger, present and future, to `style` (setup_logging() starts with plain
// text).
void set_log_style(const LogStyle& style);

}  // namespace pollux::runtime
