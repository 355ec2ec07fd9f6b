#include "points/point_store.hpp"

#include <gtest/gtest.h>

namespace pollux::points {
namespace {

const runtime::WallTime t0{std::chrono::seconds(1000)};
const runtime::WallTime t1{std::chrono::seconds(1001)};
const runtime::WallTime t2{std::chrono::seconds(1002)};

TEST(PointStore, NullAndBadBeforeFirstGoodRead) {
  PointStore s;
  const PointId id = s.add("WELL_01", "PRESSURE");
  const auto& r = s.get(id);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.value));
  EXPECT_EQ(r.quality, PointQuality::bad);
  EXPECT_FALSE(r.timestamp);
  EXPECT_EQ(r.seq, 0u);
  // A failed poll before any good read: still null, bad, with the error and a timestamp.
  s.set_bad(id, "timeout", t0);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.value));
  EXPECT_EQ(r.error, "timeout");
  EXPECT_EQ(r.timestamp, t0);
}

TEST(PointStore, FailedPollKeepsLastValueAndTurnsBad) {
  PointStore s;
  const PointId id = s.add("D", "P");
  s.set_good(id, 12.5, t0);
  EXPECT_EQ(s.get(id).quality, PointQuality::good);
  EXPECT_EQ(std::get<double>(s.get(id).value), 12.5);
  s.set_bad(id, "crc error", t1);
  EXPECT_EQ(s.get(id).quality, PointQuality::bad);
  EXPECT_EQ(std::get<double>(s.get(id).value), 12.5);
  EXPECT_EQ(s.get(id).error, "crc error");
  EXPECT_EQ(s.get(id).timestamp, t1);
  s.set_good(id, 13.0, t2);
  EXPECT_EQ(s.get(id).quality, PointQuality::good);
  EXPECT_TRUE(s.get(id).error.empty());
  EXPECT_EQ(s.get(id).timestamp, t2);
}

TEST(PointStore, SequenceBumpsOnlyOnChange) {
  PointStore s;
  const PointId a = s.add("D", "A");
  const PointId b = s.add("D", "B");
  s.set_good(a, std::int64_t{5}, t0);
  const auto after_a = s.seq();
  EXPECT_EQ(s.get(a).seq, after_a);
  s.set_good(a, std::int64_t{5}, t1);  // same value: timestamp moves, no change
  EXPECT_EQ(s.seq(), after_a);
  EXPECT_EQ(s.get(a).timestamp, t1);
  s.set_good(b, true, t1);
  EXPECT_GT(s.seq(), after_a);
  s.set_bad(a, "timeout", t2);
  EXPECT_EQ(s.get(a).seq, s.seq());
  const auto after_bad = s.seq();
  s.set_bad(a, "timeout", t2);  // still bad for the same reason
  EXPECT_EQ(s.seq(), after_bad);
}

TEST(PointStore, StringValuesAndLookup) {
  PointStore s;
  const PointId id = s.add("D", "TAG");
  EXPECT_EQ(s.add("D", "TAG"), id);
  EXPECT_EQ(s.find("D", "TAG"), id);
  EXPECT_FALSE(s.find("D", "OTHER"));
  s.set_good(id, std::string_view("PUMP-1"), t0);
  EXPECT_EQ(std::get<std::string>(s.get(id).value), "PUMP-1");
  s.set_good(id, Value{std::string("PUMP-2")}, t1);
  EXPECT_EQ(std::get<std::string>(s.get(id).value), "PUMP-2");
}

TEST(PointStore, RemoveDeviceForgetsItsPointsOnly) {
  PointStore s;
  s.add("A", "X");
  const PointId keep = s.add("B", "X");
  s.remove_device("A");
  EXPECT_FALSE(s.find("A", "X"));
  EXPECT_EQ(s.find("B", "X"), keep);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.all_points(), std::vector<PointId>{keep});
  // Re-adding after removal gets a fresh null/bad record.
  const PointId again = s.add("A", "X");
  EXPECT_NE(again, keep);
  EXPECT_EQ(s.get(again).quality, PointQuality::bad);
}

}  // namespace
}  // namespace pollux::points
