// The contract every history::Store backend keeps (store.hpp, record.hpp; spec/history.md
// "Reading it back" and "Settled details"), written once against the interface and run on each
// backend: a test binary includes this header once and instantiates StoreContract with its
// StoreUnderTest (SQLite on a temporary file, PostgreSQL on a server the test started).
//
// Usage:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(sqlite_under_test()),
//                            [](const auto& p) { return p.param.name; });
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "history/store.hpp"

namespace pollux::history::testing {

struct StoreUnderTest {
  std::string name;  // the instantiation's name: "sqlite", "postgres"
  // Opens connections to a new, empty store; called once per test.
  std::function<StoreFactory()> fresh;
  // A new, empty store that rejects a write part-way through a batch: either the batch is too
  // large for it (SQLite with a size cap) or it ends with `poison` (a record the backend
  // refuses); see WriteIsAllOrNothing.
  std::function<StoreFactory()> fresh_small;
  std::function<std::optional<Record>(SeriesRef)> poison;
};

inline void PrintTo(const StoreUnderTest& s, std::ostream* os) {
  *os << s.name;
}

inline SeriesRef series(std::string device, std::string point) {
  return std::make_shared<const Series>(Series{std::move(device), std::move(point)});
}

inline Record rec(const SeriesRef& s, Millis t, points::Value v, Quality q = Quality::good) {
  return Record{s, t, std::move(v), q};
}

inline RawQuery raw(const SeriesRef& s, Millis from, Millis to, std::size_t limit = 10'000) {
  return RawQuery{s->device, s->point, from, to, limit};
}

inline std::vector<Millis> times(const RawPage& p) {
  std::vector<Millis> out;
  for (const Sample& s : p.records)
    out.push_back(s.time);
  return out;
}

class StoreContract : public ::testing::TestWithParam<StoreUnderTest> {
 protected:
  void SetUp() override {
    open_ = GetParam().fresh();
    store_ = open_();
  }

  std::vector<Sample> all(const SeriesRef& s) {
    return store_
        ->read_raw(raw(s, std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max(),
                       1'000'000))
        .records;
  }

