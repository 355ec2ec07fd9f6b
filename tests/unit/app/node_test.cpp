// The node around the engine on manual clocks (no peer link started): activity on the engine
// (standby polls nothing and holds no port; a serial line closes only after its answer in
// flight), runtime-state transfer with failover timers continuing, config sync with overrides,
// and the redundancy rules of the API (409 standby, 403 reload on a backup).
#include "app/node.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <span>

#include "config/canonical.hpp"
#include "config/loader.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_link.hpp"
#include "testlib/reload.hpp"

namespace pollux::app {
namespace {

using api::ChannelStatus;
using api::Quality;
using runtime::milliseconds;
using testlib::FakeLink;
using testlib::FakeReply;

std::string yaml(const std::string& mode, const std::string& extra_device = "",
                 const std::string& redundancy_extra = "") {
  return R"(
node: { name: n-)" +
         mode + R"( }
redundancy: { mode: )" +
         mode + R"(, listen: 127.0.0.1:1, master: 127.0.0.1:1, psk: k)" + redundancy_extra +
         R"( }
channels:
  - { id: COM1, type: serial, protocol: modbus-rtu, port: /dev/null, message_timeout_ms: 100, poll_attempts: 1 }
  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 100, poll_attempts: 1 }
devices:
  - id: D1
    unit: 7
    comm:
      primary: { channel: COM1, initial_fail_s: 0.001 }
      first_failover: { channel: NET1, host: 10.0.0.1, port: 502, retry_primary_s: 10 }
    polls:
      - name: fast
        interval_ms: 1000
        points:
          - { name: P, table: holding, address: 4, type: uint16 }
  - id: D2
    unit: 8
    comm: { primary: { channel: COM1 } }
    polls:
      - name: slow
        interval_ms: 1000
        points:
          - { name: R, table: holding, address: 3, type: int16 }
)" + extra_device +
         R"(
backup_overrides:
  devices:
    D2: { unit: 9 }
)";
}

const std::string kD3 = R"(
  - id: D3
    unit: 3
    comm: { primary: { channel: NET1, host: 10.0.0.3, port: 502 } }
    polls:
      - name: g
        interval_ms: 1000
        points:
          - { name: S, table: holding, address: 1, type: uint16 }
)";

// A FakeLink that also records connect_ahead() calls (the wire keys of each call).
class AheadLink final : public transport::Link {
 public:
  AheadLink(std::unique_ptr<FakeLink> inner, std::vector<std::vector<std::string>>& calls)
      : inner_(std::move(inner)), calls_(calls) {}
  FakeLink& fake() { return *inner_; }
  void set_listener(transport::LinkListener* l) override { inner_->set_listener(l); }
  void start() override { inner_->start(); }
  void stop() override { inner_->stop(); }
  void set_enabled(bool enabled) override { inner_->set_enabled(enabled); }
  transport::LinkStatus status() const override { return inner_->status(); }
  bool can_start(const transport::Target& t) const override { return inner_->can_start(t); }
  bool concurrent() const override { return inner_->concurrent(); }
  void start_exchange(const transport::Exchange& ex, std::uint64_t tag) override {
    inner_->start_exchange(ex, tag);
  }
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override {
    return inner_->stats();
  }
  void connect_ahead(std::span<const transport::Target> targets) override {
    std::vector<std::string> keys;
    for (const auto& t : targets)
      keys.push_back(t.wire_key());
    std::sort(keys.begin(), keys.end());
    calls_.push_back(std::move(keys));
  }

 private:
  std::unique_ptr<FakeLink> inner_;
  std::vector<std::vector<std::string>>& calls_;
};

