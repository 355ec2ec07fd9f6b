// One test per validation rule of spec/config.md: each asserts that exactly that problem is
// reported, at the exact line and column of the key or value the spec says it points at.
#include <cstdio>
#include <fstream>

#include "test_util.hpp"

namespace pollux::config::test {
namespace {

const std::string kHead = R"(node: {name: fe-a}
channels:
  - {id: COM1, type: serial, port: /dev/ttyS0}
  - {id: NET1, type: tcp}
  - {id: MODEM1, type: modem, port: /dev/ttyUSB0}
)";

// A valid device on COM1 whose primary path gets `path_extra` and whose body gets `extra`.
std::string device(std::string_view path_extra = "", std::string_view extra = "") {
  return kHead + "devices:\n  - id: W1\n    unit: 17\n    comm:\n      primary: {channel: COM1" +
         std::string(path_extra) + "}\n" + std::string(extra);
}

std::string channel(std::string_view extra) {
  return "node: {name: fe-a}\nchannels:\n  - {id: COM1, type: serial, port: /dev/ttyS0" +
         std::string(extra) + "}\n";
}

TEST(ConfigRules, BaseTextsAreValid) {
  expect_ok(load(device()));
  expect_ok(load(channel("")));
}

TEST(ConfigRules, MissingFileIsCannotReadAtOneOne) {
  const auto r = load_file("/nonexistent-dir/pollux.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent-dir/pollux.yaml:1:1: error: cannot read: No such file or directory");
}

TEST(ConfigRules, FileNameAsGivenInDiagnostics) {
  const std::string path = ::testing::TempDir() + "pollux-config-test.yaml";
  {
    std::ofstream out(path);
    out << "node: {name: a}\nchannels: [{id: C, type: serial, port: p, baud: 0}]\n";
  }
  const auto r = load_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].to_string(),
            path + ":2:49: error: 'baud' must be greater than 0 (got '0')");
}

TEST(ConfigRules, DirectoryIsCannotRead) {
  const auto r = load_file("/");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "/:1:1: error: cannot read: Is a directory");
}

