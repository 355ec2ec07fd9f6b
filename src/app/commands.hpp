// The `pollux` program's sub-commands (spec/api.md "Programs"). Each returns the exit status.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace pollux::app {

struct CommonOptions {
  std::string log_level = "info";
  std::string log_format = "text";  // text | json (runtime/log_format.hpp)
};

// Finds `-c FILE` / `--config FILE` in a command's arguments; prints a usage error when absent.
std::optional<std::string> config_path_arg(std::string_view command,
                                           const std::vector<std::string_view>& args);

// Every error and warning of a load, one `FILE:LINE:COL: error|warning: ...` line each on
// stderr, in file order; with the journal's <3>/<4> priority prefix when stderr is the journal
// (the unit's ExecStartPre=pollux check), so `journalctl -p err` shows why a start failed.
void print_diagnostics(const config::LoadResult& result);

// `pollux check -c FILE`: 0 when valid (warnings printed), 2 with every error on stderr.
int check_command(const CommonOptions& common, const std::vector<std::string_view>& args);

// `pollux run -c FILE`: runs the node until SIGINT/SIGTERM (0); 2 on a config error.
int run_command(const CommonOptions& common, const std::vector<std::string_view>& args);

}  // namespace pollux::app
