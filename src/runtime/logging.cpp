#include "runtime/logging.hpp"

#include <cctype>
#include <mutex>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "runtime/log_format.hpp"

namespace pollux::runtime {

namespace {
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";
std::mutex g_mutex;
spdlog::sink_ptr g_sink;
LogStyle g_style;

// The journal and json styles (log_format.hpp); plain text stays spdlog's pattern formatter.
class StyleFormatter final : public spdlog::formatter {
 public:
  explicit StyleFormatter(LogStyle style) : style_(style) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line =
        format_log_line(style_, msg.time, msg.level,
                        std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                        std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<StyleFormatter>(style_);
  }

 private:
  LogStyle style_;
};

std::unique_ptr<spdlog::formatter> make_formatter() {
  if (g_style.format == LogFormat::text && !g_style.journal)
    return std::make_unique<spdlog::pattern_formatter>(kPattern, spdlog::pattern_time_type::utc);
  return std::make_unique<StyleFormatter>(g_style);
}

spdlog::sink_ptr shared_sink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  return g_sink;
}
}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view given) {
  using L = spdlog::level::level_enum;
  // Case-insensitive: LOG_LEVEL=INFO from a unit file or an environment must work as info.
  std::string name(given);
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "trace") return L::trace;
  if (name == "debug") return L::debug;
  if (name == "info") return L::info;
  if (name == "warn" || name == "warning") return L::warn;
  if (name == "error") return L::err;
  if (name == "critical") return L::critical;
  if (name == "off") return L::off;
  return std::nullopt;
}

void setup_logging(std::string_view program, spdlog::level::level_enum level) {
  std::lock_guard lock(g_mutex);
  auto logger = std::make_shared<spdlog::logger>(std::string(program), shared_sink());
  logger->set_formatter(make_formatter());
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
}

std::shared_ptr<spdlog::logger> named_logger(const std::string& name) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
  logger->set_formatter(make_formatter());
  logger->set_level(spdlog::get_level());
  spdlog::register_logger(logger);
  return logger;
}

void set_log_style(const LogStyle& style) {
  std::lock_guard lock(g_mutex);
  g_style = style;
  // Formatting is the sink's, and every logger shares the one sink: setting it there reaches
  // the loggers made before this call too.
  shared_sink()->set_formatter(make_formatter());
}

std::shared_ptr<spdlog::logger> channel_logger(std::string_view channel_id) {
  return named_logger("channel." + std::string(channel_id));
}

std::shared_ptr<spdlog::logger> device_logger(std::string_view device_id) {
  return named_logger("device." + std::string(device_id));
}

}  // namespace pollux::runtime