TEST(ConfigRules, SyntaxErrorPointsWhereTheParserStopped) {
  const auto r = load("node: {name: fe-a}\nchannels: [\n  {id: A}\nx: 1\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[0].col, 1);
  EXPECT_THAT(r.errors[0].message, ::testing::StartsWith("syntax error: "));
}

TEST(ConfigRules, TopLevelMustBeAMapping) {
  expect_one(load("- a\n- b\n"), {1, 1}, "expected a mapping for the top level");
}

TEST(ConfigRules, NodeNameRequired) {
  const std::string t = "node: {}\n";
  expect_one(load(t), pos(t, "node"), "'node' needs a 'name'");
  expect_one(load("channels: []\n"), {1, 1}, "missing 'node'");
  const std::string e = "node: {name: \"\"}\n";
  expect_one(load(e), pos(e, "\"\"}"), "'name' must not be empty");
}

TEST(ConfigRules, ChannelAndDeviceNeedAnId) {
  const std::string c = "node: {name: fe-a}\nchannels:\n  - {type: tcp}\n";
  expect_one(load(c), pos(c, "{type"), "channel needs an 'id'");
  const std::string d = kHead + "devices:\n  - {unit: 1}\n";
  expect_one(load(d), pos(d, "{unit"), "device needs an 'id'");
}

TEST(ConfigRules, UnknownKeySuggestsTheNearestKnownOne) {
  const std::string t = channel(", baudd: 9600");
  expect_one(load(t), pos(t, "baudd"), "unknown key 'baudd' in channel; did you mean 'baud'?");
}

TEST(ConfigRules, UnknownKeyFarFromAnyHasNoSuggestion) {
  const std::string t = "node: {name: a}\nfrobnicate: 1\n";
  const auto r = load(t);
  expect_one(r, pos(t, "frobnicate"), "unknown key 'frobnicate' in the top level");
  EXPECT_THAT(r.errors[0].message, ::testing::Not(::testing::HasSubstr("did you mean")));
}

TEST(ConfigRules, DuplicateKeyPointsAtTheSecond) {
  const std::string t = channel(", baud: 9600, baud: 4800");
  expect_one(load(t), pos(t, "baud", 2), "duplicate key 'baud' (first at line 3)");
}

TEST(ConfigRules, IntegerExpected) {
  const std::string t = channel(", baud: fast");
  expect_one(load(t), pos(t, "baud: ^fast"), "expected an integer for 'baud' (got 'fast')");
}

TEST(ConfigRules, MillisecondsMustBeIntegers) {
  const std::string t = channel(", message_timeout_ms: 1.5");
  expect_one(load(t), pos(t, "message_timeout_ms: ^1.5"),
             "expected an integer for 'message_timeout_ms'");
}

TEST(ConfigRules, SecondsAcceptDecimals) {
  const auto r = load(device(", initial_fail_s: 1.5, subsequent_fail_s: 0.25"));
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_DOUBLE_EQ(r.config->devices[0].comm.lines[0]->initial_fail_s, 1.5);
  EXPECT_DOUBLE_EQ(*r.config->devices[0].comm.lines[0]->subsequent_fail_s, 0.25);
  const std::string t = device(", initial_fail_s: soon");
  expect_one(load(t), pos(t, "initial_fail_s: ^soon"), "expected a number for 'initial_fail_s'");
}

// failover.md: "initial_fail_s: 0 therefore fails over on every failed message" and
// "retry_primary_s: 0 switches back on the next cycle": zero is a meaningful timer value.
TEST(ConfigRules, FailoverTimersAcceptZeroButNotNegative) {
  const std::string zero =
      kHead +
      "devices:\n  - id: W1\n    unit: 17\n    comm:\n"
      "      primary: {channel: COM1, initial_fail_s: 0, subsequent_fail_s: 0}\n"
      "      first_failover: {channel: NET1, host: 127.0.0.1, port: 502, retry_primary_s: 0}\n";
  const auto r = load(zero);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->devices[0].comm.lines[0]->initial_fail_s, 0);
  EXPECT_EQ(*r.config->devices[0].comm.lines[0]->subsequent_fail_s, 0);
  EXPECT_EQ(*r.config->devices[0].comm.lines[1]->retry_primary_s, 0);
  const std::string neg = device(", initial_fail_s: -1");
  expect_one(load(neg), pos(neg, "initial_fail_s: ^-1"), "must be at least 0");
}

TEST(ConfigRules, ValueMissingPointsAtTheKey) {
  const std::string t =
      "node: {name: a}\nchannels:\n  - id: C\n    type: serial\n    port: p\n    baud:\n";
  expect_one(load(t), pos(t, "baud"), "expected an integer for 'baud' (got nothing)");
}

TEST(ConfigRules, EnumListsAllowedValues) {
  const std::string t = channel(", parity: Even");
  expect_one(load(t), pos(t, "parity: ^Even"),
             "'parity' must be one of none, even, odd (got 'Even'); did you mean 'even'?");
}

TEST(ConfigRules, BoolExpected) {
  const std::string t = channel(", enabled: maybe");
  expect_one(load(t), pos(t, "enabled: ^maybe"), "expected true or false for 'enabled'");
}

TEST(ConfigRules, BaudPositive) {
  const std::string t = channel(", baud: 0");
  expect_one(load(t), pos(t, "baud: ^0"), "'baud' must be greater than 0 (got '0')");
}

TEST(ConfigRules, DataBitsSevenOrEight) {
  const std::string t = channel(", data_bits: 9");
  expect_one(load(t), pos(t, "data_bits: ^9"), "'data_bits' must be 7 or 8");
}

TEST(ConfigRules, StopBitsOneOrTwo) {
  const std::string t = channel(", stop_bits: 3");
  expect_one(load(t), pos(t, "stop_bits: ^3"), "'stop_bits' must be 1 or 2");
}

