#include "redundancy/messages.hpp"

#include <gtest/gtest.h>

namespace pollux::redundancy {
namespace {

using nlohmann::json;

Bytes nonce(std::uint8_t fill) {
  return Bytes(kNonceSize, fill);
}

Message round_trip(const Message& m) {
  Decoded d = decode_message(encode_message(m));
  EXPECT_TRUE(d.message.has_value()) << d.error;
  EXPECT_TRUE(d.error.empty());
  return d.message.value_or(m);
}

TEST(PeerMessages, EveryTypeRoundTrips) {
  {
    auto m = std::get<Hello>(round_trip(Hello{kProtocolVersion, PeerRole::backup, "B", nonce(7)}));
    EXPECT_EQ(m.role, PeerRole::backup);
    EXPECT_EQ(m.node, "B");
    EXPECT_EQ(m.nonce, nonce(7));
  }
  {
    auto m = std::get<Challenge>(round_trip(Challenge{PeerRole::master, "M", nonce(9)}));
    EXPECT_EQ(m.role, PeerRole::master);
    EXPECT_EQ(m.nonce, nonce(9));
  }
  {
    auto m = std::get<Response>(round_trip(Response{Bytes(kMacSize, 3), ""}));
    EXPECT_EQ(m.proof, Bytes(kMacSize, 3));
    auto e = std::get<Response>(round_trip(Response{{}, "proof rejected"}));
    EXPECT_EQ(e.error, "proof rejected");
  }
  {
    auto m =
        std::get<Heartbeat>(round_trip(Heartbeat{Activity::active, "abc123", 42, 1795000000123}));
    EXPECT_EQ(m.activity, Activity::active);
    EXPECT_EQ(m.config_version, "abc123");
    EXPECT_EQ(m.state_seq, 42u);
    EXPECT_EQ(m.sent_at, 1795000000123);
  }
  {
    auto m = std::get<HeartbeatAck>(round_trip(HeartbeatAck{Activity::standby, "v", 1, -5, 77}));
    EXPECT_EQ(m.activity, Activity::standby);
    EXPECT_EQ(m.sent_at, -5);
    EXPECT_EQ(m.echo_sent_at, 77);
  }
  {
    auto m = std::get<ConfigMessage>(round_trip(ConfigMessage{"v1", "channels: []\n"}));
    EXPECT_EQ(m.canonical_text, "channels: []\n");
  }
  {
    StateFull s{9, json::array({{{"id", "WELL_01"}, {"active_line", 2}}}),
                json::array({{{"name", "P"}, {"value", 1.5}}}), 17};
    auto m = std::get<StateFull>(round_trip(s));
    EXPECT_EQ(m.seq, 9u);
    EXPECT_EQ(m.devices, s.devices);
    EXPECT_EQ(m.points, s.points);
    EXPECT_EQ(m.bd_seq, std::optional<std::uint64_t>(17));
  }
  {
    StateDelta s{10, json::array(), json::array({{{"name", "P"}, {"value", nullptr}}}),
                 json::array(), std::nullopt};
    auto m = std::get<StateDelta>(round_trip(s));
    EXPECT_EQ(m.points, s.points);
    // Without northbound (or from an older peer) there is no bdSeq: absent, not 0.
    EXPECT_EQ(m.bd_seq, std::nullopt);
    EXPECT_FALSE(json::from_msgpack(encode_message(s)).contains("bd_seq"));
    s.bd_seq = 255;
    EXPECT_EQ(std::get<StateDelta>(round_trip(s)).bd_seq, std::optional<std::uint64_t>(255));
  }
  EXPECT_EQ(std::get<StateRequest>(round_trip(StateRequest{5})).last_seq, 5u);
  EXPECT_EQ(std::get<HandoverRequest>(round_trip(HandoverRequest{"recover"})).reason, "recover");
  EXPECT_EQ(std::get<HandoverAck>(round_trip(HandoverAck{"x"})).reason, "x");
  EXPECT_EQ(std::get<HandoverDone>(round_trip(HandoverDone{"y"})).reason, "y");
  {
    HistoryForward f{
        3, "partial",
        json::array({{{"d", "W"}, {"p", "P"}, {"t", 1700000000123}, {"v", 1.5}, {"q", "good"}}})};
    auto m = std::get<HistoryForward>(round_trip(f));
    EXPECT_EQ(m.seq, 3u);
    EXPECT_EQ(m.level, "partial");
    EXPECT_EQ(m.records, f.records);
  }
  {
    HistoryForwarded a{3, 1, 1700000000000,
                       json::array({{{"from", 1700000000500}, {"to", nullptr}}}), ""};
    auto m = std::get<HistoryForwarded>(round_trip(a));
    EXPECT_EQ(m.seq, 3u);
    EXPECT_EQ(m.written, 1u);
    EXPECT_EQ(m.started_at, 1700000000000);
    EXPECT_EQ(m.active, a.active);
    EXPECT_EQ(m.error, "");
  }
}

TEST(PeerMessages, TypeNamesAreTheWireTags) {
  EXPECT_EQ(type_name(HeartbeatAck{}), "heartbeat_ack");
  EXPECT_EQ(type_name(HandoverDone{}), "handover_done");
  EXPECT_EQ(type_name(HistoryForward{}), "history_forward");
  EXPECT_EQ(type_name(HistoryForwarded{}), "history_forwarded");
  const json j = json::from_msgpack(encode_message(StateRequest{1}));
  EXPECT_EQ(j.at("type"), "state_request");
  EXPECT_TRUE(is_handshake(Hello{}));
  EXPECT_FALSE(is_handshake(Heartbeat{}));
}

std::string decode_error(const json& j) {
  Decoded d = decode_message(json::to_msgpack(j));
  EXPECT_FALSE(d.message.has_value());
  return d.error;
}

TEST(PeerMessages, MalformedPayloadsAreErrorsNotCrashes) {
  const Bytes garbage = {0xC1, 0x00, 0xFF};  // 0xC1 is never used in MessagePack
  EXPECT_NE(decode_message(garbage).error.find("malformed message"), std::string::npos);
  EXPECT_FALSE(decode_message({}).message.has_value());
  EXPECT_EQ(decode_error(json::array({1, 2})), "malformed message: payload is not a map");
  EXPECT_EQ(decode_error({{"x", 1}}), "malformed message: missing field 'type'");
  EXPECT_EQ(decode_error({{"type", 3}}), "malformed message: field 'type' is not a string");
  EXPECT_EQ(decode_error({{"type", "bogus"}}), "malformed message: unknown message type 'bogus'");
  EXPECT_EQ(decode_error({{"type", "heartbeat"}, {"activity", "active"}}),
            "malformed message: missing field 'config_version'");
  EXPECT_EQ(decode_error({{"type", "heartbeat"},
                          {"activity", "sleeping"},
                          {"config_version", ""},
                          {"state_seq", 1},
                          {"sent_at", 0}}),
            "malformed message: field 'activity' is not active|standby");
  EXPECT_EQ(decode_error({{"type", "heartbeat"},
                          {"activity", "active"},
                          {"config_version", ""},
                          {"state_seq", -1},
                          {"sent_at", 0}}),
            "malformed message: field 'state_seq' is not an unsigned integer");
  EXPECT_EQ(decode_error({{"type", "state_full"},
                          {"seq", 1},
                          {"devices", json::array({1})},
                          {"points", json::array()}}),
            "malformed message: field 'devices' has a non-object entry");
  EXPECT_EQ(decode_error({{"type", "state_delta"}, {"seq", 1}, {"devices", "x"}, {"points", 1}}),
            "malformed message: field 'devices' is not an array");
  EXPECT_EQ(decode_error({{"type", "hello"},
                          {"version", 1},
                          {"role", "backup"},
                          {"node", "b"},
                          {"nonce", json::binary(Bytes(5))}}),
            "malformed message: field 'nonce' has 5 bytes, expected 32");
  EXPECT_EQ(decode_error({{"type", "hello"},
                          {"version", 2},
                          {"role", "backup"},
                          {"node", "b"},
                          {"nonce", json::binary(nonce(1))}}),
            "malformed message: unsupported protocol version 2");
  EXPECT_EQ(decode_error({{"type", "challenge"},
                          {"role", "boss"},
                          {"node", "b"},
                          {"nonce", json::binary(nonce(1))}}),
            "malformed message: field 'role' is not master|backup");
  EXPECT_EQ(decode_error({{"type", "response"}, {"proof", "text"}, {"error", ""}}),
            "malformed message: field 'proof' is not binary");
}

TEST(PeerMessages, TruncatedEncodingsNeverDecode) {
  const Bytes full = encode_message(Heartbeat{Activity::active, "abc", 3, 4});
  for (std::size_t n = 0; n < full.size(); ++n) {
    Decoded d = decode_message(std::span(full).first(n));
    EXPECT_FALSE(d.message.has_value()) << n;
    EXPECT_FALSE(d.error.empty());
  }
}

TEST(PeerMessages, DeepNestingIsRefusedWithoutRecursingFurther) {
  Bytes deep(100000, 0x91);  // 100000 nested one-element arrays
  deep.push_back(0xC0);
  Decoded d = decode_message(deep);
  EXPECT_FALSE(d.message.has_value());
  EXPECT_EQ(d.error, "malformed message: nesting deeper than 32");
}

TEST(PeerMessages, UnsetStateEntriesTravelAsEmptyArrays) {
  StateDelta s;
  s.seq = 2;
  s.devices = json();  // null: nothing changed
  s.points = json();
  auto m = std::get<StateDelta>(round_trip(s));
  EXPECT_EQ(m.devices, json::array());
  EXPECT_EQ(m.points, json::array());
}

TEST(PeerMessages, DeltaPollRecordsRoundTripAndAreOptionalOnTheWire) {
  StateDelta s;
  s.seq = 4;
  s.polls = json::array({{{"d", "WELL_01"}, {"g", "fast"}, {"t", 1700000000123}}});
  auto m = std::get<StateDelta>(round_trip(s));
  EXPECT_EQ(m.polls, s.polls);
  // A peer that predates poll records sends none: an empty list, not a malformed message.
  json j = json::from_msgpack(encode_message(StateDelta{5, json::array(), json::array(), {}, {}}));
  j.erase("polls");
  Decoded d = decode_message(json::to_msgpack(j));
  ASSERT_TRUE(d.message.has_value()) << d.error;
  EXPECT_EQ(std::get<StateDelta>(*d.message).polls, json::array());
  // Present but not a list of objects: malformed.
  j["polls"] = 7;
  EXPECT_FALSE(decode_message(json::to_msgpack(j)).message.has_value());
}

TEST(PeerMessages, UnknownExtraFieldsAreIgnored) {
  json j = json::from_msgpack(encode_message(StateRequest{3}));
  j["future"] = "field";
  Decoded d = decode_message(json::to_msgpack(j));
  ASSERT_TRUE(d.message.has_value()) << d.error;
  EXPECT_EQ(std::get<StateRequest>(*d.message).last_seq, 3u);
}

}  // namespace
}  // namespace pollux::redundancy
