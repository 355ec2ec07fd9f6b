// The broker as a liveness path (spec/redundancy.md "Partitions"): EdgeNodeLiveness, one case
// per rule of its header. Payloads are encoded with the project's encoder, and the NBIRTH and
// NDEATH of the Pollux session machine itself are fed through, so the tracker reads exactly
// what Pollux writes.
#include "northbound/liveness.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "northbound/encoder.hpp"
#include "northbound/session.hpp"

namespace pollux::northbound {
namespace {

using runtime::seconds;
using runtime::TimePoint;

const TimePoint t0 = TimePoint{} + seconds(1000);
constexpr const char* kBirth = "spBv1.0/G1/NBIRTH/FE1";
constexpr const char* kDeath = "spBv1.0/G1/NDEATH/FE1";

Metric bd_metric(MetricValue v, DataType type = DataType::int64) {
  Metric m;
  m.name = std::string(kBdSeqMetric);
  m.type = type;
  m.timestamp = 1'700'000'000'000;
  m.value = std::move(v);
  return m;
}

std::string payload_with(std::optional<Metric> bd, std::optional<std::uint64_t> seq) {
  Payload p;
  p.timestamp = 1'700'000'000'000;
  p.seq = seq;
  if (bd) p.metrics.push_back(*bd);
  Metric rebirth;
  rebirth.name = std::string(kRebirthMetric);
  rebirth.type = DataType::boolean;
  rebirth.value = false;
  p.metrics.push_back(rebirth);
  return encode(p);
}

std::string birth(std::int64_t bd) {
  return payload_with(bd_metric(bd), 0);
}
std::string death(std::int64_t bd) {
  return payload_with(bd_metric(bd), std::nullopt);
}

class LivenessTest : public ::testing::Test {
 protected:
  LivenessTest() { EXPECT_FALSE(l.on_connected(t0)); }
  EdgeNodeLiveness l{"G1", "FE1"};
};

TEST_F(LivenessTest, UnknownIsNotAliveUntilABirth) {
  EdgeNodeLiveness fresh("G1", "FE1");
  EXPECT_FALSE(fresh.alive());
  EXPECT_FALSE(fresh.connected());
  EXPECT_FALSE(fresh.bd_seq());
  EXPECT_FALSE(fresh.last_heard());
  EXPECT_FALSE(fresh.since());
  EXPECT_EQ(fresh.nbirth_topic(), kBirth);
  EXPECT_EQ(fresh.ndeath_topic(), kDeath);
  EXPECT_FALSE(fresh.on_connected(t0));
  EXPECT_TRUE(fresh.connected());
  EXPECT_FALSE(fresh.alive());
  EXPECT_FALSE(fresh.since());
}

TEST_F(LivenessTest, BirthWithBdSeqMakesItAlive) {
  EXPECT_TRUE(l.on_message(kBirth, birth(7), t0 + seconds(1)));
  EXPECT_TRUE(l.alive());
  EXPECT_EQ(l.bd_seq(), 7u);
  EXPECT_EQ(l.last_heard(), t0 + seconds(1));
  EXPECT_EQ(l.since(), t0 + seconds(1));
  EXPECT_EQ(l.counters().births, 1u);
}

TEST_F(LivenessTest, UInt64BdSeqIsReadToo) {
  EXPECT_TRUE(
      l.on_message(kBirth, payload_with(bd_metric(std::uint64_t{9}, DataType::uint64), 0), t0));
  EXPECT_EQ(l.bd_seq(), 9u);
  EXPECT_TRUE(
      l.on_message(kDeath, payload_with(bd_metric(std::uint64_t{9}, DataType::uint64), {}), t0));
  EXPECT_FALSE(l.alive());
}

TEST_F(LivenessTest, RebirthOfTheSameSessionKeepsItAliveSinceTheFirst) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0 + seconds(1)));
  EXPECT_FALSE(l.on_message(kBirth, birth(7), t0 + seconds(5)));
  EXPECT_TRUE(l.alive());
  EXPECT_EQ(l.since(), t0 + seconds(1));
  EXPECT_EQ(l.last_heard(), t0 + seconds(5));
  EXPECT_EQ(l.counters().births, 2u);
}

