// A backup's history forwarding on a manual clock (app/node_history.hpp; spec/history.md
// "Redundancy"): the peer is a function that collects messages and a flag for the link, the
// master's answers are written by the test. Its cache file is filled directly.
#include "app/node_history.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "config/loader.hpp"
#include "history/store.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_link.hpp"

namespace pollux::app {
namespace {

namespace fs = std::filesystem;
namespace rd = pollux::redundancy;

// retention_days 0: the manual clock's wall time is months behind the writer's retention
// clock, which would age the cached records out meanwhile.
std::string backup_yaml(const std::string& dir, const std::string& level) {
  return "node: { name: b }\n"
         "redundancy: { mode: backup, master: 127.0.0.1:1, psk: k, history: " +
         level +
         " }\n"
         "history: { path: " +
         dir + "/h.db, cache_path: " + dir +
         "/c.db, retention_days: 0 }\n"
         "channels:\n"
         "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 100 }\n"
         "devices:\n"
         "  - id: A\n"
         "    unit: 1\n"
         "    comm: { primary: { channel: NET1, host: 10.0.0.1, port: 502 } }\n"
         "    polls:\n"
         "      - name: g\n"
         "        interval_ms: 1000\n"
         "        points:\n"
         "          - { name: V, table: holding, address: 0, type: uint16 }\n";
}

struct NodeHistoryTest : ::testing::Test {
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pollux-nodehist.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    node.reset();
    engine.reset();
    fs::remove_all(dir);
  }

  void start(const std::string& level) {
    auto r = config::load_text(backup_yaml(dir, level), "b.yaml",
                               config::LoadOptions{.as_backup = true});
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    engine = std::make_unique<engine::Engine>(
        ex,
        [this](const config::Channel&) -> std::unique_ptr<transport::Link> {
          return std::make_unique<testlib::FakeLink>(ex, true);
        },
        *r.config);
    node = std::make_unique<NodeHistory>(ex, *engine);
    node->set_peer(config::RedundancyMode::backup,
                   {[this](const rd::Message& m) {
                      if (const auto* f = std::get_if<rd::HistoryForward>(&m)) sent.push_back(*f);
                    },
                    [this] { return linked; }});
    node->configure(*r.config);
  }

  // Records in the cache as an earlier active period left them.
  void fill_cache(std::vector<history::Millis> times) {
    auto store = history::sqlite_store({.path = dir + "/c.db"})();
    auto series = std::make_shared<const history::Series>(history::Series{"A", "V"});
    std::vector<history::Record> records;
    for (auto t : times)
      records.push_back({series, t, points::Value{std::int64_t{t % 1000}}, history::Quality::good});
    store->write(records);
  }

  void tick() {
    ex.advance(std::chrono::seconds(1));
    ex.run_pending();
  }

  // The master's answer to the last batch sent.
  void answer(history::Millis started_at, nlohmann::json active) {
    ASSERT_FALSE(sent.empty());
    rd::HistoryForwarded a;
    a.seq = sent.back().seq;
    a.written = sent.back().records.size();
    a.started_at = started_at;
    a.active = std::move(active);
    node->on_message(a);
    ex.run_pending();
  }

  std::uint64_t pending() { return node->redundancy_view()->pending; }

  std::string dir;
  runtime::ManualExecutor ex;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<NodeHistory> node;
  std::vector<rd::HistoryForward> sent;
  bool linked = false;
};

nlohmann::json open_from(history::Millis from) {
  return nlohmann::json::array({{{"from", from}, {"to", nullptr}}});
}

TEST_F(NodeHistoryTest, PartialAsksTheRestartedMastersCoverageAfterTheLinkWasLost) {
  start("partial");
  const history::Millis now = history::to_millis(ex.wall_now());
  linked = true;
  tick();
  // Nothing cached: an empty batch asks for the master's coverage (active since now - 60 s).
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent.back().records.empty());
  answer(now - 70'000, open_from(now - 60'000));
  // The master dies; the backup records an outage (here: written to its cache directly).
  linked = false;
  fill_cache({now + 1000, now + 2000, now + 3000});
  tick();
  EXPECT_EQ(pending(), 3u);  // counted while the link is down
  // The master restarted at now + 4 s and is standby: the outage is not its own.
  linked = true;
  for (int i = 0; i < 3 && (sent.empty() || sent.back().records.empty()); ++i) {
    tick();
    if (!sent.empty()) answer(now + 4000, nlohmann::json::array());
  }
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().records.size(), 3u) << "the outage's records were dropped";
  tick();
  EXPECT_EQ(pending(), 0u);
  EXPECT_EQ(node->redundancy_view()->forwarded, 3u);
}

TEST_F(NodeHistoryTest, PartialKeepsHeldBackRecordsTheFreshCoverageDoesNotCover) {
  // Records an earlier active period left in the cache, before this node opens it.
  const history::Millis now = history::to_millis(ex.wall_now());
  fill_cache({now + 1000, now + 2000});
  start("partial");
  linked = true;
  tick();
  answer(now - 70'000, open_from(now - 60'000));  // the coverage query
  tick();
  // Held back by the coverage just received; the answer says the master restarted since.
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent.back().records.empty());
  answer(now + 3000, nlohmann::json::array());
  tick();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent.back().records.size(), 2u);
  answer(now + 3000, nlohmann::json::array());
  EXPECT_EQ(node->redundancy_view()->forwarded, 2u);
}

TEST_F(NodeHistoryTest, ABatchSentOnALostLinkIsSentAgainOnTheNextOne) {
  const history::Millis now = history::to_millis(ex.wall_now());
  fill_cache({now + 1000, now + 2000});  // left by an earlier active period, as above
  start("full");
  linked = true;
  tick();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent.back().records.size(), 2u);
  // The link goes before the answer; it comes back two seconds later.
  linked = false;
  tick();
  tick();
  linked = true;
  tick();
  ASSERT_EQ(sent.size(), 2u) << "waited for the lost batch's answer";
  EXPECT_EQ(sent.back().records.size(), 2u);
  EXPECT_NE(sent.back().seq, sent.front().seq);
  answer(now, nlohmann::json::array());
  tick();
  EXPECT_EQ(pending(), 0u);
  EXPECT_EQ(node->redundancy_view()->forwarded, 2u);
}

}  // namespace
}  // namespace pollux::app
