// polluxctl's human-readable output: aligned tables and key/value blocks built from the API's
// JSON (spec/api.md shapes). --json bypasses all of this and prints the answer as received.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polluxctl {

using Row = std::vector<std::string>;

// Left-aligned columns separated by two spaces; the header row first.
std::string table(const Row& header, const std::vector<Row>& rows);

// A JSON scalar as an operator reads it: strings unquoted, null as "-", numbers as JSON.
std::string text(const nlohmann::json& value);

std::string format_status(const nlohmann::json& health, const nlohmann::json& channels);
std::string format_channels(const nlohmann::json& channels);
// `colour`: DEVICE.comm in ANSI colour (ok green, failed red, disabled yellow), for a terminal.
std::string format_devices(const nlohmann::json& devices, bool colour = false);
std::string comm_text(const nlohmann::json& comm, bool colour);
std::string format_device(const nlohmann::json& device);
std::string format_points(const nlohmann::json& points);
std::string format_events(const nlohmann::json& events);
std::string format_redundancy(const nlohmann::json& redundancy);
// GET /api/v1/northbound as a two-column table.
std::string format_northbound(const nlohmann::json& northbound);
// GET /api/v1/history: TIME VALUE QUALITY rows, or one row per interval with its aggregates.
std::string format_history(const nlohmann::json& history);
// The answer to `line`: the new active line and, on a device with automatic failover, whether
// and when Retry primary moves it back to line 1 (failover.md rules 5 and 7: a manual change
// restarts the timer at `now`).
std::string format_line_change(const nlohmann::json& device, std::time_t now);

}  // namespace polluxctl
