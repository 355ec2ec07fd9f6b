// Loading and validating a node's YAML configuration (spec/config.md).
//
// The loader reads YAML (yaml-cpp stays inside src/config), expands ${ENV}, applies channel
// defaults to every path, optionally merges `backup_overrides`, validates every rule and returns
// either a Config or every problem found, each located as FILE:LINE:COL (1-based).
//
// Choices where the spec is silent:
// - `${NAME}` is expanded in every scalar value (not in keys) before it is converted, so
//   `baud: ${BAUD}` works. `$${` is the escape for a literal `${`; any other `$` is literal.
//   `${` without `}` or with a name that is not [A-Za-z_][A-Za-z0-9_]* is an error.
// - A channel's `type` is required; `protocol` defaults to modbus-rtu (serial, modem) or
//   modbus-tcp (tcp). A point's `table` defaults to holding and its `type` to uint16, or to
//   bool on coil/discrete tables. A device's `unit` defaults to 1; a poll group needs `points`.
// - Keys of other channel types (e.g. `baud` on a tcp channel) are accepted and kept.
// - `writable` points must be coil or holding points; `length` is only for string points.
// - Booleans are true/false (also True/TRUE/False/FALSE); integers are decimal or 0x hex.
// - `backup_overrides` is checked on every load: its ids must exist and the config with the
//   overrides applied must be valid too, so the master's check covers what its backup will run.
//   An override cannot change an `id`.
// - An empty section (`api:` with nothing under it) means its defaults.
// - Two points of one device that share an address of the same table are a warning at the one
//   later in the file, not an error: reading a register both as a word and as part of a wider
//   value is sometimes meant.
// - Two enabled devices that put the same unit id on one serial port (the channel's `port`,
//   whichever channel names it) or on one TCP host:port are an error at the later device's
//   unit (or at its path key when the unit comes from elsewhere): the line cannot tell their
//   answers apart. Modem paths are not compared (each call reaches whatever the number dials).
// - `northbound:` (spec/northbound.md): mqtt.url is tcp://HOST:PORT or ssl://HOST:PORT, port
//   required, no credentials in it. ssl:// without tls.ca_file verifies the broker against the
//   system's CAs; `tls` with tcp:// is an error at `tls`; cert_file and key_file come together;
//   a password needs a username (MQTT 3.1.1). keepalive_s is 1..3600, max_records 1..2^31-1.
//   group_id, edge_node_id and primary_host_id are non-empty and hold no '/', '+' or '#'. TLS
//   files are not opened by the loader (the master's check cannot see the backup's disk);
//   the MQTT client reports an unreadable one. A missing `mqtt` or `sparkplug` section is
//   reported at `northbound:`, a missing url at `mqtt:`. backup_overrides.northbound may hold
//   `mqtt` only, without client_id (node-local, like state_path). With a northbound section a
//   device id is a topic level too: no '/', '+' or '#' (error at the id).
// - `api.tls` (spec/security.md) needs both cert_file and key_file (a missing one is reported at
//   `tls`); the files are opened here (config/tls_files.hpp): an unreadable or unparsable file is
//   an error at its value, a key that does not match the certificate an error at key_file's.
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
  // A warning does not make the file invalid (overlapping points: a config may read one
  // register two ways on purpose); `pollux check` prints it and still exits 0.
  bool warning = false;
  // "FILE:LINE:COL: error: MESSAGE" or "FILE:LINE:COL: warning: MESSAGE"
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
  // When ok(): config_version (config/canonical.hpp) of the synchronized content BEFORE
  // backup_overrides, i.e. what the master reports (redundancy.md "Synchronization"). Equal to
  // config_version(*config) unless loaded as_backup with overrides that change something.
  std::string version;
  // Also in file order; kept whether or not the file has errors.
  std::vector<Diagnostic> warnings;
  bool ok() const { return config.has_value() && errors.empty(); }
};

// `file_name` is used verbatim in diagnostics (the path as given on the command line).
LoadResult load_file(const std::string& path, const LoadOptions& options = {});
LoadResult load_text(std::string_view text, const std::string& file_name,
                     const LoadOptions& options = {});

}  // namespace pollux::config