TEST_F(LivenessTest, DeathWithTheSessionsBdSeqEndsIt) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0 + seconds(1)));
  EXPECT_TRUE(l.on_message(kDeath, death(7), t0 + seconds(3)));
  EXPECT_FALSE(l.alive());
  EXPECT_FALSE(l.bd_seq());
  EXPECT_EQ(l.since(), t0 + seconds(3));
  EXPECT_EQ(l.last_heard(), t0 + seconds(3));
  EXPECT_EQ(l.counters().deaths, 1u);
}

TEST_F(LivenessTest, DeathOfAnOlderSessionIsAStaleWillAndIgnored) {
  ASSERT_TRUE(l.on_message(kBirth, birth(5), t0));
  // The master restarted fast: its new session births before the broker gives up the old one.
  EXPECT_FALSE(l.on_message(kBirth, birth(6), t0 + seconds(1)));
  EXPECT_EQ(l.bd_seq(), 6u);
  EXPECT_FALSE(l.on_message(kDeath, death(5), t0 + seconds(40)));
  EXPECT_TRUE(l.alive());
  EXPECT_EQ(l.bd_seq(), 6u);
  EXPECT_EQ(l.last_heard(), t0 + seconds(1));  // a stale will is not heard from the session
  EXPECT_EQ(l.counters().stale_deaths, 1u);
  EXPECT_EQ(l.counters().deaths, 0u);
  EXPECT_TRUE(l.on_message(kDeath, death(6), t0 + seconds(50)));
  EXPECT_FALSE(l.alive());
}

TEST_F(LivenessTest, ADeathWhileNothingIsAliveChangesNothing) {
  EXPECT_FALSE(l.on_message(kDeath, death(3), t0));
  EXPECT_FALSE(l.alive());
  EXPECT_FALSE(l.last_heard());
  EXPECT_EQ(l.counters().stale_deaths, 1u);
  // Nor does a second death of a session that already ended.
  ASSERT_TRUE(l.on_message(kBirth, birth(4), t0));
  ASSERT_TRUE(l.on_message(kDeath, death(4), t0 + seconds(1)));
  EXPECT_FALSE(l.on_message(kDeath, death(4), t0 + seconds(2)));
  EXPECT_EQ(l.since(), t0 + seconds(1));
  EXPECT_EQ(l.counters().stale_deaths, 2u);
}

TEST_F(LivenessTest, BdSeqWrapsFrom255To0) {
  ASSERT_TRUE(l.on_message(kBirth, birth(255), t0));
  ASSERT_TRUE(l.on_message(kDeath, death(255), t0 + seconds(1)));
  EXPECT_TRUE(l.on_message(kBirth, birth(0), t0 + seconds(2)));
  EXPECT_EQ(l.bd_seq(), 0u);
  // 255's will again (a duplicate delivery) is stale beside session 0.
  EXPECT_FALSE(l.on_message(kDeath, death(255), t0 + seconds(3)));
  EXPECT_TRUE(l.alive());
  // A wrap with the old session's death never seen: the newest birth is the session.
  EdgeNodeLiveness w("G1", "FE1");
  w.on_connected(t0);
  ASSERT_TRUE(w.on_message(kBirth, birth(255), t0));
  EXPECT_FALSE(w.on_message(kBirth, birth(0), t0 + seconds(1)));
  EXPECT_FALSE(w.on_message(kDeath, death(255), t0 + seconds(2)));
  EXPECT_TRUE(w.alive());
  EXPECT_TRUE(w.on_message(kDeath, death(0), t0 + seconds(3)));
  EXPECT_FALSE(w.alive());
}

TEST_F(LivenessTest, DeathWithoutBdSeqIsNotPolluxsAndIgnored) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0));
  EXPECT_FALSE(l.on_message(kDeath, payload_with(std::nullopt, std::nullopt), t0 + seconds(1)));
  EXPECT_FALSE(l.on_message(kDeath, payload_with(bd_metric(std::monostate{}), {}), t0));
  EXPECT_FALSE(l.on_message(kDeath, payload_with(bd_metric(std::int64_t{-1}), {}), t0));
  EXPECT_FALSE(
      l.on_message(kDeath, payload_with(bd_metric(std::string("7"), DataType::string), {}), t0));
  EXPECT_TRUE(l.alive());
  EXPECT_EQ(l.counters().ignored, 4u);
  EXPECT_EQ(l.counters().deaths, 0u);
}

