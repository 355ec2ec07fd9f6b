// One logging setup for every program: spdlog to stderr, a process-wide level from
// `--log-level`, and named child loggers ("channel.COM1", "device.WELL_01") that share the sink,
// so a line always says which channel or device it is about.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace pollux::runtime {

// Parses trace|debug|info|warn|error|critical|off in any case; nullopt on anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the shared stderr sink and the default logger named `program`. Idempotent.
void setup_logging(std::string_view program, spdlog::level::level_enum level);

// The child logger for one channel or device, created on first use.
std::shared_ptr<spdlog::logger> channel_logger(std::string_view channel_id);
std::shared_ptr<spdlog::logger> device_logger(std::string_view device_id);
std::shared_ptr<spdlog::logger> named_logger(const std::string& name);

}  // namespace pollux::runtime