TEST(ConfigRules, ChannelTimingRanges) {
  const std::string t = channel(", message_timeout_ms: 0");
  expect_one(load(t), pos(t, "message_timeout_ms: ^0"), "must be greater than 0");
  const std::string a = channel(", poll_attempts: 0");
  expect_one(load(a), pos(a, "poll_attempts: ^0"), "'poll_attempts' must be greater than 0");
  const std::string d = channel(", message_delay_ms: -1");
  expect_one(load(d), pos(d, "message_delay_ms: ^-1"), "must be at least 0");
  const std::string c = channel(", connect_timeout_ms: 0");
  expect_one(load(c), pos(c, "connect_timeout_ms: ^0"), "must be greater than 0");
}

TEST(ConfigRules, ExtensionKeysRanges) {
  const std::string w = channel(", write_attempts: 0");
  expect_one(load(w), pos(w, "write_attempts: ^0"), "'write_attempts' must be greater than 0");
  const std::string d = channel(", demote_after_failed_polls: -1");
  expect_one(load(d), pos(d, "demote_after_failed_polls: ^-1"), "must be at least 0");
  const std::string f = channel(", demote_for_ms: 0");
  expect_one(load(f), pos(f, "demote_for_ms: ^0"), "must be greater than 0");
  const std::string g = device("", "    max_gap_registers: -2\n");
  expect_one(load(g), pos(g, "max_gap_registers: ^-2"), "must be at least 0");
  const std::string rr = device("", "    refused_retry_s: -1\n");
  expect_one(load(rr), pos(rr, "refused_retry_s: ^-1"), "must be at least 0");
  const std::string p = device(", write_attempts: 0");
  expect_one(load(p), pos(p, "write_attempts: ^0"), "must be greater than 0");
}

TEST(ConfigRules, ChannelTypeRequired) {
  const std::string t = "node: {name: a}\nchannels:\n  - {id: C, port: p}\n";
  expect_one(load(t), pos(t, "{id: C"), "channel 'C' needs a 'type'");
}

TEST(ConfigRules, SerialChannelNeedsPort) {
  const std::string t = "node: {name: a}\nchannels:\n  - {id: C, type: serial}\n";
  expect_one(load(t), pos(t, "{id: C"), "serial channel 'C' needs a 'port'");
}

TEST(ConfigRules, ProtocolMustFitChannelType) {
  const std::string t =
      "node: {name: a}\nchannels:\n  - {id: N, type: tcp, protocol: modbus-rtu}\n";
  expect_one(load(t), pos(t, "protocol: ^modbus-rtu"),
             "protocol modbus-rtu does not fit a tcp channel (use modbus-tcp or "
             "modbus-rtu-over-tcp)");
  const std::string s = channel(", protocol: modbus-tcp");
  expect_one(load(s), pos(s, "protocol: ^modbus-tcp"), "does not fit a serial channel");
  expect_ok(load(channel(", protocol: modbus-ascii")));
  expect_ok(
      load("node: {name: a}\nchannels:\n  - {id: N, type: tcp, protocol: "
           "modbus-rtu-over-tcp}\n"));
}

TEST(ConfigRules, DuplicateChannelIdPointsAtTheSecond) {
  const std::string t = kHead + "  - {id: COM1, type: serial, port: /dev/ttyS3}\n";
  expect_one(load(t), pos(t, "COM1", 2), "duplicate channel id 'COM1' (first at line 3)");
}

TEST(ConfigRules, DuplicateDeviceIdPointsAtTheSecond) {
  const std::string t = device() + "  - id: W1\n    comm: {primary: {channel: COM1}}\n";
  expect_one(load(t), pos(t, "W1", 2), "duplicate device id 'W1' (first at line 7)");
}

TEST(ConfigRules, ChannelReferenceMustExist) {
  const std::string t = kHead + "devices:\n  - id: W1\n    comm: {primary: {channel: COM2}}\n";
  expect_one(load(t), pos(t, "channel: ^COM2"), "unknown channel 'COM2'; did you mean 'COM1'?");
}

