// history::History, the glue between the change feed and the writer (spec/history.md "What is
// recorded", "Reading it back"): which points are recorded and with which rule, only while
// recording, the max_interval sweep, the resync after lost changes, and the query checks. A
// real SQLite store in a temporary directory stands behind the writer; time is the manual
// executor's.
#include "history/history.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "runtime/manual_executor.hpp"

namespace pollux::history {
namespace {

using namespace std::chrono_literals;
using points::PointQuality;

config::Config make_config() {
  config::Config c;
  c.history = config::HistorySettings{};
  c.history->deadband = 0;
  config::Device d;
  d.id = "W";
  config::PollGroup g;
  config::Point p;
  p.name = "P";
  p.type = config::PointType::float32;
  p.history.deadband = 1.0;
  g.points.push_back(p);
  p = {};
  p.name = "B";
  p.type = config::PointType::boolean;
  g.points.push_back(p);
  p = {};
  p.name = "OFF";
  p.history.enabled = false;
  g.points.push_back(p);
  p = {};
  p.name = "T";
  p.history.max_interval_s = 1;
  g.points.push_back(p);
  d.polls.push_back(g);
  c.devices.push_back(d);
  return c;
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pollux-history-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_.attach_feed(&feed_);
    for (const char* name : {"P", "B", "OFF", "T", "SYDEVCOMLN", "SYDEVCOMID"})
      ids_[name] = store_.add("W", name);
    WriterOptions o;
    o.queue.commit_interval = 1ms;
    history_ =
        std::make_unique<History>(ex_, feed_, store_, sqlite_store({.path = dir_ + "/h.db"}), o);
    history_->configure(make_config());
  }
  void TearDown() override {
    history_.reset();
    std::filesystem::remove_all(dir_);
  }

  runtime::WallTime t(int ms) {
    return runtime::WallTime(std::chrono::milliseconds(1'700'000'000'000 + ms));
  }

