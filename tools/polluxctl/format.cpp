#include "format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace polluxctl {

using nlohmann::json;

namespace {

// The width a cell takes on a terminal: SGR colour sequences (ESC [ ... m) take none.
std::size_t visible_size(const std::string& cell) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < cell.size(); ++i) {
    if (cell[i] == '\x1b' && i + 1 < cell.size() && cell[i + 1] == '[') {
      while (i < cell.size() && cell[i] != 'm')
        ++i;
      continue;
    }
    ++n;
  }
  return n;
}

}  // namespace

std::string table(const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], visible_size(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows)
    measure(row);
  std::string out;
  auto emit = [&](const Row& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - visible_size(row[i]) + 2, ' ');
    }
    // An empty last cell would leave padding behind; keep lines clean for grep and diff.
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows)
    emit(row);
  return out;
}

std::string text(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  return value.dump();
}

namespace {

const json& field(const json& object, const char* name) {
  static const json null;
  if (!object.is_object()) return null;
  const auto it = object.find(name);
  return it == object.end() ? null : *it;
}

std::string stats_text(const json& stats) {
  std::string out;
  if (!stats.is_object()) return out;
  for (const auto& [k, v] : stats.items()) {
    if (!out.empty()) out += ' ';
    out += k + "=" + text(v);
  }
  return out;
}

}  // namespace

std::string format_channels(const json& channels) {
  std::vector<Row> rows;
  for (const auto& c : channels) {
    rows.push_back({text(field(c, "id")), text(field(c, "type")), text(field(c, "protocol")),
                    text(field(c, "enabled")), text(field(c, "status")),
                    stats_text(field(c, "stats"))});
  }
  return table({"CHANNEL", "TYPE", "PROTOCOL", "ENABLED", "STATUS", "STATS"}, rows);
}

std::string format_status(const json& health, const json& channels) {
  std::string out =
      table({"node", text(field(health, "node"))},
            {{"role", text(field(health, "role"))}, {"activity", text(field(health, "activity"))}});
  return out + "\n" + format_channels(channels);
}

std::string comm_text(const json& comm, bool colour) {
  std::string s = text(comm);
  if (!colour) return s;
  // Green answers, red failed on every line it tried, yellow switched off by the operator.
  const char* sgr = s == "ok" ? "32" : s == "failed" ? "1;31" : s == "disabled" ? "33" : nullptr;
  return sgr ? std::string("\x1b[") + sgr + "m" + s + "\x1b[0m" : s;
}

std::string format_devices(const json& devices, bool colour) {
  std::vector<Row> rows;
  bool starred = false;
  for (const auto& d : devices) {
    const json& s = field(d, "stats");
    std::string line = text(field(d, "active_line"));
    if (field(d, "primary_failed_over") == true) {
      line += "*";
      starred = true;
    }
    rows.push_back({text(field(d, "id")), comm_text(field(d, "comm"), colour),
                    text(field(d, "unit")), text(field(d, "enabled")),
                    field(d, "auto") == false ? "manual" : "auto", line,
                    text(field(d, "active_channel")), text(field(d, "last_success")),
                    text(field(s, "messages_ok")), text(field(s, "messages_failed")),
                    text(field(s, "exceptions")), text(field(s, "timeouts")),
                    text(field(s, "crc_errors")), text(field(s, "framing_errors"))});
  }
  std::string out = table({"DEVICE", "COMM", "UNIT", "ENABLED", "MODE", "LINE", "CHANNEL",
                           "LAST_SUCCESS", "OK", "FAILED", "EXC", "TIMEOUTS", "CRC", "FRAMING"},
                          rows);
  // failover.md rule 6 (SYDEVPRFO): set when a failure moved the device off line 1, cleared by
  // its next good answer on line 1.
  if (starred)
    out +=
        "\n* primary failed over: a failure moved the device off line 1 and it "
        "has not answered on line 1 since (SYDEVPRFO = 1)\n";
  return out;
}

std::string format_device(const json& d) {
  std::vector<Row> rows = {
      {"unit", text(field(d, "unit"))},
      {"enabled", text(field(d, "enabled"))},
      {"comm", text(field(d, "comm"))},
      {"mode", field(d, "auto") == false ? "manual" : "auto"},
      {"active line",
       text(field(d, "active_line")) + " (" + text(field(d, "active_channel")) + ")"},
      {"primary failed over", text(field(d, "primary_failed_over"))},
      {"last success", text(field(d, "last_success"))},
      {"last good line", text(field(d, "last_good_line"))},
      {"stats", stats_text(field(d, "stats"))},
  };
  std::string out = table({"device", text(field(d, "id"))}, rows) + "\n";
  std::vector<Row> lines;
  for (const auto& l : field(d, "lines")) {
    lines.push_back({text(field(l, "line")), text(field(l, "channel")), text(field(l, "eligible")),
                     text(field(l, "usable"))});
  }
  return out + table({"LINE", "CHANNEL", "ELIGIBLE", "USABLE"}, lines);
}

