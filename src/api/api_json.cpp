#include "api/api_json.hpp"

#include <limits>

#include "api/time_format.hpp"

namespace pollux::api {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<runtime::WallTime>& t) {
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}

}  // namespace

std::string_view to_string(Quality quality) {
  switch (quality) {
    case Quality::good:
      return "good";
    case Quality::bad:
      return "bad";
    case Quality::uncertain:
      return "uncertain";
  }
  return "bad";
}

std::string_view to_string(CommStatus status) {
  switch (status) {
    case CommStatus::ok:
      return "ok";
    case CommStatus::failed:
      return "failed";
    case CommStatus::disabled:
      return "disabled";
  }
  return "failed";
}

std::string_view to_string(ChannelStatus status) {
  switch (status) {
    case ChannelStatus::ok:
      return "ok";
    case ChannelStatus::down:
      return "down";
    case ChannelStatus::disabled:
      return "disabled";
  }
  return "down";
}

json to_json(const HealthView& health) {
  json out = {{"status", "ok"},
              {"node", health.node},
              {"role", health.role},
              {"activity", health.activity}};
  if (health.history) out["history"] = *health.history;
  return out;
}

json to_summary_json(const DeviceView& d) {
  return {{"id", d.id},
          {"enabled", d.enabled},
          {"active_line", d.active_line},
          {"primary_failed_over", d.primary_failed_over},
          {"comm", to_string(d.comm)}};
}

json to_json(const DeviceView& d) {
  json lines = json::array();
  for (const auto& l : d.lines) {
    json line = {
        {"line", l.line}, {"channel", l.channel}, {"eligible", l.eligible}, {"usable", l.usable}};
    if (l.retry_primary_s) line["retry_primary_s"] = *l.retry_primary_s;
    lines.push_back(std::move(line));
  }
  const auto& s = d.stats;
  return {{"id", d.id},
          {"enabled", d.enabled},
          {"unit", d.unit},
          {"auto", d.auto_failover},
          {"active_line", d.active_line},
          {"active_channel", d.active_channel},
          {"lines", std::move(lines)},
          {"primary_failed_over", d.primary_failed_over},
          {"last_success", time_or_null(d.last_success)},
          {"last_good_line", d.last_good_line == 0 ? json(nullptr) : json(d.last_good_line)},
          {"comm", to_string(d.comm)},
          {"stats",
           {{"messages_ok", s.messages_ok},
            {"messages_failed", s.messages_failed},
            {"exceptions", s.exceptions},
            {"timeouts", s.timeouts},
            {"crc_errors", s.crc_errors},
            {"framing_errors", s.framing_errors},
            {"polls_ok", s.polls_ok},
            {"polls_failed", s.polls_failed},
            {"demoted", s.demoted},
            {"polls_skipped", s.polls_skipped},
            {"overruns", s.overruns}}},
          {"writable", d.writable}};
}

json value_json(const PointValue& value) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

json to_json(const PointView& p) {
  json out = {{"device", p.device},
              {"name", p.name},
              {"value", value_json(p.value)},
              {"quality", to_string(p.quality)},
              {"timestamp", time_or_null(p.timestamp)}};
  if (p.quality == Quality::bad && !p.error.empty()) out["error"] = p.error;
  return out;
}

json to_json(const ChannelView& c) {
  json stats = json::object();
  for (const auto& [name, value] : c.stats)
    stats[name] = value;
  return {{"id", c.id},
          {"type", c.type},
          {"protocol", c.protocol},
          {"enabled", c.enabled},
          {"status", to_string(c.status)},
          {"stats", std::move(stats)}};
}

json to_json(const EventView& e) {
  return {{"seq", e.seq},       {"time", format_rfc3339(e.time)},
          {"device", e.device}, {"from", e.from},
          {"to", e.to},         {"reason", e.reason}};
}

json to_json(const RedundancyEventView& e) {
  return {{"seq", e.seq},
          {"time", format_rfc3339(e.time)},
          {"from", e.from},
          {"to", e.to},
          {"reason", e.reason}};
}

