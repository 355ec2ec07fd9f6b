// The pair's history forwarding, its pure parts (history/forwarding.hpp; spec/history.md
// "Redundancy"): records survive the trip to the master with their type and quality, a
// malformed batch is refused whole, and a `partial` backup forwards only records from times the
// master was not active.
#include "history/forwarding.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "redundancy/messages.hpp"

namespace pollux::history {
namespace {

using nlohmann::json;

Record rec(Millis t, points::Value v, Quality q = Quality::good) {
  return Record{std::make_shared<const Series>(Series{"A", "V"}), t, std::move(v), q};
}

// The same value and type (NaN equal to NaN).
bool same_value(const points::Value& a, const points::Value& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    return (std::isnan(*x) && std::isnan(y)) || *x == y;
  }
  return a == b;
}

std::vector<Record> every_kind() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Record> out;
  const std::vector<points::Value> values = {
      points::Value{},
      points::Value{true},
      points::Value{false},
      points::Value{std::int64_t{0}},
      points::Value{std::int64_t{42}},
      points::Value{std::int64_t{-42}},
      points::Value{std::numeric_limits<std::int64_t>::min()},
      points::Value{std::numeric_limits<std::int64_t>::max()},
      points::Value{std::uint64_t{0}},
      points::Value{std::uint64_t{7}},
      points::Value{std::numeric_limits<std::uint64_t>::max()},
      points::Value{2.0},
      points::Value{-0.5},
      points::Value{1e300},
      points::Value{std::nan("")},
      points::Value{inf},
      points::Value{-inf},
      points::Value{std::string{}},
      points::Value{std::string{"abc \"q\" \xc3\xa9"}},
  };
  Millis t = 1'700'000'000'000;
  for (const auto& v : values)
    for (Quality q : {Quality::good, Quality::bad, Quality::uncertain})
      out.push_back(rec(t++, v, q));
  return out;
}

void expect_same(const std::vector<Record>& got, const std::vector<Record>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].series->device, want[i].series->device);
    EXPECT_EQ(got[i].series->point, want[i].series->point);
    EXPECT_EQ(got[i].time, want[i].time);
    EXPECT_TRUE(same_value(got[i].value, want[i].value))
        << points::to_string(got[i].value) << " (index " << got[i].value.index() << ") vs "
        << points::to_string(want[i].value) << " (index " << want[i].value.index() << ")";
    EXPECT_EQ(got[i].quality, want[i].quality);
  }
}

json batch_json(const std::vector<Record>& records) {
  json out = json::array();
  for (const auto& r : records)
    out.push_back(record_json(r));
  return out;
}

TEST(ForwardedRecords, RoundTripEveryValueTypeAndQuality) {
  const auto records = every_kind();
  const auto back = records_from_json(batch_json(records));
  ASSERT_TRUE(back);
  expect_same(*back, records);
}

TEST(ForwardedRecords, RoundTripThroughThePeerLinkMessage) {
  // What the master decodes is what the backup encoded (the message is msgpack on the link).
  const auto records = every_kind();
  redundancy::HistoryForward m;
  m.seq = 3;
  m.level = "full";
  m.records = batch_json(records);
  const auto bytes = redundancy::encode_message(m);
  const auto decoded = redundancy::decode_message(bytes);
  ASSERT_TRUE(decoded.message) << decoded.error;
  const auto* f = std::get_if<redundancy::HistoryForward>(&*decoded.message);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->seq, 3u);
  EXPECT_EQ(f->level, "full");
  const auto back = records_from_json(f->records);
  ASSERT_TRUE(back);
  expect_same(*back, records);
}

