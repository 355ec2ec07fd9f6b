#include "api/history_query.hpp"

#include <charconv>
#include <cmath>

#include "api/api_json.hpp"
#include "api/time_format.hpp"

namespace pollux::api {
namespace {

using nlohmann::json;

std::optional<long long> parse_integer(std::string_view s) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::string csv_field(const PointValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::string out = "\"";
    for (char c : *s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + '"';
  }
  return value_json(v).dump();
}

std::string number(double v) {
  return json(v).dump();
}

}  // namespace

HistoryQuery parse_history_query(const Target& target, std::string_view accept,
                                 runtime::WallTime now) {
  HistoryQuery q;
  HistoryRequest& r = q.request;
  const auto fail = [&q](std::string why) {
    q.error = std::move(why);
    return q;
  };
  const auto device = target.param("device");
  const auto point = target.param("point");
  if (!device || device->empty()) return fail("missing 'device'");
  if (!point || point->empty()) return fail("missing 'point'");
  r.device = *device;
  r.point = *point;
  r.to = now;
  if (const auto to = target.param("to")) {
    const auto t = parse_rfc3339(*to);
    if (!t) return fail("malformed 'to' (RFC 3339 expected): " + *to);
    r.to = *t;
  }
  r.from = r.to - std::chrono::hours(24);
  if (const auto from = target.param("from")) {
    const auto t = parse_rfc3339(*from);
    if (!t) return fail("malformed 'from' (RFC 3339 expected): " + *from);
    r.from = *t;
  }
  if (r.from >= r.to) return fail("'from' must be before 'to'");
  r.limit = kHistoryDefaultLimit;
  if (const auto limit = target.param("limit")) {
    const auto n = parse_integer(*limit);
    if (!n || *n <= 0) return fail("'limit' must be a whole number of at least 1, got " + *limit);
    r.limit = static_cast<std::size_t>(std::min<long long>(*n, kHistoryMaxLimit));
  }
  if (const auto interval = target.param("interval_s")) {
    const auto s = parse_number(*interval);
    const double ms = s ? std::round(*s * 1000) : 0;
    if (!s || !(ms >= 1) || ms > 1e15)
      return fail("'interval_s' must be a number of seconds above 0, got " + *interval);
    r.interval_ms = static_cast<std::int64_t>(ms);
  }
  const auto format = target.param("format");
  if (format && *format != "json" && *format != "csv")
    return fail("'format' must be json or csv, got " + *format);
  q.csv = format ? *format == "csv" : accept.find("text/csv") != std::string_view::npos;
  return q;
}

json history_json(const HistoryRequest& request, const HistoryAnswer& answer) {
  json out = {{"device", request.device}, {"point", request.point}};
  if (request.interval_ms) {
    json intervals = json::array();
    for (const auto& i : answer.intervals)
      intervals.push_back({{"time", format_rfc3339(i.time)},
                           {"min", i.min},
                           {"max", i.max},
                           {"avg", i.avg},
                           {"last", i.last},
                           {"count", i.count}});
    out["intervals"] = std::move(intervals);
    return out;
  }
  json records = json::array();
  for (const auto& s : answer.records)
    records.push_back({{"time", format_rfc3339(s.time)},
                       {"value", value_json(s.value)},
                       {"quality", to_string(s.quality)}});
  out["records"] = std::move(records);
  out["next"] = answer.next ? json(format_rfc3339(*answer.next)) : json(nullptr);
  return out;
}

std::string history_csv(const HistoryRequest& request, const HistoryAnswer& answer) {
  std::string out;
  if (request.interval_ms) {
    out = "time,min,max,avg,last,count\n";
    for (const auto& i : answer.intervals)
      out += format_rfc3339(i.time) + ',' + number(i.min) + ',' + number(i.max) + ',' +
             number(i.avg) + ',' + number(i.last) + ',' + std::to_string(i.count) + '\n';
    return out;
  }
  out = "time,value,quality\n";
  for (const auto& s : answer.records) {
    out += format_rfc3339(s.time);
    out += ',';
    out += csv_field(s.value);
    out += ',';
    out += to_string(s.quality);
    out += '\n';
  }
  return out;
}

}  // namespace pollux::api
