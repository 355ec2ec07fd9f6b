// Fuzz target for the config loader: any bytes as YAML text must give either a Config or
// located errors, never a crash, leak or hang. A config that loads must also survive config
// sync: its canonical text loads back (load_synced) into the same Config, with the same version,
// and a backup reports the master's version.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/canonical.hpp"
#include "config/loader.hpp"

namespace {

pollux::config::LoadOptions options(bool as_backup) {
  pollux::config::LoadOptions o;
  o.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "POLLUX_PSK") return std::string("fuzz-psk");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  o.as_backup = as_backup;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pollux::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string master_version;
  for (bool as_backup : {false, true}) {
    const LoadResult r = load_text(text, "fuzz.yaml", options(as_backup));
    for (const auto& d : r.errors)
      if (d.line < 1 || d.col < 1 || d.message.empty()) std::abort();
    if (!r.ok()) continue;
    // Both roles report the version of the content before overrides.
    if (!as_backup) master_version = r.version;
    if (!master_version.empty() && r.version != master_version) std::abort();
    const std::string canonical = canonical_text(*r.config);
    const LoadResult back = load_synced(canonical, *r.config, options(false));
    if (as_backup) continue;  // the round trip holds for the config before overrides
    if (!back.ok() || !(*back.config == *r.config) ||
        config_version(*back.config) != config_version(*r.config))
      std::abort();
  }
  return 0;
}