// One node on its own manual clock with fake links; `links` holds the links currently open.
// Reload reads `reload_text`.
struct Side {
  explicit Side(boost::asio::io_context& io, const std::string& text, bool as_backup = false)
      : reload_text(text) {
    auto r = config::load_text(text, "n.yaml", config::LoadOptions{.as_backup = as_backup});
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    node = std::make_unique<Node>(
        io, ex,
        [this](const config::Channel& c) -> std::unique_ptr<transport::Link> {
          auto l = std::make_unique<FakeLink>(ex, c.type == config::ChannelType::tcp);
          links[c.id] = l.get();
          ++opened[c.id];
          if (c.id == "COM1" && com1_silent)
            l->responder = [](auto&) { return FakeReply::silent(); };
          return std::make_unique<AheadLink>(std::move(l), ahead[c.id]);
        },
        *r.config, r.version, [this] { return config::load_text(reload_text, "n.yaml"); });
  }
  // The targets of the last connect_ahead() on a channel (empty: none, or released).
  std::vector<std::string> held(const std::string& channel) {
    auto& calls = ahead[channel];
    return calls.empty() ? std::vector<std::string>{} : calls.back();
  }
  Engine& engine() { return node->engine(); }
  ReloadOutcome reload() { return testlib::reload_now(*node, ex); }
  std::optional<PointView> point(const std::string& dev, const std::string& name) {
    const auto all = engine().points(dev);
    if (all)
      for (const auto& p : *all)
        if (p.name == name) return p;
    return std::nullopt;
  }
  runtime::ManualExecutor ex;
  std::map<std::string, FakeLink*> links;
  std::map<std::string, int> opened;
  std::map<std::string, std::vector<std::vector<std::string>>> ahead;
  std::string reload_text;
  bool com1_silent = false;
  std::unique_ptr<Node> node;
};

struct NodeTest : ::testing::Test {
  boost::asio::io_context io;  // the peer link is never started here
};

TEST_F(NodeTest, StandbyEngineOpensNoPortAndPollsNothingUntilActive) {
  Side s(io, yaml("master"));
  s.engine().start();  // what Node::start does before the machine decides
  s.ex.advance(milliseconds(3000));
  EXPECT_TRUE(s.opened.empty());  // cold standby: no channel open, TCP included
  EXPECT_EQ(s.engine().device("D1")->stats.polls_ok, 0u);
  EXPECT_EQ(s.node->health().activity, "standby");
  EXPECT_EQ(s.node->health().role, "master");
  // Channels are listed (down) on a standby node.
  ASSERT_EQ(s.engine().channels().size(), 2u);
  EXPECT_EQ(s.engine().channels()[0].status, ChannelStatus::down);

  s.engine().set_active(true);
  s.ex.advance(milliseconds(500));
  EXPECT_EQ(s.opened["COM1"], 1);
  EXPECT_EQ(s.opened["NET1"], 1);
  EXPECT_GE(s.engine().device("D1")->stats.polls_ok, 1u);
  EXPECT_GE(s.engine().device("D2")->stats.polls_ok, 1u);
  EXPECT_EQ(s.engine().device("D1")->active_line, 1);  // opening order decides no failover

  bool released = false;
  s.engine().set_active(false, /*keep_tcp_open=*/true, [&] { released = true; });
  EXPECT_TRUE(released);  // nothing in flight: closed at once
  const auto polls = s.engine().device("D1")->stats.polls_ok;
  s.ex.advance(milliseconds(3000));
  EXPECT_EQ(s.engine().device("D1")->stats.polls_ok, polls);
  EXPECT_EQ(s.engine().channels()[0].status, ChannelStatus::down);  // COM1 closed
  EXPECT_EQ(s.engine().channels()[1].status, ChannelStatus::ok);    // warm: NET1 kept
  s.engine().set_active(true);
  EXPECT_EQ(s.opened["COM1"], 2);
  EXPECT_EQ(s.opened["NET1"], 1);  // the kept TCP channel is reused, not reopened
}

TEST_F(NodeTest, GoingStandbyWaitsForTheAnswerInFlightBeforeReleasingTheLine) {
  Side s(io, yaml("master"));
  s.engine().set_active(true);
  s.engine().start();
  s.ex.advance(milliseconds(1000));  // both devices polled once; next polls at 1 s
  s.ex.advance(milliseconds(2));     // the next poll of D1 is on the wire (10 ms answer)
  ASSERT_EQ(s.links["COM1"]->in_flight, 1u);
  bool released = false;
  s.engine().set_active(false, false, [&] { released = true; });
  EXPECT_FALSE(released);  // the RTU is still answering on the line
  s.ex.advance(milliseconds(20));
  EXPECT_TRUE(released);
  EXPECT_EQ(s.engine().channels()[0].status, ChannelStatus::down);
}

