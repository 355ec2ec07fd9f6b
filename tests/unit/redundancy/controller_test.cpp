// End-to-end over loopback: two Controllers (machine + peer link) with fake engine hooks that
// record who holds the ports. Real sockets, AsioExecutor, short timeouts, bounded waits.
#include "redundancy/controller.hpp"

#include <gtest/gtest.h>

#include "runtime/asio_executor.hpp"

namespace pollux::redundancy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using config::RedundancyMode;

struct Loop {
  asio::io_context io;
  runtime::AsioExecutor ex{io};
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
  }
};

// A fake engine: ports take 30 ms to close; opening while the peer still holds them is the
// failure transition 5 forbids.
struct FakeEngine {
  FakeEngine(std::string n, Loop* l) : name(std::move(n)), loop(l) {}
  std::string name;
  Loop* loop = nullptr;
  FakeEngine* peer = nullptr;
  bool holds_ports = false;
  int overlaps = 0;
  std::vector<std::string>* timeline = nullptr;
  std::vector<Message> synced;
  std::string version = "cfg";

  Controller::Hooks hooks() {
    Controller::Hooks h;
    h.become_active = [this](std::string_view why) {
      if (peer && peer->holds_ports) ++overlaps;
      holds_ports = true;
      timeline->push_back(name + " active (" + std::string(why) + ")");
    };
    h.go_standby = [this](std::string_view why, bool, std::function<void()> released) {
      timeline->push_back(name + " standby (" + std::string(why) + ")");
      loop->ex.schedule_after(30ms, [this, released] {
        holds_ports = false;
        timeline->push_back(name + " released");
        released();
      });
    };
    h.full_state = [this] {
      return StateFull{7, nlohmann::json::array({{{"from", name}}}), nlohmann::json::array(), {}};
    };
    h.on_sync = [this](const Message& m) {
      synced.push_back(m);
      timeline->push_back(name + " got " + std::string(type_name(m)));
    };
    h.summary = [this] { return LocalSummary{Activity::standby, version, 1}; };
    h.config_to_sync = [this] { return ConfigMessage{version, "text of " + version}; };
    return h;
  }
};

config::RedundancySettings pair_settings(const std::string& psk, std::uint16_t port) {
  config::RedundancySettings s;
  s.listen = "127.0.0.1:" + std::to_string(port);
  s.master = s.listen;
  s.psk = psk;
  s.heartbeat_interval_ms = 50;
  s.failover_timeout_ms = 400;
  s.startup_allowance_ms = 300;
  return s;
}

// Finds a free port by binding to 0 (then releasing it for the master to take).
std::uint16_t free_port(asio::io_context& io) {
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

struct RedundancyPairLoopback : ::testing::Test {
  Loop loop;
  std::vector<std::string> timeline;
  FakeEngine m_engine{"master", &loop};
  FakeEngine b_engine{"backup", &loop};
  std::unique_ptr<Controller> master;
  std::unique_ptr<Controller> backup;
  std::uint16_t port = 0;

  void SetUp() override {
    m_engine.peer = &b_engine;
    b_engine.peer = &m_engine;
    m_engine.timeline = b_engine.timeline = &timeline;
    port = free_port(loop.io);
  }
  void TearDown() override {
    backup.reset();
    master.reset();
    loop.run_for(20ms);
  }
  LinkOptions options(const char* name) {
    LinkOptions o;
    o.node_name = name;
    o.reconnect_floor = 20ms;
    o.reconnect_cap = 100ms;
    return o;
  }
  void make_master(config::Recovery recovery = config::Recovery::automatic,
                   const std::string& psk = "k") {
    auto s = pair_settings(psk, port);
    s.recovery = recovery;
    master = std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::master, s,
                                          m_engine.hooks(), options("alpha"));
  }
  void make_backup(const std::string& psk = "k") {
    backup =
        std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::backup,
                                     pair_settings(psk, port), b_engine.hooks(), options("beta"));
  }
};