TEST(ConfigRules, DeviceNeedsCommAndPrimary) {
  const std::string t = kHead + "devices:\n  - id: W1\n";
  expect_one(load(t), pos(t, "id: W1"), "device 'W1' needs 'comm'");
  const std::string p = kHead + "devices:\n  - id: W1\n    comm: {auto: false}\n";
  expect_one(load(p), pos(p, "comm"), "'comm' needs a 'primary' line");
  const std::string c = kHead + "devices:\n  - id: W1\n    comm: {primary: {initial_fail_s: 2}}\n";
  expect_one(load(c), pos(c, "primary"), "'primary' needs a 'channel'");
}

TEST(ConfigRules, TcpPathNeedsHostAndPort) {
  const std::string base =
      kHead + "devices:\n  - id: W1\n    comm:\n      primary: {channel: COM1}\n";
  const std::string h = base + "      first_failover: {channel: NET1, port: 502}\n";
  expect_one(load(h), pos(h, "first_failover"),
             "'first_failover' uses tcp channel 'NET1' and needs a 'host'");
  const std::string p = base + "      first_failover: {channel: NET1, host: 10.0.0.5}\n";
  expect_one(load(p), pos(p, "first_failover"), "needs a 'port'");
  expect_ok(load(base + "      first_failover: {channel: NET1, host: 10.0.0.5, port: 502}\n"));
}

TEST(ConfigRules, PathPortRange) {
  const std::string t = kHead +
                        "devices:\n  - id: W1\n    comm:\n      primary: {channel: NET1, host: h, "
                        "port: 70000}\n";
  expect_one(load(t), pos(t, "port: ^70000"), "'port' must be between 1 and 65535");
}

TEST(ConfigRules, ModemPathNeedsPhone) {
  const std::string t = kHead +
                        "devices:\n  - id: W1\n    comm:\n      primary: {channel: COM1}\n" +
                        "      second_failover: {channel: MODEM1}\n";
  expect_one(load(t), pos(t, "second_failover"),
             "'second_failover' uses modem channel 'MODEM1' and needs a 'phone'");
}

TEST(ConfigRules, UnitRangeOnSerialLine) {
  const std::string zero =
      kHead + "devices:\n  - id: W1\n    unit: 0\n    comm: {primary: {channel: COM1}}\n";
  expect_one(load(zero), pos(zero, "unit: ^0"),
             "unit 0 is not valid on serial line 'primary' (channel 'COM1'): use 1..247");
  const std::string high =
      kHead + "devices:\n  - id: W1\n    unit: 248\n    comm: {primary: {channel: COM1}}\n";
  expect_one(load(high), pos(high, "unit: ^248"), "use 1..247");
  const std::string modem =
      kHead +
      "devices:\n  - id: W1\n    unit: 0\n    comm: {primary: {channel: MODEM1, phone: '1'}}\n";
  expect_one(load(modem), pos(modem, "unit: ^0"), "not valid on modem line");
}

TEST(ConfigRules, UnitRangeOnTcp) {
  expect_ok(load(kHead + "devices:\n  - id: W1\n    unit: 0\n    comm: {primary: {channel: NET1, "
                         "host: h, port: 502}}\n"));
  expect_ok(load(kHead + "devices:\n  - id: W1\n    unit: 255\n    comm: {primary: {channel: NET1, "
                         "host: h, port: 502}}\n"));
  const std::string t = kHead +
                        "devices:\n  - id: W1\n    unit: 256\n    comm: {primary: {channel: NET1, "
                        "host: h, port: 502}}\n";
  expect_one(load(t), pos(t, "unit: ^256"), "'unit' must be between 0 and 255");
}

