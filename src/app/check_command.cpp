#include <algorithm>
#include <cstdio>

#include "app/commands.hpp"
#include "config/loader.hpp"
#include "runtime/log_format.hpp"

namespace pollux::app {

std::optional<std::string> config_path_arg(std::string_view command,
                                           const std::vector<std::string_view>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) {
      return std::string(args[i + 1]);
    }
  }
  std::fprintf(stderr, "pollux %.*s: missing -c FILE\n", static_cast<int>(command.size()),
               command.data());
  return std::nullopt;
}

void print_diagnostics(const config::LoadResult& result) {
  // Errors and warnings together in file order, as a compiler lists them.
  struct Line {
    const config::Diagnostic* d;
    const char* priority;  // sd-daemon.h: <3> error, <4> warning
  };
  std::vector<Line> all;
  for (const auto& d : result.errors)
    all.push_back({&d, "<3>"});
  for (const auto& d : result.warnings)
    all.push_back({&d, "<4>"});
  std::stable_sort(all.begin(), all.end(), [](const Line& a, const Line& b) {
    return a.d->line != b.d->line ? a.d->line < b.d->line : a.d->col < b.d->col;
  });
  const bool journal = runtime::stderr_is_journal();
  for (const Line& l : all)
    std::fprintf(stderr, "%s%s\n", journal ? l.priority : "", l.d->to_string().c_str());
}

int check_command(const CommonOptions&, const std::vector<std::string_view>& args) {
  auto path = config_path_arg("check", args);
  if (!path) return 2;
  const config::LoadResult result = config::load_file(*path);
  print_diagnostics(result);
  return result.ok() ? 0 : 2;
}

}  // namespace pollux::app