TEST_F(NodeTest, StateTransferCarriesLineTwoAndTheRetryPrimaryTimerContinues) {
  Side a(io, yaml("master"));
  Side b(io, yaml("backup"), true);
  a.com1_silent = true;
  a.engine().set_active(true);
  a.engine().start();
  b.engine().start();
  a.ex.advance(milliseconds(500));  // D1 fails on COM1 -> line 2 at once (initial_fail ~0)
  ASSERT_EQ(a.engine().device("D1")->active_line, 2);
  a.ex.advance(milliseconds(3500));  // 4 s after the failover

  b.node->on_sync(a.node->build_full());
  EXPECT_EQ(b.node->state_seq(), a.node->state_seq());
  auto d = *b.engine().device("D1");
  EXPECT_EQ(d.active_line, 2);
  EXPECT_TRUE(d.primary_failed_over);
  EXPECT_EQ(d.stats.polls_ok, a.engine().device("D1")->stats.polls_ok);
  auto p = b.point("D1", "P");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->quality, Quality::good);
  EXPECT_EQ(std::get<std::uint64_t>(p->value), 4u);  // fake register = address
  EXPECT_EQ(std::get<std::int64_t>(b.point("D1", "SYDEVCOMLN")->value), 2);
  EXPECT_EQ(b.point("D2", "R")->timestamp, a.point("D2", "R")->timestamp);

  // A delta carries only what changed: nothing right after the full transfer...
  EXPECT_EQ(a.node->build_delta().seq, 0u);
  // ...and the changed values afterwards (a point's value, quality or error; an unchanged
  // value's newer timestamp travels as its poll group's completion time), numbered seq + 1.
  a.links["NET1"]->responder = [](const testlib::SentExchange&) { return FakeReply::ok({42}); };
  a.ex.advance(milliseconds(1100));
  auto delta = a.node->build_delta();
  EXPECT_EQ(delta.seq, a.node->state_seq());
  EXPECT_FALSE(delta.points.empty());
  EXPECT_LT(delta.points.size(), 14u);  // not every point of the store
  b.node->on_sync(delta);
  EXPECT_EQ(std::get<std::uint64_t>(b.point("D1", "P")->value), 42u);
  EXPECT_EQ(b.engine().device("D1")->stats.polls_ok, a.engine().device("D1")->stats.polls_ok);

  // B takes over 5 s after the failover: Retry primary (10 s) fires about 5 s later, not 10.
  b.engine().set_active(true);
  b.ex.advance(milliseconds(3800));
  EXPECT_EQ(b.engine().device("D1")->active_line, 2);
  b.ex.advance(milliseconds(2000));
  EXPECT_EQ(b.engine().device("D1")->active_line, 1);
  EXPECT_EQ(b.engine().events(0).back().reason, "retry_primary");
}

TEST_F(NodeTest, StandbyTimestampsFollowTheMastersPollsAndATakeoverStartsFromThem) {
  Side a(io, yaml("master"));
  Side b(io, yaml("backup"), true);
  a.engine().set_active(true);
  a.engine().start();
  b.engine().start();
  a.ex.advance(milliseconds(500));
  b.node->on_sync(a.node->build_full());
  const auto t1 = *a.point("D1", "P")->timestamp;
  EXPECT_EQ(b.point("D1", "P")->timestamp, t1);

  // The next polls read the same values: no point entry, one "poll completed" record per group,
  // and the standby's timestamps advance with them.
  a.ex.advance(milliseconds(1000));
  auto d = a.node->build_delta();
  ASSERT_NE(d.seq, 0u);
  EXPECT_TRUE(d.points.empty()) << d.points.dump();
  EXPECT_EQ(d.polls.size(), 2u) << d.polls.dump();  // D1 "fast" and D2 "slow"
  const auto t2 = *a.point("D1", "P")->timestamp;
  ASSERT_GT(t2, t1);
  b.node->on_sync(d);
  EXPECT_EQ(b.point("D1", "P")->timestamp, t2);
  EXPECT_EQ(b.point("D2", "R")->timestamp, a.point("D2", "R")->timestamp);
  EXPECT_EQ(b.point("D1", "P")->quality, Quality::good);
  EXPECT_EQ(std::get<std::uint64_t>(b.point("D1", "P")->value), 4u);
  // Nothing polled since: nothing to send (the journal, not a scan, says so).
  EXPECT_EQ(a.node->build_delta().seq, 0u);

  // A failed poll repeats the same error: the bad points' times follow too.
  a.links["COM1"]->responder = [](const testlib::SentExchange&) { return FakeReply::silent(); };
  a.ex.advance(milliseconds(1000));
  b.node->on_sync(a.node->build_delta());
  ASSERT_EQ(b.point("D2", "R")->quality, Quality::bad);
  a.ex.advance(milliseconds(1000));
  d = a.node->build_delta();
  for (const auto& p : d.points)
    EXPECT_FALSE(p.at("d") == "D2" && p.at("n") == "R") << "unchanged: no entry";
  b.node->on_sync(d);
  EXPECT_EQ(b.point("D2", "R")->timestamp, a.point("D2", "R")->timestamp);
  EXPECT_EQ(b.point("D2", "R")->error, a.point("D2", "R")->error);
  EXPECT_EQ(b.node->state_seq(), a.node->state_seq());

  // A takeover starts from the master's latest times, not those of the last full transfer.
  const auto last = a.point("D1", "P")->timestamp;
  b.engine().set_active(true);
  EXPECT_EQ(b.point("D1", "P")->timestamp, last);
  EXPECT_GT(*last, t2);
}

