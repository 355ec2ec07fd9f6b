// GET /api/v1/history: its query string in, its JSON and CSV answers out (spec/history.md
// "Reading it back" and "Settled details").
//
// Parsing: `device` and `point` are required; `from`/`to` are RFC 3339 (fractions optional,
// "Z" or an offset), `to` defaulting to now and `from` to 24 h before `to`; `from >= to` is
// 400; `limit` is an integer >= 1, default 10,000, capped at 100,000 (0, negative or
// non-numeric is 400); `interval_s` a number > 0 (whole milliseconds) asks for aggregates;
// `format` is json or csv, and `Accept: text/csv` asks for CSV too.
// CSV: a header line always, LF line ends, values as JSON prints them, strings quoted as RFC
// 4180 says (always quoted, inner quotes doubled). Aggregates in CSV: time,min,max,avg,last,count.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http_routes.hpp"
#include "api/node_api.hpp"

namespace pollux::api {

struct HistoryQuery {
  HistoryRequest request;
  bool csv = false;
  std::string error;  // non-empty: answer 400 with it
};

inline constexpr std::size_t kHistoryDefaultLimit = 10'000;
inline constexpr std::size_t kHistoryMaxLimit = 100'000;

HistoryQuery parse_history_query(const Target& target, std::string_view accept,
                                 runtime::WallTime now);

// {"device","point","records":[{"time","value","quality"}],"next"} or, with interval_ms,
// {"device","point","intervals":[{"time","min","max","avg","last","count"}]}.
nlohmann::json history_json(const HistoryRequest& request, const HistoryAnswer& answer);
std::string history_csv(const HistoryRequest& request, const HistoryAnswer& answer);

}  // namespace pollux::api