TEST(ConfigRules, PathUnitOverrideCheckedAgainstItsLine) {
  const std::string t = device(", unit: 0");
  expect_one(load(t), pos(t, "unit: ^0"), "unit 0 is not valid on serial line 'primary'");
  // The device's unit 0 is fine on its TCP line, and the serial line overrides it.
  const auto r =
      load(kHead +
           "devices:\n  - id: W1\n    unit: 0\n    comm:\n      primary: {channel: COM1, unit: "
           "5}\n      first_failover: {channel: NET1, host: h, port: 502}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->devices[0].comm.lines[0]->unit, 5);
  EXPECT_EQ(r.config->devices[0].comm.lines[1]->unit, std::nullopt);
}

TEST(ConfigRules, SubsequentFailNotOnSecondFailover) {
  const std::string t =
      device("", "      second_failover: {channel: MODEM1, phone: '555', subsequent_fail_s: 10}\n");
  expect_one(load(t), pos(t, "subsequent_fail_s"),
             "'subsequent_fail_s' is not allowed on second_failover");
}

TEST(ConfigRules, RetryPrimaryAndAvailableNotOnPrimary) {
  const std::string t = device(", retry_primary_s: 300");
  expect_one(load(t), pos(t, "retry_primary_s"),
             "'retry_primary_s' only applies to first_failover and second_failover");
  const std::string a = device(", available: false");
  expect_one(load(a), pos(a, "available"), "'available' only applies");
}

TEST(ConfigRules, ActiveMustNameAConfiguredLine) {
  const std::string t =
      kHead + "devices:\n  - id: W1\n    comm: {active: 3, primary: {channel: COM1}}\n";
  expect_one(load(t), pos(t, "active: ^3"),
             "'active' is 3 but line 3 (second_failover) is not configured");
  const std::string r =
      kHead + "devices:\n  - id: W1\n    comm: {active: 4, primary: {channel: COM1}}\n";
  expect_one(load(r), pos(r, "active: ^4"), "'active' must be between 1 and 3");
}

TEST(ConfigRules, IntervalPositive) {
  const std::string t =
      device("", "    polls:\n      - {name: fast, interval_ms: 0, points: []}\n");
  expect_one(load(t), pos(t, "interval_ms: ^0"), "'interval_ms' must be greater than 0");
}

TEST(ConfigRules, PollGroupNamesUniqueInDevice) {
  const std::string t = device(
      "", "    polls:\n      - {name: fast, points: []}\n      - {name: fast, points: []}\n");
  expect_one(load(t), pos(t, "fast", 2),
             "duplicate poll group name 'fast' in device 'W1' (first at line 12)");
}

TEST(ConfigRules, PointNamesUniqueInDevice) {
  const std::string t = device("",
                               "    polls:\n      - name: a\n        points: [{name: P, address: "
                               "0}]\n      - name: b\n        points: [{name: P, address: 1}]\n");
  expect_one(load(t), pos(t, "name: ^P", 2),
             "duplicate point name 'P' in device 'W1' (first at line 13)");
  // The same name in another device is fine.
  expect_ok(load(device("", "    polls: [{name: a, points: [{name: P, address: 0}]}]\n") +
                 "  - id: W2\n    comm: {primary: {channel: COM1}}\n    polls: [{name: a, points: "
                 "[{name: P, address: 0}]}]\n"));
}

TEST(ConfigRules, PointAddressRange) {
  const std::string t = device("", "    polls: [{name: a, points: [{name: P, address: 65536}]}]\n");
  expect_one(load(t), pos(t, "address: ^65536"), "'address' must be between 0 and 65535");
  const std::string m = device("", "    polls: [{name: a, points: [{name: P}]}]\n");
  expect_one(load(m), pos(m, "{name: P"), "point 'P' needs an 'address'");
}

TEST(ConfigRules, PointRegistersMustFitTheTable) {
  const std::string t =
      device("", "    polls: [{name: a, points: [{name: P, address: 65535, type: uint32}]}]\n");
  expect_one(load(t), pos(t, "address: ^65535"),
             "point 'P' needs 2 registers from address 65535, past the last address 65535");
  expect_ok(load(
      device("", "    polls: [{name: a, points: [{name: P, address: 65534, type: uint32}]}]\n")));
  expect_ok(load(
      device("", "    polls: [{name: a, points: [{name: P, table: coil, address: 65535}]}]\n")));
  const std::string s = device(
      "", "    polls: [{name: a, points: [{name: P, address: 65530, type: string, length: 7}]}]\n");
  expect_one(load(s), pos(s, "address: ^65530"), "needs 7 registers");
}

TEST(ConfigRules, StringPointNeedsLength) {
  const std::string t =
      device("", "    polls: [{name: a, points: [{name: TAG, address: 0, type: string}]}]\n");
  expect_one(load(t), pos(t, "type: ^string"), "string point 'TAG' needs a 'length'");
  const std::string z = device(
      "", "    polls: [{name: a, points: [{name: TAG, address: 0, type: string, length: 0}]}]\n");
  expect_one(load(z), pos(z, "length: ^0"), "'length' must be between 1 and 65536");
  const std::string n =
      device("", "    polls: [{name: a, points: [{name: T, address: 0, length: 2}]}]\n");
  expect_one(load(n), pos(n, "length"), "'length' only applies to string points");
}

TEST(ConfigRules, ScaleNotZero) {
  const std::string t =
      device("", "    polls: [{name: a, points: [{name: P, address: 0, scale: 0}]}]\n");
  expect_one(load(t), pos(t, "scale: ^0"), "'scale' must not be 0");
}

TEST(ConfigRules, BitTablesHoldBools) {
  const std::string t = device(
      "", "    polls: [{name: a, points: [{name: P, table: coil, address: 0, type: uint16}]}]\n");
  expect_one(load(t), pos(t, "type: ^uint16"), "coil points must have type bool");
}

TEST(ConfigRules, PointEnums) {
  const std::string t =
      device("", "    polls: [{name: a, points: [{name: P, table: holdings, address: 0}]}]\n");
  expect_one(
      load(t), pos(t, "table: ^holdings"),
      "must be one of coil, discrete, input, holding (got 'holdings'); did you mean 'holding'?");
  const std::string w = device(
      "",
      "    polls: [{name: a, points: [{name: P, address: 0, type: int32, word_order: middle}]}]\n");
  expect_one(load(w), pos(w, "word_order: ^middle"), "'word_order' must be one of big, little");
}

TEST(ConfigRules, WritableNamesPointsOfTheDevice) {
  const std::string t = device("",
                               "    polls: [{name: a, points: [{name: PUMP_RUN, table: coil, "
                               "address: 0}]}]\n    writable: [PUMP_RUM]\n");
  expect_one(
      load(t), pos(t, "PUMP_RUM"),
      "'writable' names 'PUMP_RUM', which is not a point of device 'W1'; did you mean 'PUMP_RUN'?");
  const std::string ro = device("",
                                "    polls: [{name: a, points: [{name: DOOR, table: discrete, "
                                "address: 3}]}]\n    writable: [DOOR]\n");
  expect_one(load(ro), pos(ro, "[^DOOR]"), "point 'DOOR' is in the read-only discrete table");
}

TEST(ConfigRules, HeartbeatLessThanFailoverTimeout) {
  const std::string t =
      "node: {name: a}\nredundancy:\n  failover_timeout_ms: 500\n  heartbeat_interval_ms: 500\n";
  expect_one(load(t), pos(t, "heartbeat_interval_ms"),
             "'heartbeat_interval_ms' (500) must be less than 'failover_timeout_ms' (500)");
  const std::string only = "node: {name: a}\nredundancy:\n  failover_timeout_ms: 400\n";
  expect_one(load(only), pos(only, "failover_timeout_ms"), "must be less than");
}

TEST(ConfigRules, SecondPeerLinkIsAnotherAddress) {
  const std::string same =
      "node: {name: a}\nredundancy:\n  listen: 0.0.0.0:8750\n  listen_alt: 0.0.0.0:8750\n";
  expect_one(load(same), pos(same, "listen_alt: ^0.0.0.0"),
             "'listen_alt' must differ from 'listen' ('0.0.0.0:8750')");
  const std::string bad = "node: {name: a}\nredundancy:\n  master_alt: nowhere\n";
  expect_one(load(bad), pos(bad, "master_alt: ^nowhere"), "'master_alt' must be HOST:PORT");
  const std::string good =
      "node: {name: a}\nredundancy:\n  master: 10.0.0.1:8750\n  master_alt: 10.1.0.1:8750\n";
  const auto r = load(good);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->redundancy.master_alt, "10.1.0.1:8750");
}