TEST_F(RedundancyPairLoopback, MasterActiveBackupStandbyOnStart) {
  make_backup();
  make_master();
  backup->start();
  master->start();
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));
  EXPECT_EQ(backup->activity(), Activity::standby);
  loop.run_for(600ms);  // longer than the failover timeout: the backup stays standby
  EXPECT_EQ(backup->activity(), Activity::standby);
  EXPECT_EQ(master->status().events.size(), 1u);
  EXPECT_EQ(master->status().events.at(0).reason, "backup_standby");
  EXPECT_TRUE(backup->status().peer.authenticated);
  EXPECT_EQ(backup->status().peer.peer_activity, Activity::active);
  EXPECT_EQ(master->status().peer.peer_activity, Activity::standby);
  EXPECT_EQ(m_engine.overlaps + b_engine.overlaps, 0);
}

TEST_F(RedundancyPairLoopback, MasterLostThenBackWithOrderedHandover) {
  make_backup();
  make_master();
  backup->start();
  master->start();
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));

  // The master process dies: link gone, its ports closed by the OS.
  master.reset();
  m_engine.holds_ports = false;
  ASSERT_TRUE(loop.run_until([&] { return backup->activity() == Activity::active; }));
  EXPECT_EQ(backup->status().events.back().reason, "master_lost");

  // The master restarts: automatic recovery hands activity back in order.
  timeline.clear();
  make_master();
  master->start();
  ASSERT_TRUE(loop.run_until([&] {
    return master->activity() == Activity::active && backup->activity() == Activity::standby &&
           !backup->machine().handover_in_progress();
  }));
  EXPECT_EQ(m_engine.overlaps + b_engine.overlaps, 0);
  // The first state_full is the active backup's transfer on connect, the second its hand-off.
  const std::vector<std::string> expected = {
      "master got state_full", "backup standby (master_back)", "master got state_full",
      "backup released", "master active (master_back)"};
  EXPECT_EQ(timeline, expected);
  ASSERT_FALSE(m_engine.synced.empty());
  EXPECT_EQ(std::get<StateFull>(m_engine.synced.back()).devices[0]["from"], "backup");
}

TEST_F(RedundancyPairLoopback, ManualRecoveryWaitsForRecover) {
  make_backup();
  backup->start();
  ASSERT_TRUE(loop.run_until([&] { return backup->activity() == Activity::active; }));
  make_master(config::Recovery::manual);
  master->start();
  loop.run_for(700ms);  // past the startup allowance
  EXPECT_EQ(master->activity(), Activity::standby);
  EXPECT_EQ(backup->activity(), Activity::active);
  auto r = backup->recover();
  ASSERT_TRUE(r.accepted) << r.refusal;
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));
  EXPECT_EQ(backup->activity(), Activity::standby);
  EXPECT_EQ(master->status().events.back().reason, "recover");
  EXPECT_EQ(m_engine.overlaps + b_engine.overlaps, 0);
}

TEST_F(RedundancyPairLoopback, ForceFailoverOverTheLinkAndRefusedAlone) {
  make_master();
  master->start();
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));
  EXPECT_EQ(master->status().events.at(0).reason, "startup_allowance_expired");
  auto refused = master->force_failover();
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.refusal, "peer not connected");

  make_backup();
  backup->start();
  ASSERT_TRUE(loop.run_until([&] { return master->status().peer.authenticated; }));
  loop.run_for(100ms);
  auto r = master->force_failover();
  ASSERT_TRUE(r.accepted) << r.refusal;
  ASSERT_TRUE(loop.run_until([&] { return backup->activity() == Activity::active; }));
  EXPECT_EQ(master->activity(), Activity::standby);
  loop.run_for(600ms);  // automatic recovery does not undo an operator's failover
  EXPECT_EQ(backup->activity(), Activity::active);
  EXPECT_EQ(master->activity(), Activity::standby);
  EXPECT_EQ(m_engine.overlaps + b_engine.overlaps, 0);
}