std::string format_points(const json& points) {
  std::vector<Row> rows;
  for (const auto& p : points) {
    const json& value = field(p, "value");
    // Booleans show as true/false here: "yes" would read like a string value.
    rows.push_back({text(field(p, "device")), text(field(p, "name")),
                    value.is_boolean() ? value.dump() : text(value), text(field(p, "quality")),
                    text(field(p, "timestamp")),
                    field(p, "error").is_null() ? "" : text(field(p, "error"))});
  }
  return table({"DEVICE", "POINT", "VALUE", "QUALITY", "TIMESTAMP", "ERROR"}, rows);
}

std::string format_events(const json& events) {
  std::vector<Row> rows;
  for (const auto& e : events) {
    rows.push_back({text(field(e, "seq")), text(field(e, "time")), text(field(e, "device")),
                    text(field(e, "from")), text(field(e, "to")), text(field(e, "reason"))});
  }
  return table({"SEQ", "TIME", "DEVICE", "FROM", "TO", "REASON"}, rows);
}

std::string format_history(const json& h) {
  std::vector<Row> rows;
  if (h.contains("intervals")) {
    for (const auto& i : field(h, "intervals"))
      rows.push_back({text(field(i, "time")), text(field(i, "min")), text(field(i, "max")),
                      text(field(i, "avg")), text(field(i, "last")), text(field(i, "count"))});
    return table({"TIME", "MIN", "MAX", "AVG", "LAST", "COUNT"}, rows);
  }
  for (const auto& rec : field(h, "records"))
    rows.push_back(
        {text(field(rec, "time")), text(field(rec, "value")), text(field(rec, "quality"))});
  return table({"TIME", "VALUE", "QUALITY"}, rows);
}

std::string format_northbound(const json& n) {
  const json& error = field(n, "last_error");
  return table({"edge node", text(field(n, "edge_node"))},
               {{"broker", text(field(n, "broker"))},
                {"state", text(field(n, "state"))},
                {"connected", text(field(n, "connected"))},
                {"bdSeq", text(field(n, "bd_seq"))},
                {"seq", text(field(n, "seq"))},
                {"published", text(field(n, "published"))},
                {"held", text(field(n, "held"))},
                {"dropped", text(field(n, "dropped"))},
                {"commands refused", text(field(n, "commands_refused"))},
                {"last error", error.is_null() || error == "" ? "-" : text(error)}});
}

std::string format_redundancy(const json& r) {
  const json& peer = field(r, "peer");
  const json& error = field(r, "last_error");
  std::string last_error = error.is_null() || error == "" ? "-" : text(error);
  // The node keeps its last link error after the link recovered; an authenticated link means
  // the error is history, not the state now.
  if (last_error != "-" && field(peer, "authenticated") == true)
    last_error = "(past) " + last_error;
  std::string out = table({"mode", text(field(r, "mode"))},
                          {{"activity", text(field(r, "activity"))},
                           {"peer", text(field(peer, "address"))},
                           {"peer connected", text(field(peer, "connected"))},
                           {"peer authenticated", text(field(peer, "authenticated"))},
                           {"peer activity", text(field(peer, "activity"))},
                           {"peer last heartbeat", text(field(peer, "last_heartbeat"))},
                           {"config version", text(field(r, "config_version"))},
                           {"state seq", text(field(r, "state_seq"))},
                           {"last error", last_error}});
  const json& events = field(r, "events");
  if (events.is_array() && !events.empty()) {
    std::vector<Row> rows;
    for (const auto& e : events) {
      rows.push_back({text(field(e, "seq")), text(field(e, "time")), text(field(e, "from")),
                      text(field(e, "to")), text(field(e, "reason"))});
    }
    out += '\n';
    out += table({"SEQ", "TIME", "FROM", "TO", "REASON"}, rows);
  }
  return out;
}

namespace {

// 300 -> "300", 1.5 -> "1.5".
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

std::string clock_text(std::time_t t) {
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

}  // namespace

std::string format_line_change(const json& d, std::time_t now) {
  const std::string id = text(field(d, "id"));
  const json& active = field(d, "active_line");
  std::string out =
      id + ": active line " + text(active) + " (" + text(field(d, "active_channel")) + ")\n";
  if (field(d, "auto") != true || !active.is_number_integer() || active.get<int>() == 1) return out;
  const json* here = nullptr;
  std::string primary = "-";
  for (const auto& l : field(d, "lines")) {
    if (field(l, "line") == active) here = &l;
    if (field(l, "line") == 1) primary = text(field(l, "channel"));
  }
  const json& retry = here ? field(*here, "retry_primary_s") : field(d, "none");
  const std::string n = text(active);
  if (!retry.is_number()) {
    return out + "note: " + id + " fails over automatically (auto: true); line " + n +
           " has no retry_primary_s, so Retry primary will not move it back: it stays on line " +
           n + " until a failure moves it\n";
  }
  const double s = retry.get<double>();
  const std::string back = "Retry primary moves " + id + " back to line 1 (" + primary + ") ";
  if (s <= 0) {
    return out + "note: " + id + " fails over automatically (auto: true); " + back +
           "at its next poll (retry_primary_s: 0 on line " + n + "), if " + primary +
           " is usable\n";
  }
  return out + "note: " + id + " fails over automatically (auto: true); " + back + "after " +
         seconds_text(s) + " s (retry_primary_s of line " + n + "), at about " +
         clock_text(now + static_cast<std::time_t>(std::lround(s))) + ", if " + primary +
         " is usable then\n";
}

}  // namespace polluxctl
