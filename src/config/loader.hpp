// Loading and validating a node's YAML configuration (spec/config.md).
//
// The loader reads YAML (yaml-cpp stays inside src/config), expands ${ENV}, applies channel
// defaults to every path, optionally merges `backup_overrides`, validates every rule and returns
// either a Config or every problem found, each located as FILE:LINE:COL (1-based).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace pollux::config {

struct Diagnostic {
  std::string file;
  int line = 1;
  int col = 1;
  std::string message;
  // "FILE:LINE:COL: error: MESSAGE"
  std::string to_string() const;
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// Looks up an environment variable; nullopt when unset. Injected so tests need no real env.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

struct LoadOptions {
  EnvLookup env = process_env();
  // Apply `backup_overrides` to channels and devices (the node runs as backup).
  bool as_backup = false;
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<Diagnostic> errors;  // in file order
  bool ok() const { return config.has_value() && errors.empty(); }
};

// `file_name` is used verbatim in diagnostics (the path as given on the command line).
LoadResult load_file(const std::string& path, const LoadOptions& options = {});
LoadResult load_text(std::string_view text, const std::string& file_name,
                     const LoadOptions& options = {});

}  // namespace pollux::config