TEST(ForwardedRecords, NegativeTimesAndAnEmptyBatch) {
  const auto back = records_from_json(batch_json({rec(-5, std::int64_t{1})}));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].time, -5);
  const auto none = records_from_json(json::array());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ForwardedRecords, AMalformedRecordRefusesTheWholeBatch) {
  const json good = record_json(rec(1000, std::int64_t{5}));
  const auto with = [&](const std::string& key, json v) {
    json r = good;
    r[key] = std::move(v);
    return r;
  };
  const auto without = [&](const std::string& key) {
    json r = good;
    r.erase(key);
    return r;
  };
  const std::vector<json> bad = {
      json(nullptr),
      json(5),
      json::array(),
      without("d"),
      without("p"),
      without("t"),
      without("v"),
      without("q"),
      with("d", 1),
      with("p", nullptr),
      with("t", "1000"),
      with("t", 1.5),
      with("t", nullptr),
      with("t", std::numeric_limits<std::uint64_t>::max()),
      with("u", true),  // an int64 value cannot be a uint64 one
      with("u", 1),
      with("v", json::array({1})),
      with("v", json::object()),
      with("q", "fine"),
      with("q", 0),
      with("q", nullptr),
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.dump());
    EXPECT_FALSE(records_from_json(json::array({good, b, good})));
  }
  EXPECT_FALSE(records_from_json(json::object()));
  EXPECT_FALSE(records_from_json(good));
  EXPECT_TRUE(records_from_json(json::array({good, good})));
}

TEST(Coverage, ActiveFromInclusiveToExclusive) {
  Coverage c;
  c.started_at = 1000;
  c.active = {{2000, 3000}, {5000, std::nullopt}};
  EXPECT_FALSE(c.active_at(999));
  EXPECT_FALSE(c.active_at(1500));  // up, standby
  EXPECT_FALSE(c.active_at(1999));
  EXPECT_TRUE(c.active_at(2000));
  EXPECT_TRUE(c.active_at(2999));
  EXPECT_FALSE(c.active_at(3000));
  EXPECT_FALSE(c.active_at(4999));
  EXPECT_TRUE(c.active_at(5000));  // open: active from then on
  EXPECT_TRUE(c.active_at(1'000'000'000'000));
  EXPECT_FALSE(Coverage{}.active_at(0));
}

TEST(Coverage, JsonRoundTripAndMalformed) {
  Coverage c;
  c.started_at = 7;
  c.active = {{10, 20}, {30, std::nullopt}};
  const auto back = Coverage::from_json(c.started_at, c.active_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->started_at, 7);
  EXPECT_EQ(back->active, c.active);
  EXPECT_FALSE(Coverage::from_json(0, json::object()));
  EXPECT_FALSE(Coverage::from_json(0, json::array({json{{"from", 1}}})));
  EXPECT_FALSE(Coverage::from_json(0, json::array({json{{"from", "1"}, {"to", nullptr}}})));
  EXPECT_FALSE(Coverage::from_json(0, json::array({json{{"from", 1}, {"to", "2"}}})));
  EXPECT_FALSE(Coverage::from_json(0, json::array({5})));
}

TEST(ForwardPartial, OnlyRecordsFromTimesTheMasterWasNotActive) {
  // Master started at 1000, standby until 2000, active until 3000 (handover), standby, active
  // again from 5000 on.
  Coverage c;
  c.started_at = 1000;
  c.active = {{2000, 3000}, {5000, std::nullopt}};
  EXPECT_TRUE(forward_partial(c, rec(500, std::int64_t{1})));    // master dead
  EXPECT_TRUE(forward_partial(c, rec(1500, std::int64_t{1})));   // master up, standby
  EXPECT_FALSE(forward_partial(c, rec(2000, std::int64_t{1})));  // split: both active
  EXPECT_FALSE(forward_partial(c, rec(2999, std::int64_t{1})));
  EXPECT_TRUE(forward_partial(c, rec(3000, std::int64_t{1})));
  EXPECT_TRUE(forward_partial(c, rec(4999, std::int64_t{1})));
  EXPECT_FALSE(forward_partial(c, rec(5000, std::int64_t{1})));
  EXPECT_FALSE(forward_partial(c, rec(9000, std::int64_t{1})));
  // A master that has not been active since it started: everything.
  Coverage never;
  never.started_at = 1000;
  EXPECT_TRUE(forward_partial(never, rec(9000, std::int64_t{1})));
}

}  // namespace
}  // namespace pollux::history