TEST_F(RedundancyPairLoopback, ConfigSentOncePerVersionAndStateGapsHealWithFullTransfer) {
  m_engine.version = "v2";
  b_engine.version = "v1";
  make_backup();
  make_master();
  backup->start();
  master->start();
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));
  loop.run_for(300ms);  // six heartbeats report v1; the config goes once
  int configs = 0;
  for (const auto& m : b_engine.synced)
    if (const auto* c = std::get_if<ConfigMessage>(&m)) {
      ++configs;
      EXPECT_EQ(c->version, "v2");
      EXPECT_EQ(c->canonical_text, "text of v2");
    }
  EXPECT_EQ(configs, 1);
  EXPECT_TRUE(m_engine.synced.empty());  // the backup sends no config

  // A delta before any full transfer, then in order, then with a gap.
  auto states = [&] {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (const auto& m : b_engine.synced) {
      if (const auto* f = std::get_if<StateFull>(&m)) out.emplace_back("full", f->seq);
      if (const auto* d = std::get_if<StateDelta>(&m)) out.emplace_back("delta", d->seq);
    }
    return out;
  };
  ASSERT_TRUE(master->send(StateDelta{3, {}, {}, {}, {}}));
  ASSERT_TRUE(loop.run_until([&] { return states().size() == 1; }));
  ASSERT_TRUE(master->send(StateDelta{8, {}, {}, {}, {}}));
  ASSERT_TRUE(master->send(StateDelta{10, {}, {}, {}, {}}));  // 9 lost: gap
  ASSERT_TRUE(
      master->send(StateDelta{11, {}, {}, {}, {}}));  // ignored while the full is on its way
  ASSERT_TRUE(loop.run_until([&] { return states().size() == 3; }));
  loop.run_for(100ms);
  using P = std::pair<std::string, std::uint64_t>;
  EXPECT_EQ(states(), (std::vector<P>{{"full", 7}, {"delta", 8}, {"full", 7}}));
  EXPECT_EQ(backup->status().applied_state_seq, 7u);
}

TEST_F(RedundancyPairLoopback, WrongKeyNeverMakesTwoActiveNodes) {
  make_master(config::Recovery::automatic, "right");
  make_backup("typo");
  master->start();
  backup->start();
  loop.run_for(1500ms);  // several failover timeouts
  EXPECT_EQ(master->activity(), Activity::active);
  EXPECT_EQ(backup->activity(), Activity::standby);
  EXPECT_FALSE(backup->status().peer.authenticated);
  EXPECT_EQ(backup->status().peer.last_error, "authentication failed: peer rejected our key");
  EXPECT_EQ(master->status().peer.last_error, "authentication failed: peer proved a different key");
  EXPECT_TRUE(backup->status().events.empty());
}

// redundancy.md "Partitions": the backup's main link leads nowhere (a port nobody listens on),
// the second one works. The pair runs over the second link alone: the master becomes active
// on the backup's report, the backup stays standby past the failover timeout, and sync flows.
TEST_F(RedundancyPairLoopback, TheSecondLinkCarriesThePairWhenTheMainOneIsDead) {
  const std::uint16_t alt = free_port(loop.io);
  const std::uint16_t dead = free_port(loop.io);
  auto ms = pair_settings("k", port);
  ms.listen_alt = "127.0.0.1:" + std::to_string(alt);
  master = std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::master, ms,
                                        m_engine.hooks(), options("alpha"));
  auto bs = pair_settings("k", dead);
  bs.master_alt = "127.0.0.1:" + std::to_string(alt);
  backup = std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::backup, bs,
                                        b_engine.hooks(), options("beta"));
  b_engine.version = "old";  // the master sends its config over the second link
  backup->start();
  master->start();
  ASSERT_TRUE(loop.run_until([&] { return master->activity() == Activity::active; }));
  EXPECT_EQ(master->status().events.at(0).reason, "backup_standby");
  loop.run_for(700ms);
  EXPECT_EQ(backup->activity(), Activity::standby);
  EXPECT_TRUE(backup->peer_authenticated());
  const RedundancyStatus st = backup->status();
  EXPECT_EQ(st.peer_via, "link_alt");
  ASSERT_EQ(st.paths.size(), 2u);
  EXPECT_EQ(st.paths[0].name, "link");
  EXPECT_FALSE(st.paths[0].up);
  EXPECT_FALSE(st.paths[0].last_heard);
  EXPECT_EQ(st.paths[1].name, "link_alt");
  EXPECT_TRUE(st.paths[1].up);
  EXPECT_TRUE(st.paths[1].last_heard);
  EXPECT_FALSE(st.peer.last_error.empty());  // the main link's failure stays visible
  const bool got_config = std::any_of(b_engine.synced.begin(), b_engine.synced.end(), [](auto& m) {
    return std::holds_alternative<ConfigMessage>(m);
  });
  EXPECT_TRUE(got_config);
  EXPECT_EQ(m_engine.overlaps + b_engine.overlaps, 0);
}

