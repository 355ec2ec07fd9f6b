// Canonical form and version of the synchronized config (spec/redundancy.md "Synchronization").
//
// The master sends `canonical_text` to its backup and both report `config_version`, so the text
// must depend on the config's content only: sorted keys, every field written with its value
// (defaults included), ${ENV} already expanded, list order kept. Node-local sections (node,
// api, redundancy) are never part of it.
#pragma once

#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "config/model.hpp"

namespace pollux::config {

// Canonical JSON of channels, devices, backup_overrides and the shared keys of history and
// northbound (one line, sorted keys).
std::string canonical_text(const Config& config);

// First 16 hex digits of the SHA-256 of canonical_text: equal content, equal version.
std::string config_version(const Config& config);

// Config sync on the backup: the master's synchronized text plus `local`'s node, api and
// redundancy settings. Applies backup_overrides when `options.as_backup`, validates everything
// and reports problems located in the master's text (file name "master config"); `local`'s
// own sections are taken as already validated (they came from its own load). No ${ENV}
// expansion happens here: the master expanded its own values. Round trip:
// load_synced(canonical_text(c), c, {.as_backup = false}).config == c.
LoadResult load_synced(std::string_view master_canonical_text, const Config& local,
                       const LoadOptions& options = {});

}  // namespace pollux::config
