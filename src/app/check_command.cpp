#include <algorithm>
#include <cstdio>

#include "app/commands.hpp"
#include "config/loader.hpp"

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
  std::vector<const config::Diagnostic*> all;
  for (const auto& d : result.errors)
    all.push_back(&d);
  for (const auto& d : result.warnings)
    all.push_back(&d);
  std::stable_sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
    return a->line != b->line ? a->line < b->line : a->col < b->col;
  });
  for (const auto* d : all)
    std::fprintf(stderr, "%s\n", d->to_string().c_str());
}

int check_command(const CommonOptions&, const std::vector<std::string_view>& args) {
  auto path = config_path_arg("check", args);
  if (!path) return 2;
  const config::LoadResult result = config::load_file(*path);
  print_diagnostics(result);
  return result.ok() ? 0 : 2;
}

}  // namespace pollux::app
