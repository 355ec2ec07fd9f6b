#include "api/api_json.hpp"

#include <gtest/gtest.h>

#include "fake_node.hpp"

namespace pollux::api {
namespace {

using nlohmann::json;
using testing::fixed_time;

TEST(ApiJson, DeviceGolden) {
  testing::FakeNode node;
  const json expected = json::parse(R"({
    "id":"WELL_01","enabled":true,"unit":17,"auto":true,
    "active_line":1,"active_channel":"COM1",
    "lines":[{"line":1,"channel":"COM1","eligible":true,"usable":true},
             {"line":2,"channel":"NET1","eligible":true,"usable":true,"retry_primary_s":300},
             {"line":3,"channel":"MODEM1","eligible":true,"usable":false}],
    "primary_failed_over":false,"last_success":"2026-11-21T22:40:01.123Z","last_good_line":1,
    "comm":"ok",
    "stats":{"messages_ok":42,"messages_failed":0,"exceptions":0,"timeouts":3,"crc_errors":0,
             "framing_errors":0,"polls_ok":0,"polls_failed":0,
             "demoted":false,"polls_skipped":0,"overruns":0},
    "writable":["PUMP_ON"]})");
  EXPECT_EQ(to_json(*node.device("WELL_01")), expected);
}

TEST(ApiJson, DeviceNullsBeforeFirstSuccess) {
  DeviceView d;
  d.id = "NEW";
  d.auto_failover = false;
  const json j = to_json(d);
  EXPECT_TRUE(j.at("last_success").is_null());
  EXPECT_TRUE(j.at("last_good_line").is_null());
  EXPECT_EQ(j.at("auto"), false);
  EXPECT_TRUE(j.at("lines").is_array());
  EXPECT_TRUE(j.at("lines").empty());
  EXPECT_EQ(j.at("comm"), "ok");
  d.comm = CommStatus::failed;
  EXPECT_EQ(to_json(d).at("comm"), "failed");
  d.comm = CommStatus::disabled;
  EXPECT_EQ(to_json(d).at("comm"), "disabled");
}

TEST(ApiJson, PointGoldenAndValueTypes) {
  PointView p{"WELL_01", "PRESSURE", 12.5, Quality::good, fixed_time(), "ignored while good"};
  EXPECT_EQ(to_json(p), json::parse(R"({"device":"WELL_01","name":"PRESSURE","value":12.5,
      "quality":"good","timestamp":"2026-11-21T22:40:01.123Z"})"));
  p.value = true;
  EXPECT_EQ(to_json(p).at("value"), true);
  p.value = std::int64_t{-7};
  EXPECT_EQ(to_json(p).at("value").dump(), "-7");
  p.value = std::uint64_t{4'000'000'000u};
  EXPECT_EQ(to_json(p).at("value").dump(), "4000000000");
  p.value = std::string("RUN");
  EXPECT_EQ(to_json(p).at("value"), "RUN");
  p.quality = Quality::uncertain;
  EXPECT_EQ(to_json(p).at("quality"), "uncertain");
  EXPECT_FALSE(to_json(p).contains("error"));
}

TEST(ApiJson, PointBeforeFirstReadIsNullAndBad) {
  const PointView p{"TANK_02", "LEVEL", std::monostate{}, Quality::bad, std::nullopt, ""};
  EXPECT_EQ(to_json(p), json::parse(R"({"device":"TANK_02","name":"LEVEL","value":null,
      "quality":"bad","timestamp":null})"));
}

TEST(ApiJson, BadPointKeepsValueAndShowsError) {
  const PointView p{"WELL_01", "PRESSURE", 12.5, Quality::bad, fixed_time(), "timeout"};
  EXPECT_EQ(to_json(p), json::parse(R"({"device":"WELL_01","name":"PRESSURE","value":12.5,
      "quality":"bad","timestamp":"2026-11-21T22:40:01.123Z","error":"timeout"})"));
}

TEST(ApiJson, ChannelGolden) {
  const ChannelView c{"COM1",
                      "serial",
                      "modbus-rtu",
                      false,
                      ChannelStatus::disabled,
                      {{"messages", 45}, {"reconnects", 2}}};
  EXPECT_EQ(to_json(c), json::parse(R"({"id":"COM1","type":"serial","protocol":"modbus-rtu",
      "enabled":false,"status":"disabled","stats":{"messages":45,"reconnects":2}})"));
  const ChannelView empty{"NET1", "tcp", "modbus-tcp", true, ChannelStatus::down, {}};
  EXPECT_TRUE(to_json(empty).at("stats").is_object());
  EXPECT_EQ(to_json(empty).at("status"), "down");
}

TEST(ApiJson, EventGolden) {
  const EventView e{3, fixed_time(), "WELL_01", 1, 2, "initial_fail"};
  EXPECT_EQ(to_json(e), json::parse(R"({"seq":3,"time":"2026-11-21T22:40:01.123Z",
      "device":"WELL_01","from":1,"to":2,"reason":"initial_fail"})"));
}

TEST(ApiJson, HealthGolden) {
  const HealthView h{"pollux-b", "backup", "standby", std::nullopt};
  EXPECT_EQ(to_json(h), json::parse(R"({"status":"ok","node":"pollux-b","role":"backup",
      "activity":"standby"})"));
}

TEST(ApiJson, RedundancyGolden) {
  RedundancyView r;
  r.mode = "master";
  r.activity = "active";
  r.peer_connected = true;
  r.peer_authenticated = true;
  r.peer_address = "10.0.0.2:8790";
  r.peer_last_heartbeat = fixed_time();
  r.peer_activity = "standby";
  r.peer_via = "link_alt";
  r.paths = {{"link", false, std::nullopt}, {"link_alt", true, fixed_time()}};
  r.config_version = "sha256:ab12";
  r.state_seq = 991;
  r.events.push_back({1, fixed_time(), "standby", "active", "peer_lost"});
  EXPECT_EQ(to_json(r), json::parse(R"({"mode":"master","activity":"active",
      "peer":{"connected":true,"authenticated":true,"address":"10.0.0.2:8790",
              "last_heartbeat":"2026-11-21T22:40:01.123Z","activity":"standby","via":"link_alt"},
      "paths":[{"name":"link","up":false,"last_heard":null},
               {"name":"link_alt","up":true,"last_heard":"2026-11-21T22:40:01.123Z"}],
      "config_version":"sha256:ab12","state_seq":991,"last_error":"",
      "events":[{"seq":1,"time":"2026-11-21T22:40:01.123Z","from":"standby","to":"active",
                 "reason":"peer_lost"}]})"));
  r.peer_last_heartbeat.reset();
  EXPECT_TRUE(to_json(r).at("peer").at("last_heartbeat").is_null());
}

TEST(ApiJson, ReloadAndError) {
  EXPECT_EQ(error_json("unknown device X"), json::parse(R"({"error":"unknown device X"})"));
  EXPECT_EQ(reload_json({Outcome::success(), "v7", {}}), json::parse(R"({"version":"v7"})"));
  EXPECT_EQ(
      reload_json(
          {Outcome::failure(400, "invalid configuration"), "", {"a.yaml:3:5: error: unknown key"}}),
      json::parse(R"({"error":"invalid configuration",
                            "errors":["a.yaml:3:5: error: unknown key"]})"));
}

TEST(ApiJson, LineRequest) {
  EXPECT_EQ(parse_line_request(R"({"line":2})").line, 2);
  EXPECT_TRUE(parse_line_request(R"({"line":2})").error.empty());
  for (const char* bad :
       {R"({"line":7})", R"({"line":0})", R"({"line":-1})", R"({"line":2.0})", R"({"line":"2"})",
        R"({"line":null})", R"({})", R"([2])", "{", "", R"({"line":18446744073709551617})"}) {
    EXPECT_FALSE(parse_line_request(bad).error.empty()) << bad;
  }
}

TEST(ApiJson, WriteRequestValueTypes) {
  auto w = parse_write_request(R"({"point":"SETPOINT","value":12.5})");
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_EQ(w.point, "SETPOINT");
  EXPECT_EQ(std::get<double>(w.value), 12.5);
  EXPECT_EQ(std::get<std::int64_t>(parse_write_request(R"({"point":"P","value":7})").value), 7);
  EXPECT_EQ(std::get<std::int64_t>(parse_write_request(R"({"point":"P","value":-7})").value), -7);
  EXPECT_EQ(std::get<bool>(parse_write_request(R"({"point":"P","value":true})").value), true);
  EXPECT_EQ(std::get<std::string>(parse_write_request(R"({"point":"P","value":"ON"})").value),
            "ON");
  for (const char* bad : {R"({"value":1})", R"({"point":"P"})", R"({"point":1,"value":1})",
                          R"({"point":"","value":1})", R"({"point":"P","value":null})",
                          R"({"point":"P","value":[1]})", R"({"point":"P","value":{}})",
                          R"({"point":"P","value":18446744073709551615})", "nope"}) {
    EXPECT_FALSE(parse_write_request(bad).error.empty()) << bad;
  }
}

}  // namespace
}  // namespace pollux::api