TEST_F(LivenessTest, BirthWithoutAUsableBdSeqProvesNothing) {
  EXPECT_FALSE(l.on_message(kBirth, payload_with(std::nullopt, 0), t0));
  EXPECT_FALSE(l.on_message(kBirth, payload_with(bd_metric(std::monostate{}), 0), t0));
  EXPECT_FALSE(l.on_message(kBirth, payload_with(bd_metric(std::int64_t{-3}), 0), t0));
  EXPECT_FALSE(
      l.on_message(kBirth, payload_with(bd_metric(std::int64_t{3}, DataType::int32), 0), t0));
  EXPECT_FALSE(l.on_message(kBirth, payload_with(bd_metric(true, DataType::boolean), 0), t0));
  EXPECT_FALSE(l.alive());
  EXPECT_FALSE(l.last_heard());
  EXPECT_EQ(l.counters().ignored, 5u);
  EXPECT_EQ(l.counters().births, 0u);
}

TEST_F(LivenessTest, GarbageAndOtherTopicsAreIgnoredAndCounted) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0));
  EXPECT_FALSE(l.on_message(kDeath, "\xff\xff\xff not protobuf", t0));
  EXPECT_FALSE(l.on_message(kBirth, std::string("\x0a\x05\x0a", 3), t0));  // truncated
  EXPECT_EQ(l.counters().undecodable, 2u);
  EXPECT_EQ(l.bd_seq(), 7u);
  // Another Edge Node's death, another group's, a device death, data: not this session's.
  EXPECT_FALSE(l.on_message("spBv1.0/G1/NDEATH/FE2", death(7), t0));
  EXPECT_FALSE(l.on_message("spBv1.0/G2/NDEATH/FE1", death(7), t0));
  EXPECT_FALSE(l.on_message("spBv1.0/G1/DDEATH/FE1/rtu1", death(7), t0));
  EXPECT_FALSE(l.on_message("spBv1.0/G1/NDATA/FE1", birth(7), t0));
  EXPECT_FALSE(l.on_message("spBv1.0/G1/NDEATH/FE1/", death(7), t0));
  EXPECT_EQ(l.counters().ignored, 5u);
  EXPECT_TRUE(l.alive());
  EXPECT_EQ(l.counters().deaths, 0u);
}

TEST_F(LivenessTest, ALostWatchSessionIsUnknownUntilTheNextBirth) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0));
  EXPECT_TRUE(l.on_connection_lost(t0 + seconds(10)));
  EXPECT_FALSE(l.alive());
  EXPECT_FALSE(l.connected());
  EXPECT_FALSE(l.bd_seq());
  EXPECT_EQ(l.since(), t0 + seconds(10));
  EXPECT_EQ(l.last_heard(), t0);  // still when the path last said something
  EXPECT_FALSE(l.on_connection_lost(t0 + seconds(11)));
  EXPECT_FALSE(l.on_connected(t0 + seconds(12)));
  EXPECT_FALSE(l.alive());
  // The old session's death after the reconnect: nothing is alive for it to end.
  EXPECT_FALSE(l.on_message(kDeath, death(7), t0 + seconds(13)));
  EXPECT_TRUE(l.on_message(kBirth, birth(7), t0 + seconds(14)));
  EXPECT_EQ(l.bd_seq(), 7u);
}

TEST_F(LivenessTest, ABirthBeforeConnectedIsKeptAndAReconnectWithoutALossForgetsIt) {
  EdgeNodeLiveness w("G1", "FE1");
  // The broker delivers on the subscription before the client reports it granted.
  EXPECT_TRUE(w.on_message(kBirth, birth(2), t0));
  EXPECT_FALSE(w.on_connected(t0 + seconds(1)));
  EXPECT_TRUE(w.alive());
  // Connected again without a reported loss: a new watch session, which knows nothing yet.
  EXPECT_TRUE(w.on_connected(t0 + seconds(2)));
  EXPECT_FALSE(w.alive());
}