TEST(ConfigRules, PskRequiredForMasterAndBackup) {
  const std::string empty = "node: {name: a}\nredundancy:\n  mode: master\n  psk: \"\"\n";
  expect_one(load(empty), pos(empty, "psk: ^\"\""), "'psk' must not be empty when mode is master");
  const std::string absent =
      "node: {name: a}\nredundancy:\n  listen: 0.0.0.0:8750\n  mode: backup\n";
  expect_one(load(absent), pos(absent, "mode"), "mode backup needs a non-empty 'psk'");
  expect_ok(load("node: {name: a}\nredundancy: {mode: independent}\n"));
  // An empty variable is an empty key, never "no security".
  const std::string env = "node: {name: a}\nredundancy:\n  mode: master\n  psk: ${K}\n";
  expect_one(load(env, {{"K", ""}}), pos(env, "psk: ^${K}"), "'psk' must not be empty");
}

TEST(ConfigRules, AddressesAreHostPort) {
  const std::string t = "node: {name: a}\napi: {listen: localhost}\n";
  expect_one(load(t), pos(t, "listen: ^localhost"), "'listen' must be HOST:PORT");
  const std::string p = "node: {name: a}\nredundancy: {master: 'h:0'}\n";
  expect_one(load(p), pos(p, "'h:0'"), "'master' must be HOST:PORT");
  expect_ok(load("node: {name: a}\napi: {listen: '[::1]:8780'}\n"));
}