json to_json(const RedundancyView& r) {
  json events = json::array();
  for (const auto& e : r.events) {
    events.push_back(to_json(e));
  }
  json paths = json::array();
  for (const auto& p : r.paths)
    paths.push_back({{"name", p.name}, {"up", p.up}, {"last_heard", time_or_null(p.last_heard)}});
  json out = {{"mode", r.mode},
              {"activity", r.activity},
              {"peer",
               {{"connected", r.peer_connected},
                {"authenticated", r.peer_authenticated},
                {"address", r.peer_address},
                {"last_heartbeat", time_or_null(r.peer_last_heartbeat)},
                {"activity", r.peer_activity},
                {"via", r.peer_via}}},
              {"paths", std::move(paths)},
              {"config_version", r.config_version},
              {"state_seq", r.state_seq},
              {"last_error", r.last_error},
              {"events", std::move(events)}};
  if (r.history)
    out["history"] = {{"level", r.history->level},
                      {"pending", r.history->pending},
                      {"forwarded", r.history->forwarded}};
  return out;
}

json to_json(const NorthboundView& n) {
  return {{"connected", n.connected},
          {"broker", n.broker},
          {"edge_node", n.edge_node},
          {"bd_seq", n.bd_seq},
          {"seq", n.seq},
          {"held", n.held},
          {"published", n.published},
          {"last_error", n.last_error},
          {"state", n.state},
          {"dropped", n.dropped},
          {"commands_refused", n.commands_refused}};
}

json error_json(std::string_view message) {
  return {{"error", message}};
}

json reload_json(const ReloadOutcome& reload) {
  if (reload.outcome.ok()) return {{"version", reload.version}};
  json out =
      error_json(reload.outcome.error.empty() ? "config reload refused" : reload.outcome.error);
  out["errors"] = reload.errors;
  return out;
}

namespace {

// Parses a JSON object body; on failure returns nullopt and sets `error`.
std::optional<json> parse_object(std::string_view body, std::string& error) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    error = "malformed JSON body";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    error = "request body must be a JSON object";
    return std::nullopt;
  }
  return doc;
}

}  // namespace

LineRequest parse_line_request(std::string_view body) {
  LineRequest out;
  auto doc = parse_object(body, out.error);
  if (!doc) return out;
  const auto it = doc->find("line");
  if (it == doc->end()) {
    out.error = "missing field \"line\"";
    return out;
  }
  if (!it->is_number_integer()) {
    out.error = "\"line\" must be an integer 1..3";
    return out;
  }
  // Positive literals parse as unsigned, negative ones as signed: check each without wrapping.
  const bool in_range = it->is_number_unsigned()
                            ? it->get<std::uint64_t>() >= 1 && it->get<std::uint64_t>() <= 3
                            : it->get<std::int64_t>() >= 1 && it->get<std::int64_t>() <= 3;
  if (!in_range) {
    out.error = "line must be 1..3";
    return out;
  }
  out.line = static_cast<int>(it->get<std::int64_t>());
  return out;
}

WriteRequest parse_write_request(std::string_view body) {
  WriteRequest out;
  auto doc = parse_object(body, out.error);
  if (!doc) return out;
  const auto point = doc->find("point");
  if (point == doc->end() || !point->is_string() || point->get_ref<const std::string&>().empty()) {
    out.error = "missing or non-string field \"point\"";
    return out;
  }
  out.point = point->get<std::string>();
  const auto value = doc->find("value");
  if (value == doc->end()) {
    out.error = "missing field \"value\"";
    return out;
  }
  if (value->is_boolean()) {
    out.value = value->get<bool>();
  } else if (value->is_number_unsigned()) {
    const auto u = value->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out.error = "\"value\" out of range";
      return out;
    }
    out.value = static_cast<std::int64_t>(u);
  } else if (value->is_number_integer()) {
    out.value = value->get<std::int64_t>();
  } else if (value->is_number_float()) {
    out.value = value->get<double>();
  } else if (value->is_string()) {
    out.value = value->get<std::string>();
  } else {
    out.error = "\"value\" must be a number, boolean or string";
  }
  return out;
}

}  // namespace pollux::api
