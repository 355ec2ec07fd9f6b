// The runtime state's wire form (redundancy/state_codec.hpp): what the active node encodes, the
// standby decodes the same, through MessagePack as the peer link carries it.
#include "redundancy/state_codec.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace pollux::redundancy {
namespace {

using nlohmann::json;

// Through the peer link's encoding and back.
json over_the_wire(const json& j) {
  return json::from_msgpack(json::to_msgpack(j));
}

runtime::WallTime at_ms(std::int64_t ms) {
  return runtime::WallTime(
      std::chrono::duration_cast<runtime::WallTime::duration>(std::chrono::milliseconds(ms)));
}

TEST(StateCodec, DeviceRuntimeRoundTripsWithAgesCountersAndComm) {
  DeviceRuntime d;
  d.id = "WELL_01";
  d.ages.active_line = 2;
  d.ages.last_good_line = 3;
  d.ages.subsequent_active = true;
  d.ages.primary_failed_over = true;
  d.ages.since_last_success = std::chrono::seconds(130);
  d.ages.since_failed_over = std::chrono::milliseconds(1500);
  d.counters.messages_ok = 7;
  d.counters.framing_errors = 2;
  d.counters.overruns = 1;
  d.last_success = at_ms(1'700'000'000'123);
  d.comm_failed = true;
  const auto wire = over_the_wire(encode_devices({d}));
  ASSERT_EQ(wire.size(), 1u);
  const DeviceRuntime back = decode_device(wire[0]);
  EXPECT_EQ(back.id, d.id);
  EXPECT_EQ(back.ages, d.ages);
  EXPECT_FALSE(back.ages.since_restored);
  EXPECT_EQ(back.counters.messages_ok, 7u);
  EXPECT_EQ(back.counters.framing_errors, 2u);
  EXPECT_EQ(back.counters.overruns, 1u);
  EXPECT_EQ(back.last_success, d.last_success);
  EXPECT_TRUE(back.comm_failed);
}

TEST(StateCodec, ACommFlagAbsentFromAnOlderPeerReadsAsNotFailed) {
  DeviceRuntime d;
  d.id = "D";
  auto wire = encode_devices({d});
  wire[0].erase("failed");
  EXPECT_FALSE(decode_device(over_the_wire(wire)[0]).comm_failed);
}

TEST(StateCodec, PointValuesKeepTheirTypeThroughMessagePack) {
  points::PointStore store;
  const auto t = at_ms(1'700'000'000'000);
  const auto b = store.add("D", "B");
  const auto i = store.add("D", "I");
  const auto u = store.add("D", "U");
  const auto f = store.add("D", "F");
  const auto s = store.add("D", "S");
  const auto never = store.add("D", "NEVER");
  store.set_good(b, true, t);
  store.set_good(i, std::int64_t{42}, t);  // positive: MessagePack alone would make it unsigned
  store.set_good(u, std::uint64_t{7}, t);
  store.set_good(f, 3.0, t);  // whole: MessagePack alone would make it an integer
  store.set_good(s, std::string_view("open"), t);
  store.set_bad(f, "timeout", t);
  const auto wire = over_the_wire(encode_points(store, {b, i, u, f, s, never}));
  ASSERT_EQ(wire.size(), 6u);
  EXPECT_EQ(decode_point(wire[0]).value, points::Value{true});
  EXPECT_EQ(decode_point(wire[1]).value, points::Value{std::int64_t{42}});
  EXPECT_EQ(decode_point(wire[2]).value, points::Value{std::uint64_t{7}});
  const PointUpdate fp = decode_point(wire[3]);
  EXPECT_EQ(fp.value, points::Value{3.0});
  EXPECT_EQ(fp.quality, points::PointQuality::bad);
  EXPECT_EQ(fp.error, "timeout");
  EXPECT_EQ(fp.timestamp, t);
  EXPECT_EQ(decode_point(wire[4]).value, points::Value{std::string("open")});
  const PointUpdate np = decode_point(wire[5]);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(np.value));
  EXPECT_FALSE(np.timestamp);
  EXPECT_EQ(np.device, "D");
  EXPECT_EQ(np.name, "NEVER");
}

TEST(StateCodec, PollDoneRoundTrips) {
  const auto wire = over_the_wire(encode_polls({{"D", "fast", at_ms(1234)}}));
  const PollDone p = decode_poll(wire[0]);
  EXPECT_EQ(p.device, "D");
  EXPECT_EQ(p.group, "fast");
  EXPECT_EQ(p.at, at_ms(1234));
}

TEST(StateCodec, MalformedEntriesThrowAndAnUnknownValueTagReadsAsNull) {
  EXPECT_THROW(decode_device(json{{"id", "D"}}), json::exception);
  EXPECT_THROW(decode_poll(json{{"d", "D"}, {"g", 3}, {"t", 1}}), json::exception);
  json p{{"d", "D"}, {"n", "P"}, {"v", json::array({9, 1})}, {"q", 0}, {"t", nullptr}, {"e", ""}};
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_point(p).value));
}

}  // namespace
}  // namespace pollux::redundancy