TEST_F(LivenessTest, NewIdsStartFromUnknownAndWatchTheNewTopics) {
  ASSERT_TRUE(l.on_message(kBirth, birth(7), t0));
  EXPECT_FALSE(l.set_ids("G1", "FE1", t0 + seconds(1)));
  EXPECT_TRUE(l.alive());
  EXPECT_TRUE(l.set_ids("G1", "FE9", t0 + seconds(2)));
  EXPECT_FALSE(l.alive());
  EXPECT_FALSE(l.bd_seq());
  EXPECT_FALSE(l.last_heard());
  EXPECT_EQ(l.since(), t0 + seconds(2));
  EXPECT_EQ(l.nbirth_topic(), "spBv1.0/G1/NBIRTH/FE9");
  EXPECT_EQ(l.ndeath_topic(), "spBv1.0/G1/NDEATH/FE9");
  EXPECT_TRUE(l.connected());  // the watch session is the glue's business
  EXPECT_FALSE(l.on_message(kBirth, birth(7), t0 + seconds(3)));
  EXPECT_FALSE(l.alive());
  EXPECT_TRUE(l.on_message("spBv1.0/G1/NBIRTH/FE9", birth(1), t0 + seconds(4)));
  EXPECT_TRUE(l.on_message("spBv1.0/G1/NDEATH/FE9", death(1), t0 + seconds(5)));
  EXPECT_TRUE(l.set_ids("G2", "FE9", t0 + seconds(6)) == false);  // not alive: no change
  EXPECT_EQ(l.nbirth_topic(), "spBv1.0/G2/NBIRTH/FE9");
}

// The session machine's own NBIRTH and will, as the master publishes them, through the tracker.
TEST_F(LivenessTest, ReadsWhatThePolluxSessionWrites) {
  Session::Options o;
  o.group_id = "G1";
  o.edge_node_id = "FE1";
  Session s(o, std::uint8_t{254});
  Actions out;
  s.set_active(true, t0, 1'700'000'000'000, out);
  ASSERT_EQ(out.size(), 1u);
  const Connect will_carrier = std::get<Connect>(out[0]);
  out.clear();
  s.on_connected(t0, 1'700'000'000'000, out);
  ASSERT_FALSE(out.empty());
  const Publish nbirth = std::get<Publish>(out[0]);
  ASSERT_EQ(nbirth.type, MessageType::nbirth);
  EXPECT_TRUE(l.on_message(nbirth.topic, encode(nbirth.payload), t0));
  EXPECT_EQ(l.bd_seq(), 255u);
  // The clean NDEATH of set_active(false), then the will of the next session after a wrap.
  out.clear();
  s.set_active(false, t0, 1'700'000'000'000, out);
  const Publish ndeath = std::get<Publish>(out[0]);
  ASSERT_EQ(ndeath.type, MessageType::ndeath);
  EXPECT_TRUE(l.on_message(ndeath.topic, encode(ndeath.payload), t0 + seconds(1)));
  EXPECT_FALSE(l.alive());
  out.clear();
  s.set_active(true, t0, 1'700'000'000'000, out);
  const Connect next = std::get<Connect>(out[0]);
  out.clear();
  s.on_connected(t0, 1'700'000'000'000, out);
  const Publish nbirth0 = std::get<Publish>(out[0]);
  EXPECT_TRUE(l.on_message(nbirth0.topic, encode(nbirth0.payload), t0 + seconds(2)));
  EXPECT_EQ(l.bd_seq(), 0u);
  // The first session's will, published late by the broker, is stale.
  EXPECT_FALSE(
      l.on_message(will_carrier.will.topic, encode(will_carrier.will.payload), t0 + seconds(3)));
  EXPECT_TRUE(l.alive());
  EXPECT_TRUE(l.on_message(next.will.topic, encode(next.will.payload), t0 + seconds(4)));
  EXPECT_FALSE(l.alive());
}

}  // namespace
}  // namespace pollux::northbound
