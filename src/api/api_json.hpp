// NodeApi views -> the JSON shapes of spec/api.md (DEVICE, POINT, channel, event, health,
// redundancy, errors), and request bodies -> plain values.
//
// The only place that knows the API's field names, so the HTTP server, the status page's data
// and polluxctl's --json all agree. Null rules from api.md: last_good_line 0 -> null, an absent
// last_success/timestamp/last_heartbeat -> null, a point value before its first good read ->
// null, and a point's "error" appears only while it is bad.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/node_api.hpp"

namespace pollux::api {

std::string_view to_string(Quality quality);
std::string_view to_string(ChannelStatus status);
std::string_view to_string(CommStatus status);

nlohmann::json to_json(const HealthView& health);
nlohmann::json to_json(const DeviceView& device);
// GET /api/v1/devices?view=summary: what an overview of many devices draws (id, enabled, active
// line, primary_failed_over, comm), a tenth of the full listing's size.
nlohmann::json to_summary_json(const DeviceView& device);
nlohmann::json to_json(const PointView& point);
nlohmann::json to_json(const ChannelView& channel);
nlohmann::json to_json(const EventView& event);
nlohmann::json to_json(const RedundancyEventView& event);
nlohmann::json to_json(const RedundancyView& redundancy);
nlohmann::json to_json(const NorthboundView& northbound);
nlohmann::json value_json(const PointValue& value);

// {"error": message}
nlohmann::json error_json(std::string_view message);
// 200: {"version"}; otherwise {"error", "errors": [...]}.
nlohmann::json reload_json(const ReloadOutcome& reload);

// Parsed request bodies; on failure `error` says what was wrong (for a 400).
struct LineRequest {
  int line = 0;
  std::string error;
};
struct WriteRequest {
  std::string point;
  WriteValue value;
  std::string error;
};

// {"line": N}: N must be a JSON integer in 1..3.
LineRequest parse_line_request(std::string_view body);
// {"point": NAME, "value": V}: V a JSON number, boolean or string. Integers become int64 (an
// unsigned integer beyond int64 is refused), other numbers double.
WriteRequest parse_write_request(std::string_view body);

}  // namespace pollux::api
