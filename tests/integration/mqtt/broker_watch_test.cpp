// The broker as a liveness path (app::BrokerWatch, redundancy.md "Partitions") against a real
// mosquitto: an in-process MQTT client plays the peer's Sparkplug session (NBIRTH and NDEATH
// with bdSeq, answering the watcher's rebirth request), with the client id Pollux's publishing
// session has on the same node, so a watcher that took that id would be kicked off. Handlers run
// on a real AsioExecutor driven by the test thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/broker_watch.hpp"
#include "broker.hpp"
#include "mqtt/client.hpp"
#include "northbound/encoder.hpp"
#include "northbound/session.hpp"
#include "runtime/asio_executor.hpp"

namespace pollux::app {
namespace {

using namespace std::chrono_literals;
using mqtt::test::Broker;
namespace nb = pollux::northbound;

constexpr const char* kNode = "fe-a";

config::NorthboundSettings settings_for(const Broker& broker, std::string edge = "FE1") {
  config::NorthboundSettings s;
  s.mqtt.url = broker.url();
  s.mqtt.keepalive_s = 5;
  s.sparkplug.group_id = "G1";
  s.sparkplug.edge_node_id = std::move(edge);
  return s;
}

std::string bd_payload(std::int64_t bd, bool birth) {
  nb::Payload p;
  p.timestamp = 1'700'000'000'000;
  if (birth) p.seq = 0;
  nb::Metric m;
  m.name = std::string(nb::kBdSeqMetric);
  m.type = nb::DataType::int64;
  m.value = bd;
  p.metrics.push_back(m);
  return nb::encode(p);
}

// The peer's Sparkplug session for one Edge Node: births with its bdSeq, and a rebirth when an
// NCMD asks for one.
struct Peer {
  Peer(runtime::Executor& ex, const config::NorthboundSettings& s, std::int64_t bd,
       const std::string& node = kNode)
      : edge(s.sparkplug.edge_node_id), bd_seq(bd) {
    mqtt::Handlers h;
    h.connected = [this] { ++connected; };
    h.connection_lost = [this](std::string) { ++lost; };
    h.connect_failed = [this](std::string) { ++failed; };
    h.message = [this](std::string topic, std::string payload) {
      const auto p = nb::decode(payload, nullptr);
      if (topic != "spBv1.0/G1/NCMD/" + edge || !p || p->metrics.size() != 1 ||
          p->metrics[0].name != nb::kRebirthMetric || p->metrics[0].value != nb::MetricValue(true))
        return;
      ++rebirths;
      if (answer_rebirth) birth();
    };
    client = std::make_unique<mqtt::Client>(
        ex, mqtt::ClientOptions{.url = s.mqtt.url, .client_id = s.resolved_client_id(node)},
        std::move(h));
  }
  void connect() {
    client->connect(
        {.topic = "spBv1.0/G1/NDEATH/" + edge, .payload = bd_payload(bd_seq, false), .qos = 1},
        {"spBv1.0/G1/NCMD/" + edge});
  }
  void birth() { client->publish("spBv1.0/G1/NBIRTH/" + edge, bd_payload(bd_seq, true), 0, 1); }
  void death(std::int64_t bd) {
    client->publish("spBv1.0/G1/NDEATH/" + edge, bd_payload(bd, false), 1, 2);
  }

