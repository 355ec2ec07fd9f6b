// GET /api/v1/history's query string, JSON and CSV (spec/history.md "Reading it back" and
// "Settled details"): every 400 rule, the defaults, the limit cap, CSV quoting.
#include "api/history_query.hpp"

#include <gtest/gtest.h>

#include "api/time_format.hpp"

namespace pollux::api {
namespace {

using nlohmann::json;

runtime::WallTime at(const char* text) {
  return *parse_rfc3339(text);
}

HistoryQuery parse(const std::string& query, std::string_view accept = "") {
  const auto target = parse_target("/api/v1/history?" + query);
  EXPECT_TRUE(target.has_value());
  return parse_history_query(*target, accept, at("2026-12-06T12:00:00Z"));
}

TEST(HistoryQueryParse, DefaultsAreTheLastDayAndTenThousand) {
  const HistoryQuery q = parse("device=W&point=P");
  ASSERT_EQ(q.error, "");
  EXPECT_EQ(q.request.device, "W");
  EXPECT_EQ(q.request.point, "P");
  EXPECT_EQ(q.request.to, at("2026-12-06T12:00:00Z"));
  EXPECT_EQ(q.request.from, at("2026-12-05T12:00:00Z"));
  EXPECT_EQ(q.request.limit, 10'000u);
  EXPECT_FALSE(q.request.interval_ms);
  EXPECT_FALSE(q.csv);
}

TEST(HistoryQueryParse, FromDefaultsToADayBeforeAGivenTo) {
  const HistoryQuery q = parse("device=W&point=P&to=2026-01-02T00:00:00Z");
  ASSERT_EQ(q.error, "");
  EXPECT_EQ(q.request.from, at("2026-01-01T00:00:00Z"));
}

TEST(HistoryQueryParse, TimesWithFractionsAndOffsets) {
  const HistoryQuery q =
      parse("device=W&point=P&from=2026-12-06T07:00:00.250%2B01:00&to=2026-12-06T06:30:00Z");
  ASSERT_EQ(q.error, "");
  EXPECT_EQ(q.request.from, at("2026-12-06T06:00:00.250Z"));
}

TEST(HistoryQueryParse, BadRequestsAre400) {
  for (const char* bad :
       {"point=P", "device=W", "device=W&point=P&from=yesterday", "device=W&point=P&to=2026-13-01",
        "device=W&point=P&from=2026-12-06T00:00:00Z&to=2026-12-06T00:00:00Z",
        "device=W&point=P&from=2026-12-06T01:00:00Z&to=2026-12-06T00:00:00Z",
        "device=W&point=P&limit=0", "device=W&point=P&limit=-5", "device=W&point=P&limit=abc",
        "device=W&point=P&limit=1.5", "device=W&point=P&interval_s=0",
        "device=W&point=P&interval_s=-60", "device=W&point=P&interval_s=x",
        "device=W&point=P&format=xml", "device=W&point=P&to=0587-12-06T08:00:00Z",
        "device=W&point=P&from=9999-01-01T00:00:00Z"})
    EXPECT_NE(parse(bad).error, "") << bad;
}

TEST(HistoryQueryParse, LimitAboveTheCapIsCapped) {
  EXPECT_EQ(parse("device=W&point=P&limit=5000000").request.limit, 100'000u);
  EXPECT_EQ(parse("device=W&point=P&limit=100000").request.limit, 100'000u);
  EXPECT_EQ(parse("device=W&point=P&limit=1").request.limit, 1u);
}

TEST(HistoryQueryParse, IntervalInWholeMilliseconds) {
  EXPECT_EQ(parse("device=W&point=P&interval_s=60").request.interval_ms, 60'000);
  EXPECT_EQ(parse("device=W&point=P&interval_s=0.5").request.interval_ms, 500);
}

TEST(HistoryQueryParse, CsvByFormatOrAccept) {
  EXPECT_TRUE(parse("device=W&point=P&format=csv").csv);
  EXPECT_TRUE(parse("device=W&point=P", "text/csv").csv);
  EXPECT_TRUE(parse("device=W&point=P", "application/json;q=0.5, text/csv").csv);
  EXPECT_FALSE(parse("device=W&point=P&format=json", "text/csv").csv);
}

HistoryAnswer two_records() {
  HistoryAnswer a;
  a.records.push_back({at("2026-12-06T00:00:00.125Z"), 1.5, Quality::good});
  a.records.push_back({at("2026-12-06T00:00:01Z"), std::monostate{}, Quality::bad});
  a.next = at("2026-12-06T00:00:02Z");
  return a;
}

TEST(HistoryQueryAnswer, RawJson) {
  HistoryRequest r;
  r.device = "W";
  r.point = "P";
  EXPECT_EQ(history_json(r, two_records()), json::parse(R"({"device":"W","point":"P",
    "records":[{"time":"2026-12-06T00:00:00.125Z","value":1.5,"quality":"good"},
               {"time":"2026-12-06T00:00:01.000Z","value":null,"quality":"bad"}],
    "next":"2026-12-06T00:00:02.000Z"})"));
  EXPECT_TRUE(history_json(r, HistoryAnswer{}).at("next").is_null());
}

TEST(HistoryQueryAnswer, AggregatesJsonAndCsv) {
  HistoryRequest r;
  r.device = "W";
  r.point = "P";
  r.interval_ms = 60'000;
  HistoryAnswer a;
  a.intervals.push_back({at("2026-12-06T00:01:00Z"), 1, 3, 2, 3, 3});
  EXPECT_EQ(history_json(r, a), json::parse(R"({"device":"W","point":"P","intervals":[
    {"time":"2026-12-06T00:01:00.000Z","min":1.0,"max":3.0,"avg":2.0,"last":3.0,"count":3}]})"));
  EXPECT_EQ(history_csv(r, a),
            "time,min,max,avg,last,count\n2026-12-06T00:01:00.000Z,1.0,3.0,2.0,3.0,3\n");
}

TEST(HistoryQueryAnswer, CsvHeaderAlwaysValuesAsJsonStringsQuoted) {
  HistoryRequest r;
  EXPECT_EQ(history_csv(r, HistoryAnswer{}), "time,value,quality\n");
  HistoryAnswer a = two_records();
  a.records.push_back({at("2026-12-06T00:00:03Z"), std::string("a \"b\", c"), Quality::good});
  a.records.push_back({at("2026-12-06T00:00:04Z"), true, Quality::uncertain});
  EXPECT_EQ(history_csv(r, a),
            "time,value,quality\n"
            "2026-12-06T00:00:00.125Z,1.5,good\n"
            "2026-12-06T00:00:01.000Z,null,bad\n"
            "2026-12-06T00:00:03.000Z,\"a \"\"b\"\", c\",good\n"
            "2026-12-06T00:00:04.000Z,true,uncertain\n");
}

}  // namespace
}  // namespace pollux::api