TEST(ConfigRules, SequencesExpected) {
  const std::string t = "node: {name: a}\nchannels: {id: C}\n";
  expect_one(load(t), pos(t, "{id: C"), "expected a list for 'channels' (got a mapping)");
}

TEST(ConfigRules, MoreThanOneDocument) {
  const std::string t = "node: {name: a}\n---\nnode: {name: b}\n";
  expect_one(load(t), pos(t, "---"), "expected one YAML document, found more");
}

TEST(ConfigRules, AliasBombIsRefusedNotExpanded) {
  std::string t = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    t += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" +
         char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" +
         char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
  const auto r = load(t);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_THAT(r.errors[0].message, ::testing::HasSubstr("document too large"));
}

TEST(ConfigRules, InvalidUtf8IsRefused) {
  const std::string t = "node: {name: \"a\xff\"}\n";
  const auto r = load(t);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_THAT(r.errors[0].message, ::testing::HasSubstr("not valid UTF-8"));
}

// yaml-cpp's LoadAll never returns on this input; the loader must still answer.
TEST(ConfigRules, StrayFlowEntryIsAnErrorNotAHang) {
  const auto r = load(",\n");
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.errors.empty());
}

TEST(ConfigRules, EmptySectionsMeanDefaults) {
  const auto r = load("node: {name: a}\napi:\nredundancy:\nchannels:\ndevices:\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->api.listen, "127.0.0.1:8780");
  EXPECT_TRUE(r.config->channels.empty());
}

// Points of one device that share an address of one table: a warning at the later point, the
// file stays valid (fidelity issue item 5).
TEST(ConfigRules, OverlappingPointsWarnAtTheLaterOne) {
  const std::string text = device("", R"(    polls:
      - name: a
        interval_ms: 1000
        points:
          - {name: WIDE, table: holding, address: 10, type: float32}
          - {name: LOW, table: input, address: 11, type: uint16}
          - {name: COIL, table: coil, address: 11}
      - name: b
        interval_ms: 1000
        points:
          - {name: INSIDE, table: holding, address: 11, type: uint16}
          - {name: NEXT, table: holding, address: 12, type: uint16}
          - {name: BIT, table: coil, address: 11}
)");
  const auto r = load(text);
  expect_ok(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  const Pos inside = pos(text, "address: ^11, type: uint16}", 2);
  EXPECT_EQ(r.warnings[0].to_string(),
            "t.yaml:" + std::to_string(inside.line) + ":" + std::to_string(inside.col) +
                ": warning: point 'INSIDE' overlaps point 'WIDE' (line " +
                std::to_string(pos(text, "WIDE").line) +
                ") of device 'W1': both cover holding address 11");
  const Pos bit = pos(text, "address: ^11}", 2);
  EXPECT_EQ(r.warnings[1].line, bit.line);
  EXPECT_EQ(r.warnings[1].col, bit.col);
  EXPECT_THAT(r.warnings[1].message, ::testing::HasSubstr("'BIT' overlaps point 'COIL'"));
}

const std::string kTwoDevices = R"(node: {name: fe-a}
channels:
  - {id: COM1, type: serial, port: /dev/ttyS0}
  - {id: COM1B, type: serial, port: /dev/ttyS0}
  - {id: COM2, type: serial, port: /dev/ttyS1}
  - {id: NET1, type: tcp}
  - {id: NET2, type: tcp, protocol: modbus-rtu-over-tcp}
devices:
)";

std::string two_devices(std::string_view a, std::string_view b) {
  return kTwoDevices + "  - id: A\n" + std::string(a) + "  - id: B\n" + std::string(b);
}

// Two enabled devices with one unit on one serial port or TCP host:port: an error at the later
// device's unit; other ports, hosts, units, disabled devices and modems are fine.
TEST(ConfigRules, SameUnitOnOnePortIsRefused) {
  const std::string serial = two_devices("    unit: 17\n    comm: {primary: {channel: COM1}}\n",
                                         "    unit: 17\n    comm: {primary: {channel: COM1B}}\n");
  expect_one(load(serial), pos(serial, "17", 2),
             "device 'B' uses unit 17 on serial port /dev/ttyS0 ('primary', channel 'COM1B'), as "
             "device 'A' (line 9) does");
  // The clash through a path's own unit on a failover line points at that unit.
  const std::string tcp =
      two_devices("    unit: 1\n    comm: {primary: {channel: NET1, host: 10.0.0.5, port: 502}}\n",
                  "    unit: 2\n    comm:\n      primary: {channel: COM2}\n"
                  "      first_failover: {channel: NET2, host: 10.0.0.5, port: 502, unit: 1}\n");
  expect_one(load(tcp), pos(tcp, "unit: ^1}"), "uses unit 1 on 10.0.0.5:502 ('first_failover'");
  // Unit from the device's default (1), no `unit` key anywhere: at the path key.
  const std::string dflt = two_devices("    comm: {primary: {channel: COM2}}\n",
                                       "    comm:\n      primary: {channel: COM2}\n");
  expect_one(load(dflt), pos(dflt, "primary: {channel: COM2}\n"), "uses unit 1");
  for (const auto& ok : {
           two_devices("    unit: 17\n    comm: {primary: {channel: COM1}}\n",
                       "    unit: 18\n    comm: {primary: {channel: COM1}}\n"),
           two_devices("    unit: 17\n    comm: {primary: {channel: COM1}}\n",
                       "    unit: 17\n    comm: {primary: {channel: COM2}}\n"),
           two_devices("    unit: 17\n    comm: {primary: {channel: COM1}}\n",
                       "    unit: 17\n    enabled: false\n    comm: {primary: {channel: COM1}}\n"),
           two_devices("    comm: {primary: {channel: NET1, host: 10.0.0.5, port: 502}}\n",
                       "    comm: {primary: {channel: NET1, host: 10.0.0.5, port: 503}}\n"),
           two_devices("    comm: {primary: {channel: NET1, host: 10.0.0.5, port: 502}}\n",
                       "    comm: {primary: {channel: NET1, host: 10.0.0.6, port: 502}}\n"),
           // One device on one endpoint through two of its lines is not a clash.
           two_devices("    comm:\n      primary: {channel: COM1}\n"
                       "      first_failover: {channel: COM1B}\n",
                       "    unit: 2\n    comm: {primary: {channel: COM1}}\n"),
       }) {
    const auto r = load(ok);
    expect_ok(r);
    EXPECT_TRUE(r.warnings.empty()) << ok;
  }
}

}  // namespace
}  // namespace pollux::config::test