  StoreFactory open_;
  std::unique_ptr<Store> store_;
};

// 2023-11-15T00:00:00Z.
inline constexpr Millis kMidnight = 1'700'006'400'000;

TEST_P(StoreContract, ReadsOnePointsRecordsInTimeOrder) {
  const auto a = series("WELL_01", "PRESSURE");
  const auto b = series("WELL_01", "FLOW");
  const auto c = series("WELL_02", "PRESSURE");
  std::vector<Record> batch = {rec(a, 3000, 3.0), rec(b, 1500, 15.0), rec(a, 1000, 1.0),
                               rec(c, 2000, 20.0), rec(a, 2000, 2.0)};
  store_->write(batch);
  std::vector<Record> later = {rec(a, 500, 0.5), rec(b, 500, 5.0)};
  store_->write(later);

  const RawPage p = store_->read_raw(raw(a, 0, 10'000));
  EXPECT_EQ(times(p), (std::vector<Millis>{500, 1000, 2000, 3000}));
  EXPECT_EQ(p.records[1], (Sample{1000, 1.0, Quality::good}));
  EXPECT_FALSE(p.next);
  EXPECT_EQ(times(store_->read_raw(raw(b, 0, 10'000))), (std::vector<Millis>{500, 1500}));
  EXPECT_EQ(times(store_->read_raw(raw(c, 0, 10'000))), (std::vector<Millis>{2000}));
}

TEST_P(StoreContract, UnknownSeriesAndEmptyRangesAreEmptyPages) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> batch = {rec(a, 1000, 1.0)};
  store_->write(batch);
  const RawPage unknown = store_->read_raw(raw(series("WELL_01", "NOPE"), 0, 10'000));
  EXPECT_TRUE(unknown.records.empty());
  EXPECT_FALSE(unknown.next);
  EXPECT_TRUE(store_->read_raw(raw(series("NOPE", "PRESSURE"), 0, 10'000)).records.empty());
  EXPECT_TRUE(store_->read_raw(raw(a, 1000, 1000)).records.empty());
  EXPECT_TRUE(store_->read_raw(raw(a, 2000, 1000)).records.empty());
  EXPECT_TRUE(store_->read_intervals({"WELL_01", "NOPE", 0, 10'000, 1000}).empty());
  std::vector<Record> none;
  store_->write(none);
  EXPECT_EQ(all(a).size(), 1u);
}

TEST_P(StoreContract, ALaterRecordOfTheSameKeyInOneWriteReplacesTheEarlier) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> batch = {rec(a, 1000, 1.0), rec(a, 2000, 2.0),
                               rec(a, 1000, std::string("second"), Quality::bad),
                               rec(a, 1000, 3.0, Quality::uncertain)};
  store_->write(batch);
  EXPECT_EQ(all(a),
            (std::vector<Sample>{{1000, 3.0, Quality::uncertain}, {2000, 2.0, Quality::good}}));
}

TEST_P(StoreContract, ARecordOfAStoredKeyReplacesIt) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> first = {rec(a, 1000, 1.0), rec(a, 2000, 2.0)};
  store_->write(first);
  // The same names from another SeriesRef (a replayed or forwarded batch) are the same series.
  std::vector<Record> again = {
      rec(series("WELL_01", "PRESSURE"), 2000, std::int64_t{7}, Quality::bad)};
  store_->write(again);
  EXPECT_EQ(all(a), (std::vector<Sample>{{1000, 1.0, Quality::good},
                                         {2000, std::int64_t{7}, Quality::bad}}));
}

TEST_P(StoreContract, PagesFromInclusiveToExclusiveWithNext) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> batch;
  for (int i = 0; i < 10; ++i)
    batch.push_back(rec(a, i * 1000, static_cast<double>(i)));
  store_->write(batch);

  RawPage p = store_->read_raw(raw(a, 1000, 6000, 2));
  EXPECT_EQ(times(p), (std::vector<Millis>{1000, 2000}));
  EXPECT_EQ(p.next, 3000);
  p = store_->read_raw(raw(a, *p.next, 6000, 2));
  EXPECT_EQ(times(p), (std::vector<Millis>{3000, 4000}));
  EXPECT_EQ(p.next, 5000);
  p = store_->read_raw(raw(a, *p.next, 6000, 2));
  EXPECT_EQ(times(p), (std::vector<Millis>{5000}));  // 6000 is `to`: not in the range
  EXPECT_FALSE(p.next);

  // A page that ends exactly at the last record has no next.
  p = store_->read_raw(raw(a, 8000, 20'000, 2));
  EXPECT_EQ(times(p), (std::vector<Millis>{8000, 9000}));
  EXPECT_FALSE(p.next);
  // Between records: `from` needs no record of its own.
  p = store_->read_raw(raw(a, 1500, 3001, 1));
  EXPECT_EQ(times(p), (std::vector<Millis>{2000}));
  EXPECT_EQ(p.next, 3000);
  // limit 0: nothing, but whether anything remains.
  p = store_->read_raw(raw(a, 0, 20'000, 0));
  EXPECT_TRUE(p.records.empty());
  EXPECT_EQ(p.next, 0);
}

TEST_P(StoreContract, TimesBeforeNineteenSeventySortAndPage) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> batch = {rec(a, 5, 1.0), rec(a, -1, 2.0), rec(a, -86'400'000'000, 3.0)};
  store_->write(batch);
  const RawPage p = store_->read_raw(raw(a, -86'400'000'000, 5, 10));
  EXPECT_EQ(times(p), (std::vector<Millis>{-86'400'000'000, -1}));
  EXPECT_FALSE(p.next);
}

TEST_P(StoreContract, AggregatesGoodNumericRecordsPerAlignedInterval) {
  const auto a = series("WELL_01", "PRESSURE");
  const Millis m = 60'000;
  const Millis t0 = kMidnight;  // a multiple of one minute
  std::vector<Record> batch = {
      // interval t0: 1, 4 and 2 are good; the bad, uncertain and non-numeric ones do not count
      rec(a, t0, 1.0),
      rec(a, t0 + 1000, 100.0, Quality::bad),
      rec(a, t0 + 2000, std::int64_t{4}),
      rec(a, t0 + 3000, 50.0, Quality::uncertain),
      rec(a, t0 + 4000, std::uint64_t{2}),
      rec(a, t0 + 5000, true),
      rec(a, t0 + 6000, std::string("9")),
      rec(a, t0 + 7000, std::monostate{}),
      rec(a, t0 + 8000, std::numeric_limits<double>::quiet_NaN()),
      rec(a, t0 + 59'999, 7.0, Quality::bad),  // later, but bad: `last` stays 2
      // interval t0 + 1 min: nothing good -> left out
      rec(a, t0 + m, 5.0, Quality::bad),
      // interval t0 + 2 min (t0 + 3 min has no record at all -> left out)
      rec(a, t0 + 2 * m + 10, -3.5),
      // interval t0 + 4 min: one record at its last millisecond
      rec(a, t0 + 5 * m - 1, 8.0),
      // t0 + 5 min: outside [from, to)
      rec(a, t0 + 5 * m, 99.0),
  };
  store_->write(batch);
  const auto got = store_->read_intervals({"WELL_01", "PRESSURE", t0, t0 + 5 * m, m});
  const std::vector<Interval> want = {
      {.start = t0, .min = 1, .max = 4, .avg = 7.0 / 3, .last = 2, .count = 3},
      {.start = t0 + 2 * m, .min = -3.5, .max = -3.5, .avg = -3.5, .last = -3.5, .count = 1},
      {.start = t0 + 4 * m, .min = 8, .max = 8, .avg = 8, .last = 8, .count = 1},
  };
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].start, want[i].start) << i;
    EXPECT_DOUBLE_EQ(got[i].min, want[i].min) << i;
    EXPECT_DOUBLE_EQ(got[i].max, want[i].max) << i;
    EXPECT_DOUBLE_EQ(got[i].avg, want[i].avg) << i;
    EXPECT_DOUBLE_EQ(got[i].last, want[i].last) << i;
    EXPECT_EQ(got[i].count, want[i].count) << i;
  }
  // `from` inside an interval: the interval keeps its aligned start, with only the records
  // from `from` on.
  const auto part = store_->read_intervals({"WELL_01", "PRESSURE", t0 + 2001, t0 + m, m});
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part[0].start, t0);
  EXPECT_EQ(part[0].count, 1u);
  EXPECT_DOUBLE_EQ(part[0].last, 2);
}

TEST_P(StoreContract, IntervalsAlignToTheEpochAcrossMidnightAndBeforeNineteenSeventy) {
  const auto a = series("WELL_01", "LEVEL");
  const Millis h7 = 7 * 3'600'000;  // days are not multiples of 7 h: one interval spans midnight
  const Millis start = kMidnight - kMidnight % h7;
  ASSERT_LT(start, kMidnight);
  ASSERT_GT(start + h7, kMidnight);
  std::vector<Record> batch = {rec(a, kMidnight - 1000, 1.0), rec(a, kMidnight + 1000, 3.0),
                               rec(a, -1500, 10.0), rec(a, -500, 20.0), rec(a, 500, 30.0)};
  store_->write(batch);
  auto got = store_->read_intervals(
      {"WELL_01", "LEVEL", kMidnight - 3'600'000, kMidnight + 3'600'000, h7});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].start, start);
  EXPECT_EQ(got[0].count, 2u);
  EXPECT_DOUBLE_EQ(got[0].avg, 2.0);
  EXPECT_DOUBLE_EQ(got[0].last, 3.0);

  got = store_->read_intervals({"WELL_01", "LEVEL", -10'000, 10'000, 1000});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].start, -2000);
  EXPECT_EQ(got[1].start, -1000);
  EXPECT_EQ(got[2].start, 0);
  EXPECT_DOUBLE_EQ(got[1].last, 20.0);
}

TEST_P(StoreContract, DeleteBeforeRemovesOlderRecordsOfEverySeries) {
  const auto a = series("WELL_01", "PRESSURE");
  const auto b = series("WELL_02", "FLOW");
  std::vector<Record> batch = {rec(a, 1000, 1.0), rec(a, 2000, 2.0), rec(a, 3000, 3.0),
                               rec(b, 500, 5.0),  rec(b, 2999, 6.0), rec(b, 4000, 7.0)};
  store_->write(batch);
  EXPECT_EQ(store_->delete_before(3000), 4u);
  EXPECT_EQ(times(store_->read_raw(raw(a, 0, 10'000))), (std::vector<Millis>{3000}));
  EXPECT_EQ(times(store_->read_raw(raw(b, 0, 10'000))), (std::vector<Millis>{4000}));
  EXPECT_EQ(store_->delete_before(3000), 0u);
  // The series stay known: writing to them again works.
  std::vector<Record> more = {rec(a, 5000, 5.0)};
  store_->write(more);
  EXPECT_EQ(all(a).size(), 2u);
}

TEST_P(StoreContract, ReadFirstInKeyOrderAndEraseExactlyThoseKeys) {
  const auto a = series("WELL_01", "PRESSURE");
  const auto b = series("WELL_02", "FLOW");
  std::vector<Record> batch = {rec(b, 100, 1.0), rec(a, 300, std::string("x")),
                               rec(a, 200, true, Quality::bad), rec(b, 50, 2.0)};
  store_->write(batch);
  EXPECT_EQ(store_->count(), 4u);

  // Key order: each series' records together, oldest first (which series comes first is the
  // store's choice).
  using Key = std::tuple<std::string, std::string, Millis>;
  const auto keys_of = [](const std::vector<Record>& rs) {
    std::vector<Key> keys;
    for (const Record& r : rs)
      keys.emplace_back(r.series->device, r.series->point, r.time);
    return keys;
  };
  const std::vector<Record> first = store_->read_first(3);
  std::vector<Key> keys = keys_of(first);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(store_->read_first(4).size(), 4u);
  const std::vector<Key> b_first = {
      {"WELL_02", "FLOW", 50}, {"WELL_02", "FLOW", 100}, {"WELL_01", "PRESSURE", 200}};
  const std::vector<Key> a_first = {
      {"WELL_01", "PRESSURE", 200}, {"WELL_01", "PRESSURE", 300}, {"WELL_02", "FLOW", 50}};
  ASSERT_TRUE(keys == b_first || keys == a_first) << ::testing::PrintToString(keys);
  for (const Record& r : first) {
    if (r.time == 200) {
      EXPECT_EQ(r.value, points::Value(true));
      EXPECT_EQ(r.quality, Quality::bad);
    }
  }

  store_->erase(first);
  EXPECT_EQ(store_->count(), 1u);
  const std::vector<Record> rest = store_->read_first(10);
  ASSERT_EQ(rest.size(), 1u);
  const Key left = keys == b_first ? Key{"WELL_01", "PRESSURE", 300} : Key{"WELL_02", "FLOW", 100};
  EXPECT_EQ(keys_of(rest)[0], left);
  EXPECT_EQ(rest[0].value, keys == b_first ? points::Value(std::string("x")) : points::Value(1.0));
  // Erasing unknown or already erased keys is harmless.
  std::vector<Record> unknown = {rec(series("NOPE", "NOPE"), 1, 1.0), rec(b, 50, 2.0)};
  store_->erase(unknown);
  EXPECT_EQ(store_->read_first(10).size(), 1u);
  EXPECT_TRUE(store_->read_first(0).empty());
}

// (time, device, point) of each record, for read_window.
using WindowKey = std::tuple<Millis, std::string, std::string>;
inline std::vector<WindowKey> window_keys(const std::vector<Record>& records) {
  std::vector<WindowKey> out;
  for (const Record& r : records)
    out.emplace_back(r.time, r.series->device, r.series->point);
  return out;
}

TEST_P(StoreContract, ReadWindowGivesEverySeriesInTimeOrderWithNamesAndValues) {
  const auto a = series("WELL_01", "PRESSURE");
  const auto b = series("WELL_02", "FLOW");
  std::vector<Record> batch = {rec(a, kMidnight + 2000, 3.5),
                               rec(b, kMidnight + 500, std::int64_t{-7}, Quality::uncertain),
                               rec(a, kMidnight - 1, 1.0),  // before the window
                               rec(a, kMidnight, true, Quality::bad),
                               rec(b, kMidnight + 3000, std::string("x")),
                               rec(b, kMidnight + 9000, 2.0)};  // at `to`: left out
  store_->write(batch);
  store_->write(std::vector<Record>{rec(a, kMidnight + 2000, 4.5)});  // replaces 3.5

  const WindowPage p = store_->read_window({kMidnight, kMidnight + 9000, 100});
  EXPECT_FALSE(p.next);
  EXPECT_EQ(window_keys(p.records),
            (std::vector<WindowKey>{{kMidnight, "WELL_01", "PRESSURE"},
                                    {kMidnight + 500, "WELL_02", "FLOW"},
                                    {kMidnight + 2000, "WELL_01", "PRESSURE"},
                                    {kMidnight + 3000, "WELL_02", "FLOW"}}));
  ASSERT_EQ(p.records.size(), 4u);
  EXPECT_EQ(p.records[0].value, points::Value(true));
  EXPECT_EQ(p.records[0].quality, Quality::bad);
  EXPECT_EQ(p.records[1].value, points::Value(std::int64_t{-7}));
  EXPECT_EQ(p.records[1].quality, Quality::uncertain);
  EXPECT_EQ(p.records[2].value, points::Value(4.5));
  EXPECT_EQ(p.records[3].value, points::Value(std::string("x")));

  EXPECT_TRUE(store_->read_window({kMidnight + 9001, kMidnight + 20000, 10}).records.empty());
  EXPECT_TRUE(store_->read_window({kMidnight + 5, kMidnight + 5, 10}).records.empty());
}

TEST_P(StoreContract, ReadWindowCrossesWideEmptyStretches) {
  const auto a = series("WELL_01", "PRESSURE");
  const auto b = series("WELL_02", "FLOW");
  const Millis day = 86'400'000;
  std::vector<Record> batch = {rec(a, -400 * day, 1.0), rec(b, kMidnight, 2.0),
                               rec(a, kMidnight + 30 * day, 3.0),
                               rec(b, kMidnight + 30 * day + 1, 4.0)};
  store_->write(batch);
  const WindowPage all = store_->read_window(
      {std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max(), 100});
  EXPECT_FALSE(all.next);
  EXPECT_EQ(window_keys(all.records),
            (std::vector<WindowKey>{{-400 * day, "WELL_01", "PRESSURE"},
                                    {kMidnight, "WELL_02", "FLOW"},
                                    {kMidnight + 30 * day, "WELL_01", "PRESSURE"},
                                    {kMidnight + 30 * day + 1, "WELL_02", "FLOW"}}));
  const WindowPage one = store_->read_window({kMidnight - day, kMidnight + 31 * day, 1});
  EXPECT_EQ(window_keys(one.records), (std::vector<WindowKey>{{kMidnight, "WELL_02", "FLOW"}}));
  EXPECT_EQ(one.next, std::optional<Millis>(kMidnight + 30 * day));
}

TEST_P(StoreContract, ReadWindowPagesNeverSplitAMillisecond) {
  const std::vector<SeriesRef> s = {series("D1", "A"), series("D1", "B"), series("D2", "A")};
  std::vector<Record> batch;
  for (Millis t = 0; t < 3; ++t)
    for (const auto& x : s)
      batch.push_back(rec(x, kMidnight + t, static_cast<double>(t)));
  store_->write(batch);
  const auto times_of = [](const WindowPage& p) {
    std::vector<Millis> out;
    for (const Record& r : p.records)
      out.push_back(r.time - kMidnight);
    return out;
  };
  // Four fit, but the fourth would split the second millisecond: it starts the next page.
  WindowPage p = store_->read_window({kMidnight, kMidnight + 10, 4});
  EXPECT_EQ(times_of(p), (std::vector<Millis>{0, 0, 0}));
  ASSERT_EQ(p.next, std::optional<Millis>(kMidnight + 1));
  p = store_->read_window({*p.next, kMidnight + 10, 4});
  EXPECT_EQ(times_of(p), (std::vector<Millis>{1, 1, 1}));
  ASSERT_EQ(p.next, std::optional<Millis>(kMidnight + 2));
  p = store_->read_window({*p.next, kMidnight + 10, 4});
  EXPECT_EQ(times_of(p), (std::vector<Millis>{2, 2, 2}));
  EXPECT_FALSE(p.next);
  // A millisecond with more records than a page is a page of its own.
  p = store_->read_window({kMidnight, kMidnight + 10, 2});
  EXPECT_EQ(times_of(p), (std::vector<Millis>{0, 0, 0}));
  EXPECT_EQ(p.next, std::optional<Millis>(kMidnight + 1));
  // Exactly full at a millisecond's end.
  p = store_->read_window({kMidnight, kMidnight + 10, 6});
  EXPECT_EQ(times_of(p), (std::vector<Millis>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(p.next, std::optional<Millis>(kMidnight + 2));
  // Every page's records, in order, are each record once.
  std::vector<WindowKey> paged;
  std::optional<Millis> from = kMidnight;
  while (from) {
    p = store_->read_window({*from, kMidnight + 10, 2});
    for (const auto& k : window_keys(p.records))
      paged.push_back(k);
    from = p.next;
  }
  EXPECT_EQ(paged, window_keys(store_->read_window({kMidnight, kMidnight + 10, 100}).records));
  EXPECT_EQ(paged.size(), 9u);
}

TEST_P(StoreContract, EveryValueTypeAndQualityRoundTrips) {
  const auto a = series("WELL_01", "ANY");
  const std::vector<points::Value> values = {
      std::monostate{},
      false,
      true,
      std::int64_t{0},
      std::int64_t{1},
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      std::uint64_t{0},
      std::uint64_t{42},
      std::numeric_limits<std::uint64_t>::max(),
      std::uint64_t{1} << 63,
      0.0,
      -0.0,
      0.1,
      -1.0 / 3,
      1e308,
      -4.9e-324,
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      std::string(),
      std::string("it's \"quoted\", a\\b,\nnew line\r\ttab"),
      std::string("UTF-8: Überdruck 压力 🛢"),
      std::string(5000, 'x'),
  };
  std::vector<Record> batch;
  const Quality qualities[] = {Quality::good, Quality::bad, Quality::uncertain};
  for (std::size_t i = 0; i < values.size(); ++i)
    batch.push_back(rec(a, static_cast<Millis>(i), values[i], qualities[i % 3]));
  store_->write(batch);
  const std::vector<Sample> got = all(a);
  ASSERT_EQ(got.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(got[i].time, static_cast<Millis>(i));
    EXPECT_EQ(got[i].value, values[i]) << i << ": " << points::to_string(values[i]) << " read as "
                                       << points::to_string(got[i].value);
    EXPECT_EQ(got[i].value.index(), values[i].index()) << i;
    EXPECT_EQ(got[i].quality, qualities[i % 3]) << i;
  }
  EXPECT_TRUE(std::signbit(std::get<double>(got[12].value)));  // -0.0 stays negative

  std::vector<Record> nan = {rec(a, 1000, std::numeric_limits<double>::quiet_NaN())};
  store_->write(nan);
  const RawPage p = store_->read_raw(raw(a, 1000, 1001));
  ASSERT_EQ(p.records.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<double>(p.records[0].value));
  EXPECT_TRUE(std::isnan(std::get<double>(p.records[0].value)));
}

TEST_P(StoreContract, WriteIsAllOrNothing) {
  open_ = GetParam().fresh_small();
  store_ = open_();
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> good = {rec(a, 1000, 1.0), rec(a, 2000, 2.0)};
  store_->write(good);

  // A batch that replaces a stored key first, adds a new series, and then fails.
  std::vector<Record> batch = {rec(a, 1000, 11.0), rec(series("WELL_09", "NEW"), 1000, 1.0)};
  for (int i = 0; i < 20'000; ++i)
    batch.push_back(rec(a, 10'000 + i, static_cast<double>(i) + 0.123456789));
  if (auto p = GetParam().poison(series("WELL_01", "BAD"))) batch.push_back(*p);
  EXPECT_THROW(store_->write(batch), StoreError);

  EXPECT_EQ(all(a), (std::vector<Sample>{{1000, 1.0, Quality::good}, {2000, 2.0, Quality::good}}));
  EXPECT_TRUE(all(series("WELL_09", "NEW")).empty());
  EXPECT_EQ(store_->read_first(10).size(), 2u);
  // The connection still works, also for the series the failed batch named.
  std::vector<Record> next = {rec(a, 3000, 3.0), rec(series("WELL_09", "NEW"), 5, 5.0)};
  store_->write(next);
  EXPECT_EQ(all(a).size(), 3u);
  EXPECT_EQ(all(series("WELL_09", "NEW")).size(), 1u);
  // And a new connection sees the same.
  EXPECT_EQ(open_()->read_first(10).size(), 4u);
}

TEST_P(StoreContract, ARecordWithoutASeriesFailsTheWholeWrite) {
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> good = {rec(a, 1000, 1.0)};
  store_->write(good);
  std::vector<Record> batch = {rec(a, 1000, 2.0), rec(series("WELL_09", "NEW"), 1, 1.0),
                               rec(nullptr, 3, 3.0)};
  EXPECT_THROW(store_->write(batch), StoreError);
  EXPECT_EQ(all(a), (std::vector<Sample>{{1000, 1.0, Quality::good}}));
  EXPECT_TRUE(all(series("WELL_09", "NEW")).empty());
  // Nothing of the failed write is left open: the next one works.
  std::vector<Record> next = {rec(a, 2000, 2.0), rec(series("WELL_09", "NEW"), 1, 1.0)};
  store_->write(next);
  EXPECT_EQ(all(a).size(), 2u);
  EXPECT_EQ(all(series("WELL_09", "NEW")).size(), 1u);
}

TEST_P(StoreContract, AnotherConnectionReadsWhatOneWrote) {
  const auto a = series("WELL_01", "PRESSURE");
  auto reader = open_();
  EXPECT_TRUE(reader->read_raw(raw(a, 0, 10'000)).records.empty());  // unknown series yet
  std::vector<Record> batch = {rec(a, 1000, 1.0)};
  store_->write(batch);
  EXPECT_EQ(times(reader->read_raw(raw(a, 0, 10'000))), (std::vector<Millis>{1000}));
  std::vector<Record> more = {rec(a, 2000, 2.0)};
  reader->write(more);
  EXPECT_EQ(times(store_->read_raw(raw(a, 0, 10'000))), (std::vector<Millis>{1000, 2000}));
}

}  // namespace pollux::history::testing