TEST_F(NodeTest, WarmStandbyHoldsTheTcpEndpointsOfActiveLinesAndSendsNothing) {
  Side a(io, yaml("master", kD3));
  Side b(io, yaml("backup", "", ", standby: warm"), true);
  b.engine().start();
  // Warm: the TCP channel is open, the serial one is not; no device is on a TCP line yet.
  EXPECT_EQ(b.opened["NET1"], 1);
  EXPECT_EQ(b.opened.count("COM1"), 0u);
  EXPECT_TRUE(b.held("NET1").empty());
  // A device the master's config adds is held as soon as it is loaded.
  b.node->on_sync(redundancy::ConfigMessage{a.node->config_version(),
                                            config::canonical_text(a.engine().config())});
  b.ex.run_pending();  // the config is read through offload()
  EXPECT_EQ(b.held("NET1"), std::vector<std::string>{"10.0.0.3:502"});

  // The active node moves D1 to its TCP line: the standby follows with a hold on that endpoint.
  a.com1_silent = true;
  a.engine().set_active(true);
  a.engine().start();
  a.ex.advance(milliseconds(500));
  ASSERT_EQ(a.engine().device("D1")->active_line, 2);
  b.node->on_sync(a.node->build_full());
  b.ex.advance(milliseconds(1));
  const std::vector<std::string> both{"10.0.0.1:502", "10.0.0.3:502"};
  EXPECT_EQ(b.held("NET1"), both);
  b.ex.advance(milliseconds(3000));
  EXPECT_TRUE(b.links["NET1"]->sent.empty());  // held, never polled while standby

  // Taking over releases the holds (the connections are simply used) and polls on them.
  b.engine().set_active(true);
  EXPECT_TRUE(b.held("NET1").empty());
  EXPECT_EQ(b.opened["NET1"], 1);  // the held channel is reused, not reopened
  b.ex.advance(milliseconds(1100));
  EXPECT_FALSE(b.links["NET1"]->sent.empty());
  // Standby again, warm: held again; cold: the channel closes.
  b.engine().set_active(false, true);
  EXPECT_EQ(b.held("NET1"), both);
  b.engine().set_keep_tcp_open(false);
  EXPECT_EQ(b.engine().channels()[1].status, ChannelStatus::down);
}

TEST_F(NodeTest, ReloadAppliesRedundancySettingsLiveAndRefusesAModeChange) {
  Side m(io, yaml("master", kD3));
  m.engine().start();
  EXPECT_EQ(m.opened.count("NET1"), 0u);  // cold standby while waiting for the backup
  m.reload_text = yaml("master", kD3,
                       ", standby: warm, failover_timeout_ms: 1500, heartbeat_interval_ms: 300, "
                       "recovery: manual, startup_allowance_ms: 2000");
  auto out = m.reload();
  ASSERT_EQ(out.outcome.status, 200) << out.outcome.error;
  const auto& st = m.node->controller()->machine().settings();
  EXPECT_EQ(st.failover_timeout_ms, 1500);
  EXPECT_EQ(st.heartbeat_interval_ms, 300);
  EXPECT_EQ(st.recovery, config::Recovery::manual);
  EXPECT_EQ(st.startup_allowance_ms, 2000);
  EXPECT_EQ(st.standby, config::Standby::warm);
  // Warm from now on: the TCP channel opens and holds D3's endpoint, sending nothing.
  EXPECT_EQ(m.opened["NET1"], 1);
  EXPECT_EQ(m.held("NET1"), std::vector<std::string>{"10.0.0.3:502"});
  m.ex.advance(milliseconds(2000));
  EXPECT_TRUE(m.links["NET1"]->sent.empty());
  // Cold again: closed.
  m.reload_text = yaml("master", kD3);
  ASSERT_EQ(m.reload().outcome.status, 200);
  EXPECT_EQ(m.engine().channels()[1].status, ChannelStatus::down);
  EXPECT_EQ(m.node->controller()->machine().settings().failover_timeout_ms, 3000);

  // The mode cannot change in place: refused with the reason, nothing changed.
  m.reload_text = yaml("backup", kD3, ", standby: warm");
  out = m.reload();
  EXPECT_EQ(out.outcome.status, 400);
  ASSERT_FALSE(out.errors.empty());
  EXPECT_NE(out.errors[0].find("restart"), std::string::npos) << out.errors[0];
  EXPECT_EQ(m.node->redundancy().mode, "master");
  EXPECT_EQ(m.engine().config().redundancy.mode, config::RedundancyMode::master);
  EXPECT_EQ(m.node->controller()->machine().settings().standby, config::Standby::cold);
}