  std::string edge;
  std::int64_t bd_seq;
  bool answer_rebirth = true;
  int connected = 0, lost = 0, failed = 0, rebirths = 0;
  std::unique_ptr<mqtt::Client> client;
};

class BrokerWatchTest : public ::testing::Test {
 protected:
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds timeout = 15s) {
    return mqtt::test::run_io_until(io_, done, timeout);
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  runtime::AsioExecutor ex_{io_};
  std::vector<bool> changes_;
  BrokerWatch watch_{ex_, [this](bool alive) { changes_.push_back(alive); }};
};

TEST_F(BrokerWatchTest, AsksForABirthThenFollowsTheSessionsBdSeq) {
  Broker broker;
  const auto s = settings_for(broker);
  Peer peer(ex_, s, 3);
  peer.connect();
  ASSERT_TRUE(run_until([&] { return peer.connected == 1; })) << broker.log();
  peer.birth();  // before anyone watches: the broker keeps no NBIRTH
  run_for(200ms);

  EXPECT_FALSE(watch_.status().configured);
  watch_.configure(s, kNode);
  EXPECT_TRUE(watch_.status().configured);
  ASSERT_TRUE(run_until([&] { return watch_.alive(); })) << broker.log();
  EXPECT_EQ(peer.rebirths, 1);
  EXPECT_EQ(changes_, std::vector<bool>{true});
  BrokerWatch::Status st = watch_.status();
  EXPECT_TRUE(st.connected);
  EXPECT_EQ(st.bd_seq, 3u);
  ASSERT_TRUE(st.last_heard);
  EXPECT_LE(*st.last_heard, ex_.wall_now());
  EXPECT_GT(*st.last_heard, ex_.wall_now() - 15s);
  EXPECT_TRUE(st.last_error.empty());

  // An older session's will is stale; this session's death ends it.
  peer.death(2);
  run_for(300ms);
  EXPECT_TRUE(watch_.alive());
  peer.death(3);
  ASSERT_TRUE(run_until([&] { return !watch_.alive(); }));
  EXPECT_EQ(changes_, (std::vector<bool>{true, false}));
  EXPECT_EQ(watch_.tracker()->counters().stale_deaths, 1u);
  EXPECT_EQ(watch_.tracker()->counters().deaths, 1u);

  // The watcher and the publishing session of the same node live side by side.
  EXPECT_EQ(peer.lost, 0);
  EXPECT_TRUE(watch_.status().connected);

  // Unchanged settings keep the session: no second rebirth request.
  watch_.configure(s, kNode);
  run_for(500ms);
  EXPECT_EQ(peer.rebirths, 1);
  EXPECT_TRUE(watch_.status().connected);

  watch_.configure(std::nullopt, kNode);
  EXPECT_FALSE(watch_.status().configured);
  EXPECT_FALSE(watch_.status().connected);
  peer.birth();
  run_for(300ms);
  EXPECT_FALSE(watch_.alive());
  EXPECT_EQ(changes_, (std::vector<bool>{true, false}));
}

TEST_F(BrokerWatchTest, ABrokerOutageIsUnknownUntilTheWatchReconnectsAndHearsABirth) {
  Broker broker;
  const auto s = settings_for(broker);
  Peer peer(ex_, s, 9);
  peer.connect();
  ASSERT_TRUE(run_until([&] { return peer.connected == 1; })) << broker.log();
  watch_.configure(s, kNode);
  ASSERT_TRUE(run_until([&] { return watch_.alive(); })) << broker.log();

  broker.stop();
  ASSERT_TRUE(run_until([&] { return !watch_.alive() && peer.lost == 1; }));
  EXPECT_EQ(changes_, (std::vector<bool>{true, false}));
  EXPECT_FALSE(watch_.status().connected);
  EXPECT_FALSE(watch_.status().last_error.empty());
  run_for(2500ms);  // a few failed attempts, a second or more apart

  broker.start();
  peer.bd_seq = 10;  // the peer's next session
  peer.connect();
  ASSERT_TRUE(run_until([&] { return peer.connected == 2; })) << broker.log();
  ASSERT_TRUE(run_until([&] { return watch_.alive(); }, 20s)) << broker.log();
  EXPECT_EQ(watch_.status().bd_seq, 10u);
  EXPECT_TRUE(watch_.status().last_error.empty());
  EXPECT_EQ(changes_, (std::vector<bool>{true, false, true}));
}

TEST_F(BrokerWatchTest, NewIdsMakeANewSessionOnTheNewTopics) {
  Broker broker;
  const auto s1 = settings_for(broker, "FE1");
  const auto s2 = settings_for(broker, "FE2");
  Peer fe1(ex_, s1, 1);
  fe1.connect();
  ASSERT_TRUE(run_until([&] { return fe1.connected == 1; })) << broker.log();
  watch_.configure(s1, kNode);
  ASSERT_TRUE(run_until([&] { return watch_.alive(); })) << broker.log();

  watch_.configure(s2, kNode);
  EXPECT_FALSE(watch_.alive());
  EXPECT_EQ(changes_, (std::vector<bool>{true, false}));
  ASSERT_TRUE(run_until([&] { return watch_.status().connected; })) << broker.log();
  fe1.birth();
  run_for(300ms);
  EXPECT_FALSE(watch_.alive());

  Peer fe2(ex_, s2, 4, "fe-c");
  fe2.answer_rebirth = false;
  fe2.connect();
  ASSERT_TRUE(run_until([&] { return fe2.connected == 1; })) << broker.log();
  fe2.birth();
  ASSERT_TRUE(run_until([&] { return watch_.alive(); })) << broker.log();
  EXPECT_EQ(watch_.status().bd_seq, 4u);

  watch_.stop();
  EXPECT_FALSE(watch_.alive());
  EXPECT_EQ(changes_, (std::vector<bool>{true, false, true, false}));
}

TEST_F(BrokerWatchTest, WithoutTheAutomaticAskABirthIsAskedForOnDemand) {
  Broker broker;
  const auto s = settings_for(broker);
  Peer peer(ex_, s, 6);
  peer.connect();
  ASSERT_TRUE(run_until([&] { return peer.connected == 1; })) << broker.log();
  peer.birth();
  watch_.set_ask_rebirth(false);
  EXPECT_FALSE(watch_.request_rebirth());  // no watch session yet
  watch_.configure(s, kNode);
  ASSERT_TRUE(run_until([&] { return watch_.status().connected; })) << broker.log();
  run_for(500ms);
  EXPECT_FALSE(watch_.alive());
  EXPECT_EQ(peer.rebirths, 0);
  EXPECT_TRUE(watch_.request_rebirth());
  ASSERT_TRUE(run_until([&] { return watch_.alive(); })) << broker.log();
  EXPECT_EQ(peer.rebirths, 1);
  EXPECT_EQ(watch_.status().bd_seq, 6u);
}

}  // namespace
}  // namespace pollux::app