  // Lets the feed wake the history, then waits until the writer committed everything.
  void settle() {
    ex_.run_pending();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (history_->status().written < history_->recorded() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    ASSERT_EQ(history_->status().written, history_->recorded());
  }

  Answer ask(const std::string& point, std::optional<Millis> interval = std::nullopt) {
    Query q{"W", point, 0, to_millis(t(1'000'000)), 1000, interval};
    std::optional<Answer> out;
    history_->query(q, [&](Answer a) { out = std::move(a); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!out && std::chrono::steady_clock::now() < deadline) {
      ex_.run_pending();
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(out.has_value());
    return out.value_or(Answer{});
  }

  std::vector<double> values(const std::string& point) {
    std::vector<double> out;
    for (const Sample& s : ask(point).page.records)
      out.push_back(points::as_double(s.value).value_or(-1));
    return out;
  }

  std::string dir_;
  runtime::ManualExecutor ex_;
  points::ChangeFeed feed_{ex_};
  points::PointStore store_;
  std::map<std::string, points::PointId> ids_;
  std::unique_ptr<History> history_;
};

TEST_F(HistoryTest, AStandbyFollowsChangesWithoutRecordingThem) {
  store_.set_good(ids_["P"], 1.0, t(0));
  settle();
  EXPECT_EQ(history_->recorded(), 0u);
  history_->set_recording(true);
  // Taking over: the state the active node recorded is not recorded again...
  store_.set_good(ids_["P"], 1.5, t(100));
  settle();
  EXPECT_EQ(history_->recorded(), 0u);
  // ...and a change is measured from it (deadband 1).
  store_.set_good(ids_["P"], 2.5, t(200));
  settle();
  EXPECT_EQ(values("P"), std::vector<double>({2.5}));
}

TEST_F(HistoryTest, PointsWithAStateWhenFirstTrackedAreRecordedThen) {
  history_.reset();
  store_.set_good(ids_["SYDEVCOMLN"], std::int64_t{1}, t(0));
  WriterOptions o;
  o.queue.commit_interval = 1ms;
  history_ =
      std::make_unique<History>(ex_, feed_, store_, sqlite_store({.path = dir_ + "/h.db"}), o);
  history_->set_recording(true);
  history_->configure(make_config());
  settle();
  EXPECT_EQ(values("SYDEVCOMLN"), std::vector<double>({1}));
}

TEST_F(HistoryTest, EachPointHasItsRuleAndHistoryFalseRecordsNothing) {
  history_->set_recording(true);
  const std::vector<double> p = {10, 10.5, 11.5, 11.9, 13};
  for (std::size_t i = 0; i < p.size(); ++i) {
    store_.set_good(ids_["P"], p[i], t(static_cast<int>(i) * 100));
    store_.set_good(ids_["OFF"], static_cast<std::int64_t>(i), t(static_cast<int>(i) * 100));
    store_.set_good(ids_["SYDEVCOMLN"], static_cast<std::int64_t>(i % 2 + 1),
                    t(static_cast<int>(i) * 100));
  }
  settle();
  // deadband 1 from the last recorded value: 10, then 11.5 (> 11), then 13 (> 12.5).
  EXPECT_EQ(values("P"), std::vector<double>({10, 11.5, 13}));
  // A status point takes the section's deadband (0): every change.
  EXPECT_EQ(values("SYDEVCOMLN"), std::vector<double>({1, 2, 1, 2, 1}));
  EXPECT_EQ(ask("OFF").status, 404);
  EXPECT_NE(ask("OFF").error.find("no history for W.OFF"), std::string::npos);
}

TEST_F(HistoryTest, StandbyChangesAreNotRecorded) {
  history_->set_recording(true);
  store_.set_good(ids_["P"], 1.0, t(0));
  settle();
  history_->set_recording(false);
  store_.set_good(ids_["P"], 5.0, t(100));
  settle();
  EXPECT_EQ(values("P"), std::vector<double>({1.0}));
  history_->set_recording(true);
  store_.set_good(ids_["P"], 7.0, t(200));
  settle();
  EXPECT_EQ(values("P"), std::vector<double>({1.0, 7.0}));
}

// A change the feed still holds when the activity changes belongs to the old activity (soak seed
// 11: an answer polled in the turn before going standby was published but in neither node's
// history, because the feed's wake ran after recording stopped).
TEST_F(HistoryTest, ChangesStillInTheFeedAreTakenUnderTheActivityTheyWereMadeIn) {
  history_->set_recording(true);
  store_.set_good(ids_["P"], 1.0, t(0));
  history_->set_recording(false);  // before the feed's wake ran: 1.0 was polled while active
  settle();
  EXPECT_EQ(values("P"), std::vector<double>({1.0}));
  store_.set_good(ids_["P"], 5.0, t(100));
  history_->set_recording(true);  // 5.0 came while standby: followed, not recorded
  store_.set_good(ids_["P"], 5.5, t(200));
  store_.set_good(ids_["P"], 7.0, t(300));
  settle();
  EXPECT_EQ(values("P"), std::vector<double>({1.0, 7.0}));
}

TEST_F(HistoryTest, MaxIntervalRecordsAnUnchangedPointOnTheSweep) {
  history_->set_recording(true);
  store_.set_good(ids_["T"], std::int64_t{7}, t(0));
  settle();
  // The point is polled again (same value: no change in the feed), its timestamp moves on.
  store_.set_good(ids_["T"], std::int64_t{7}, t(600));
  ex_.advance(1s);
  settle();
  EXPECT_EQ(values("T").size(), 1u);
  store_.set_good(ids_["T"], std::int64_t{7}, t(1000));
  ex_.advance(1s);
  settle();
  const Answer a = ask("T");
  ASSERT_EQ(a.page.records.size(), 2u);
  EXPECT_EQ(a.page.records[1].time, to_millis(t(1000)));
}

TEST_F(HistoryTest, LostChangesAreRebuiltFromTheStore) {
  history_.reset();
  points::ChangeFeed small(ex_, 4);
  store_.attach_feed(&small);
  WriterOptions o;
  o.queue.commit_interval = 1ms;
  history_ =
      std::make_unique<History>(ex_, small, store_, sqlite_store({.path = dir_ + "/h.db"}), o);
  history_->configure(make_config());
  history_->set_recording(true);
  for (int i = 0; i < 20; ++i)
    store_.set_good(ids_["P"], static_cast<double>(i * 10), t(i));
  settle();
  // Far more changes than the ring holds before the history read: the last state is recorded.
  const std::vector<double> v = values("P");
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.back(), 190);
  store_.attach_feed(&feed_);
  history_.reset();
}

TEST_F(HistoryTest, QueriesAreCheckedAgainstTheConfig) {
  history_->set_recording(true);
  store_.set_good(ids_["B"], true, t(0));
  store_.set_good(ids_["SYDEVCOMID"], std::string_view("COM1"), t(0));
  settle();
  Query unknown_device{"X", "P", 0, 1, 10, std::nullopt};
  std::optional<Answer> a;
  history_->query(unknown_device, [&](Answer x) { a = std::move(x); });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 404);
  EXPECT_EQ(ask("NOPE").status, 404);
  EXPECT_EQ(ask("B", 60'000).status, 400);
  EXPECT_EQ(ask("SYDEVCOMID", 60'000).status, 400);
  EXPECT_EQ(ask("P", 60'000).status, 200);
  const Answer b = ask("B");
  ASSERT_EQ(b.page.records.size(), 1u);
  EXPECT_EQ(b.page.records[0].value, points::Value(true));
}

TEST_F(HistoryTest, ARemovedDeviceIsForgotten) {
  history_->set_recording(true);
  store_.set_good(ids_["P"], 1.0, t(0));
  settle();
  store_.remove_device("W");
  config::Config empty = make_config();
  empty.devices.clear();
  history_->configure(empty);
  settle();
  EXPECT_EQ(ask("P").status, 404);
}

}  // namespace
}  // namespace pollux::history