TEST_F(NodeTest, BackupAppliesTheMastersConfigWithItsOverridesInPlace) {
  Side a(io, yaml("master", kD3));
  Side b(io, yaml("backup"), true);
  b.engine().start();
  const std::string before = b.node->config_version();
  EXPECT_NE(before, a.node->config_version());
  EXPECT_EQ(b.engine().device("D2")->unit, 9);  // its own overrides at start
  b.node->on_sync(redundancy::ConfigMessage{a.node->config_version(),
                                            config::canonical_text(a.engine().config())});
  b.ex.run_pending();  // the config is read through offload()
  EXPECT_EQ(b.node->config_version(), a.node->config_version());
  ASSERT_TRUE(b.engine().device("D3"));
  EXPECT_EQ(b.engine().device("D2")->unit, 9);           // overrides still applied
  EXPECT_EQ(b.engine().config().node.name, "n-backup");  // node-local sections kept
  EXPECT_EQ(b.engine().config().redundancy.mode, config::RedundancyMode::backup);
  EXPECT_TRUE(b.opened.empty());  // a standby applies config without opening ports

  // An invalid config is refused, the running one stays, and the API says why.
  b.node->on_sync(redundancy::ConfigMessage{"bad", "{\"channels\": 5}"});
  b.ex.run_pending();  // the config is read through offload()
  EXPECT_EQ(b.node->config_version(), a.node->config_version());
  EXPECT_NE(b.node->redundancy().last_error, "");
}

// Configs that come while one is being read wait for it, and only the newest is applied: an
// older one finishing later never replaces it.
TEST_F(NodeTest, BackupAppliesOnlyTheNewestOfConfigsThatCameDuringARead) {
  Side a1(io, yaml("master"));
  Side a2(io, yaml("master", kD3));
  Side b(io, yaml("backup"), true);
  b.engine().start();
  const auto message = [](Side& a) {
    return redundancy::ConfigMessage{a.node->config_version(),
                                     config::canonical_text(a.engine().config())};
  };
  b.node->on_sync(message(a1));
  b.node->on_sync(message(a2));
  b.node->on_sync(message(a2));  // asked again by a heartbeat: still one read
  b.ex.run_pending();
  EXPECT_EQ(b.node->config_version(), a2.node->config_version());
  EXPECT_TRUE(b.engine().device("D3"));
  EXPECT_NE(b.node->metrics_text().find("pollux_redundancy_config_applied_total 1\n"),
            std::string::npos);
}

TEST_F(NodeTest, StandbyRefusesOperatorCommandsAndBackupRefusesReload) {
  Side b(io, yaml("backup"), true);
  b.engine().start();
  EXPECT_EQ(b.node->poll_now("D1").status, 409);
  EXPECT_EQ(b.node->poll_now("D1").error, "node is standby");
  EXPECT_EQ(b.node->select_line("D1", 2).status, 409);
  EXPECT_EQ(b.node->set_channel_enabled("COM1", false).status, 409);
  int status = 0;
  b.node->write("D1", "P", WriteValue{std::int64_t{1}}, [&](Outcome o) { status = o.status; });
  EXPECT_EQ(status, 409);
  EXPECT_EQ(b.reload().outcome.status, 403);
  EXPECT_EQ(b.reload().version, b.node->config_version());
  // Not connected: there is no peer to hand over to.
  EXPECT_EQ(b.node->force_failover().status, 409);
  const auto r = b.node->redundancy();
  EXPECT_EQ(r.mode, "backup");
  EXPECT_EQ(r.activity, "standby");
  EXPECT_EQ(r.peer_activity, "unknown");
}

}  // namespace
}  // namespace pollux::app