// Both links up; the master's second listener goes away (a reload without listen_alt): the
// main link keeps the pair together, nobody takes over.
TEST_F(RedundancyPairLoopback, LosingOneOfTwoLinksIsNotLosingThePeer) {
  const std::uint16_t alt = free_port(loop.io);
  auto ms = pair_settings("k", port);
  ms.listen_alt = "127.0.0.1:" + std::to_string(alt);
  master = std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::master, ms,
                                        m_engine.hooks(), options("alpha"));
  auto bs = pair_settings("k", port);
  bs.master_alt = ms.listen_alt;
  backup = std::make_unique<Controller>(loop.io, loop.ex, RedundancyMode::backup, bs,
                                        b_engine.hooks(), options("beta"));
  backup->start();
  master->start();
  ASSERT_TRUE(loop.run_until([&] {
    const auto st = backup->status();
    return master->activity() == Activity::active && st.paths.size() == 2 && st.paths[0].up &&
           st.paths[1].up;
  }));
  auto reloaded = ms;
  reloaded.listen_alt.clear();
  master->update_settings(reloaded);
  loop.run_for(900ms);  // over two failover timeouts
  EXPECT_EQ(master->activity(), Activity::active);
  EXPECT_EQ(backup->activity(), Activity::standby);
  const auto st = backup->status();
  EXPECT_TRUE(st.paths[0].up);
  EXPECT_FALSE(st.paths[1].up);
  EXPECT_EQ(st.peer_via, "link");
  EXPECT_EQ(master->status().paths.size(), 1u);
  EXPECT_EQ(backup->status().events.size(), 0u);
  // The machines still see a connected peer: commands are not refused as "peer not connected".
  EXPECT_TRUE(backup->machine().peer_connected());
  EXPECT_EQ(backup->machine().peer_activity(), Activity::active);
  EXPECT_TRUE(master->recover().accepted);
}

// The broker path through the controller: a backup that hears its master nowhere but on the
// broker waits and says why; when the broker reports the session ended it takes over.
TEST_F(RedundancyPairLoopback, ABackupHeardOnlyViaTheBrokerWaitsThenTakesOver) {
  make_backup();
  backup->start();
  backup->set_broker_path(true);
  // Its silence deadline comes after failover_timeout_ms, or one timeout later if the loop was
  // held up past it (a pause of its own is no proof of the peer's silence): wait for the event.
  ASSERT_TRUE(loop.run_until([&] { return !backup->status().events.empty(); }, 2000ms));
  EXPECT_EQ(backup->activity(), Activity::standby);
  auto st = backup->status();
  EXPECT_EQ(st.peer_via, "broker");
  ASSERT_EQ(st.paths.size(), 2u);
  EXPECT_EQ(st.paths[1].name, "broker");
  EXPECT_TRUE(st.paths[1].up);
  ASSERT_EQ(st.events.size(), 1u);
  EXPECT_EQ(st.events[0].reason, "master alive via broker");
  backup->set_broker_path(false);
  ASSERT_TRUE(loop.run_until([&] { return backup->activity() == Activity::active; }, 2000ms));
  st = backup->status();
  EXPECT_FALSE(st.paths[1].up);
  EXPECT_TRUE(st.paths[1].last_heard);  // when the session ended
  EXPECT_EQ(st.peer_via, "");
  EXPECT_EQ(st.events.back().reason, "master_lost");
}

}  // namespace
}  // namespace pollux::redundancy
