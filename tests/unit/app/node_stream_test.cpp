// What the live stream journals (app/node_stream.hpp; spec/api.md "Live stream"), on a manual
// clock around a real engine whose links never answer: point changes, device status changes,
// journaling only while a client is attached (and for the linger after), resync after a pause,
// and the heartbeat.
#include "app/node_stream.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "config/loader.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_link.hpp"

namespace pollux::app {
namespace {

using api::StreamEventKind;
using std::chrono::milliseconds;
using std::chrono::seconds;

const char* kYaml =
    "node: { name: n }\n"
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
    "          - { name: V, table: holding, address: 0, type: uint16 }\n"
    "  - id: B\n"
    "    unit: 2\n"
    "    comm: { primary: { channel: NET1, host: 10.0.0.2, port: 502 } }\n"
    "    polls:\n"
    "      - name: g\n"
    "        interval_ms: 1000\n"
    "        points:\n"
    "          - { name: V, table: holding, address: 0, type: uint16 }\n";

struct NodeStreamTest : ::testing::Test {
  void SetUp() override {
    auto r = config::load_text(kYaml, "n.yaml");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    engine = std::make_unique<engine::Engine>(
        ex,
        [this](const config::Channel&) -> std::unique_ptr<transport::Link> {
          return std::make_unique<testlib::FakeLink>(ex, true);
        },
        *r.config);
    engine->start();
    stream = std::make_unique<NodeStream>(ex, *engine, [this] { return redundancy_events; });
    stream->start();
  }
  void TearDown() override {
    stream.reset();
    engine->stop();
    engine.reset();
  }

  void set_point(const char* device, std::int64_t value) {
    auto& store = engine->store();
    store.set_good(*store.find(device, "V"), points::Value{value}, ex.wall_now());
    ex.run_pending();
  }
  // Everything journaled from `cursor` on, as SSE text.
  std::string since(std::uint64_t cursor) {
    return stream->journal().read(cursor, {}, 1 << 20).text;
  }

  runtime::ManualExecutor ex;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<NodeStream> stream;
  std::vector<api::RedundancyEventView> redundancy_events;
};

TEST_F(NodeStreamTest, NothingIsJournaledWithoutAClient) {
  const auto before = stream->journal().next_id();
  set_point("A", 1);
  ex.advance(seconds(1));
  EXPECT_FALSE(stream->journaling());
  EXPECT_EQ(stream->journal().next_id(), before);
}

TEST_F(NodeStreamTest, AttachedPointChangesAreJournaledAtOnceAsPoints) {
  auto client = std::make_shared<int>(0);
  stream->journal().attach(client);
  EXPECT_TRUE(stream->journaling());  // from the attach, not the next tick
  const auto cursor = stream->journal().start(std::nullopt).cursor;
  int woken = 0;
  stream->journal().wait([&] { ++woken; });
  set_point("A", 42);
  EXPECT_EQ(woken, 1);  // without waiting for a tick
  const std::string text = since(cursor);
  EXPECT_NE(text.find("event: point\ndata: {\"device\":\"A\",\"name\":\"V\",\"quality\":\"good\","),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"value\":42}"), std::string::npos) << text;
}

TEST_F(NodeStreamTest, ADeviceWhoseCommStatusChangesIsJournaledAsADevice) {
  auto client = std::make_shared<int>(0);
  stream->journal().attach(client);
  const auto cursor = stream->journal().start(std::nullopt).cursor;
  ex.advance(milliseconds(300));
  EXPECT_EQ(since(cursor).find("event: device"), std::string::npos);  // the baseline is silent
  ASSERT_TRUE(engine->set_channel_enabled("NET1", false).ok());
  ex.advance(milliseconds(300));
  const std::string text = since(cursor);
  EXPECT_NE(text.find("event: device\ndata: {"), std::string::npos) << text;
  EXPECT_NE(text.find("\"id\":\"A\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"id\":\"B\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"comm\":\"disabled\""), std::string::npos) << text;
}

TEST_F(NodeStreamTest, RedundancyEventsPastTheBaselineAreJournaled) {
  redundancy_events.push_back({1, ex.wall_now(), "standby", "active", "startup"});
  auto client = std::make_shared<int>(0);
  stream->journal().attach(client);
  const auto cursor = stream->journal().start(std::nullopt).cursor;
  redundancy_events.push_back({2, ex.wall_now(), "active", "standby", "handover"});
  ex.advance(milliseconds(300));
  const std::string text = since(cursor);
  EXPECT_EQ(text.find("\"seq\":1"), std::string::npos) << text;
  EXPECT_NE(text.find("event: redundancy\ndata: {\"from\":\"active\""), std::string::npos) << text;
}

TEST_F(NodeStreamTest, JournalingStopsAfterTheLingerAndAResumeFromBeforeResyncs) {
  auto client = std::make_shared<int>(0);
  stream->journal().attach(client);
  set_point("A", 1);
  const auto last = stream->journal().next_id() - 1;
  client.reset();
  ex.advance(seconds(30));
  set_point("A", 2);  // within the linger: still journaled for a reconnect
  EXPECT_FALSE(stream->journal().start(last).resync);
  ex.advance(seconds(31));
  EXPECT_FALSE(stream->journaling());
  set_point("A", 3);
  EXPECT_TRUE(stream->journal().start(last).resync);
}

TEST_F(NodeStreamTest, WaitingClientsAreWokenByTheHeartbeatWithoutNews) {
  // A switched-off channel: no polls, so no news at all.
  ASSERT_TRUE(engine->set_channel_enabled("NET1", false).ok());
  ex.advance(seconds(5));
  auto client = std::make_shared<int>(0);
  stream->journal().attach(client);
  const auto from = stream->journal().next_id();
  int woken = 0;
  const auto wait = [&] { stream->journal().wait([&] { ++woken; }); };
  wait();
  for (int i = 0; i < 100 && woken == 0; ++i)  // the first heartbeat, within 15 s
    ex.advance(milliseconds(250));
  ASSERT_EQ(woken, 1);
  wait();
  ex.advance(milliseconds(14'500));
  EXPECT_EQ(woken, 1);
  ex.advance(milliseconds(750));
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(stream->journal().next_id(), from) << since(from);  // woken without events
}

}  // namespace
}  // namespace pollux::app
