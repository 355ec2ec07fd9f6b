// `pollux`: the node program. `check` validates a config; `run` runs the node (spec/api.md).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.hpp"
#include "runtime/log_format.hpp"
#include "runtime/logging.hpp"

namespace {

constexpr const char* kUsage =
    "usage: pollux [--log-level LEVEL] [--log-format FORMAT] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  check -c FILE   validate a configuration file; exit 0 when valid, 2 with\n"
    "                  FILE:LINE:COL: error: ... lines otherwise\n"
    "  run -c FILE     run the node: poll the devices, serve the HTTP API; SIGHUP\n"
    "                  reloads, SIGINT/SIGTERM exit 0 after closing the channels\n"
    "\n"
    "options:\n"
    "  --log-level LEVEL    trace|debug|info|warn|error|off, any case (default info)\n"
    "  --log-format FORMAT  text (default) or json: one JSON object per line (time,\n"
    "                       level, logger, message). When stderr is systemd's journal\n"
    "                       (JOURNAL_STREAM), lines start with a <N> priority and text\n"
    "                       lines carry no timestamp\n"
    "  --version            print the version and exit\n"
    "  --help               print this help and exit\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  pollux::app::CommonOptions common;
  std::vector<std::string_view> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (args[i] == "--version") {
      std::printf("pollux %s\n", POLLUX_VERSION);
      return 0;
    }
    if (args[i] == "--log-level") {
      if (i + 1 >= args.size()) {
        std::fputs("pollux: --log-level needs a value\n", stderr);
        return 2;
      }
      common.log_level = std::string(args[++i]);
      continue;
    }
    if (args[i] == "--log-format") {
      if (i + 1 >= args.size()) {
        std::fputs("pollux: --log-format needs a value\n", stderr);
        return 2;
      }
      common.log_format = std::string(args[++i]);
      continue;
    }
    rest.push_back(args[i]);
  }
  // Checked here, once, so `check` refuses a bad level exactly as `run` does.
  if (!pollux::runtime::parse_log_level(common.log_level)) {
    std::fprintf(stderr,
                 "pollux: unknown log level '%s' (use trace, debug, info, warn, error or off)\n",
                 common.log_level.c_str());
    return 2;
  }
  if (!pollux::runtime::parse_log_format(common.log_format)) {
    std::fprintf(stderr, "pollux: unknown log format '%s' (use text or json)\n",
                 common.log_format.c_str());
    return 2;
  }
  if (rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = rest.front();
  std::vector<std::string_view> command_args(rest.begin() + 1, rest.end());
  if (command == "check") return pollux::app::check_command(common, command_args);
  if (command == "run") return pollux::app::run_command(common, command_args);
  std::fprintf(stderr, "pollux: unknown command '%.*s'\n%s", static_cast<int>(command.size()),
               command.data(), kUsage);
  return 2;
}
