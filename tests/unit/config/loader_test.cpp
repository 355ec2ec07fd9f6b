// Loader behaviour beyond single rules: several errors in one run, ${ENV}, defaults, channel to
// path inheritance, backup_overrides.
#include "test_util.hpp"

namespace pollux::config::test {
namespace {

using ::testing::HasSubstr;

const std::string kPair = R"(node: {name: fe-b}
channels:
  - id: COM1
    type: serial
    port: /dev/ttyS0
    message_timeout_ms: 800
    poll_attempts: 2
  - id: NET1
    type: tcp
    init: "AT"
  - {id: MODEM1, type: modem, port: /dev/ttyUSB0, init: "ATZ&F"}
devices:
  - id: WELL_01
    unit: 17
    comm:
      primary: {channel: COM1}
      first_failover: {channel: NET1, host: 127.0.0.1, port: 1502, message_timeout_ms: 2500}
      second_failover: {channel: MODEM1, phone: "5551234", init: "ATZ&D0"}
backup_overrides:
  channels:
    COM1: {port: /dev/ttyS1, baud: 19200}
  devices:
    WELL_01: {comm: {first_failover: {host: 127.0.0.2}}, unit: 18}
)";

TEST(ConfigLoader, SeveralErrorsReportedTogetherInFileOrder) {
  const std::string t = R"(node: {name: a}
redundancy: {heartbeat_interval_ms: 5000}
channels:
  - {id: C, type: serial, port: p, baud: 0, pariti: none}
devices:
  - id: D
    comm: {primary: {channel: X}}
bogus: 1
)";
  const auto r = load(t);
  ASSERT_EQ(r.errors.size(), 5u) << dump(r);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors[0].to_string(),
            "t.yaml:2:14: error: 'heartbeat_interval_ms' (5000) must be less than "
            "'failover_timeout_ms' (3000)");
  EXPECT_EQ(r.errors[1].to_string(), "t.yaml:4:42: error: 'baud' must be greater than 0 (got '0')");
  EXPECT_EQ(r.errors[2].to_string(),
            "t.yaml:4:45: error: unknown key 'pariti' in channel; did you mean 'parity'?");
  EXPECT_EQ(r.errors[3].to_string(), "t.yaml:7:31: error: unknown channel 'X'");
  EXPECT_EQ(r.errors[4].to_string(), "t.yaml:8:1: error: unknown key 'bogus' in the top level");
}

TEST(ConfigLoader, EnvExpandedInStrings) {
  const std::string t =
      "node: {name: \"${SITE}-a\"}\nchannels:\n  - id: C\n    type: serial\n    port: ${TTY}\n"
      "    baud: ${BAUD}\n";
  const auto r = load(t, {{"SITE", "north"}, {"TTY", "/dev/ttyS4"}, {"BAUD", "19200"}});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->node.name, "north-a");
  EXPECT_EQ(r.config->channels[0].port, "/dev/ttyS4");
  EXPECT_EQ(r.config->channels[0].baud, 19200);
}

// spec/security.md's example writes `{ name: x, token: ${T}, role: operator }`: a reference
// unquoted inside a flow mapping or list, where YAML itself would end the scalar at '{'.
TEST(ConfigLoader, EnvExpandedUnquotedInFlowCollections) {
  const std::string t =
      "node: {name: ${SITE}-a}\nchannels: [{id: C, type: serial, port: ${TTY}, baud: ${BAUD}}]\n";
  const auto r = load(t, {{"SITE", "north"}, {"TTY", "/dev/ttyS4"}, {"BAUD", "19200"}});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->node.name, "north-a");
  EXPECT_EQ(r.config->channels[0].port, "/dev/ttyS4");
  EXPECT_EQ(r.config->channels[0].baud, 19200);
  // Still located at the value, and the text after it keeps its columns.
  const std::string m =
      "node: {name: a}\nchannels: [{id: C, type: serial, port: ${TTY}, baud: x}]\n";
  const auto missing = load(m);
  ASSERT_EQ(missing.errors.size(), 2u) << dump(missing);
  EXPECT_EQ(missing.errors[0].col, pos(m, "${TTY}").col);
  EXPECT_EQ(missing.errors[1].col, pos(m, "baud: ^x").col);
}

TEST(ConfigLoader, MissingEnvIsAnErrorAtTheValue) {
  const std::string t = "node: {name: a}\nchannels:\n  - {id: C, type: serial, port: \"${TTY}\"}\n";
  expect_one(load(t), pos(t, "\"${TTY}"), "environment variable 'TTY' is not set");
}

TEST(ConfigLoader, EnvEscapeAndMalformedReferences) {
  const auto r = load("node: {name: \"cost $${NOT_A_VAR} $5\"}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->node.name, "cost ${NOT_A_VAR} $5");
  const std::string u = "node: {name: \"${OPEN\"}\n";
  expect_one(load(u), pos(u, "\"${OPEN"), "unterminated '${'");
  const std::string b = "node: {name: \"${1X}\"}\n";
  expect_one(load(b), pos(b, "\"${1X"), "invalid environment variable name '1X'");
}

TEST(ConfigLoader, Defaults) {
  const auto r = load(R"(node: {name: a}
channels:
  - {id: C, type: serial, port: p}
  - {id: N, type: tcp}
devices:
  - id: D
    comm:
      primary: {channel: C}
      first_failover: {channel: N, host: h, port: 502}
    polls:
      - name: g
        points:
          - {name: P, address: 4}
          - {name: B, table: coil, address: 1}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.api.listen, "127.0.0.1:8780");
  EXPECT_EQ(c.redundancy, RedundancySettings{});
  const Channel& ch = c.channels[0];
  EXPECT_EQ(ch.protocol, Protocol::modbus_rtu);
  EXPECT_EQ(c.channels[1].protocol, Protocol::modbus_tcp);
  EXPECT_TRUE(ch.enabled);
  EXPECT_EQ(ch.baud, 9600);
  EXPECT_EQ(ch.parity, Parity::none);
  EXPECT_EQ(ch.data_bits, 8);
  EXPECT_EQ(ch.stop_bits, 1);
  EXPECT_EQ(ch.init, "ATZ");
  EXPECT_EQ(ch.dial_timeout_s, 60);
  EXPECT_EQ(ch.idle_hangup_s, 5);
  EXPECT_EQ(ch.connect_timeout_ms, 3000);
  EXPECT_EQ(ch.max_connections, 64);
  EXPECT_EQ(ch.timing, (MessageTiming{1000, 0, 3, 1}));
  const Device& d = c.devices[0];
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.unit, 1);
  EXPECT_TRUE(d.comm.auto_failover);
  EXPECT_EQ(d.comm.sequence, Sequence::try_in_order);
  EXPECT_FALSE(d.comm.failback_on_failure);
  EXPECT_FALSE(d.comm.retry_in_progress_control);
  EXPECT_EQ(d.comm.active, 1);
  ASSERT_TRUE(d.comm.lines[1].has_value());
  EXPECT_FALSE(d.comm.lines[2].has_value());
  const Path& p = *d.comm.lines[1];
  EXPECT_TRUE(p.available);
  EXPECT_EQ(p.initial_fail_s, 60);
  EXPECT_FALSE(p.subsequent_fail_s.has_value());
  EXPECT_FALSE(p.retry_primary_s.has_value());
  EXPECT_EQ(d.polls[0].interval_ms, 1000);
  const Point& pt = d.polls[0].points[0];
  EXPECT_EQ(pt.table, Table::holding);
  EXPECT_EQ(pt.type, PointType::uint16);
  EXPECT_EQ(pt.word_order, Order::big);
  EXPECT_EQ(pt.byte_order, Order::big);
  EXPECT_EQ(pt.scale, 1.0);
  EXPECT_EQ(pt.offset, 0.0);
  EXPECT_EQ(d.polls[0].points[1].type, PointType::boolean);  // bit tables default to bool
  EXPECT_EQ(d.max_gap_registers, 16);
  EXPECT_EQ(d.max_gap_bits, 64);
  EXPECT_EQ(d.refused_retry_s, 60);
}

TEST(ConfigLoader, PathsInheritChannelDefaultsAndOverrideThem) {
  const auto r = load(kPair, {});
  ASSERT_TRUE(r.ok()) << dump(r);
  const Device& d = r.config->devices[0];
  const Path& primary = *d.comm.lines[0];
  EXPECT_EQ(primary.timing, (MessageTiming{800, 0, 2, 1}));  // inherited from COM1
  EXPECT_EQ(primary.init, "ATZ");                            // COM1's default init
  const Path& first = *d.comm.lines[1];
  EXPECT_EQ(first.timing, (MessageTiming{2500, 0, 3, 1}));  // override + NET1 defaults
  EXPECT_EQ(first.host, "127.0.0.1");
  EXPECT_EQ(first.port, 1502);
  EXPECT_EQ(first.init, "AT");
  const Path& second = *d.comm.lines[2];
  EXPECT_EQ(second.init, "ATZ&D0");  // path init wins over the channel's "ATZ&F"
  EXPECT_EQ(second.phone, "5551234");
}

TEST(ConfigLoader, BackupOverridesIgnoredOnMasterAndKeptCanonical) {
  const auto r = load(kPair);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->channels[0].port, "/dev/ttyS0");
  EXPECT_EQ(r.config->devices[0].comm.lines[1]->host, "127.0.0.1");
  EXPECT_EQ(r.config->backup_overrides_canonical,
            R"({"channels":{"COM1":{"baud":19200,"port":"/dev/ttyS1"}},)"
            R"("devices":{"WELL_01":{"comm":{"first_failover":{"host":"127.0.0.2"}},"unit":18}}})");
}

TEST(ConfigLoader, BackupOverridesDeepMergedAsBackup) {
  const auto r = load(kPair, {}, true);
  ASSERT_TRUE(r.ok()) << dump(r);
  const Channel& com1 = r.config->channels[0];
  EXPECT_EQ(com1.port, "/dev/ttyS1");
  EXPECT_EQ(com1.baud, 19200);
  EXPECT_EQ(com1.timing.message_timeout_ms, 800);  // untouched keys stay
  const Device& d = r.config->devices[0];
  EXPECT_EQ(d.unit, 18);
  const Path& first = *d.comm.lines[1];
  EXPECT_EQ(first.host, "127.0.0.2");
  EXPECT_EQ(first.port, 1502);                       // merged, not replaced
  EXPECT_EQ(first.timing.message_timeout_ms, 2500);  // likewise
  EXPECT_EQ(d.comm.lines[2]->phone, "5551234");
}

TEST(ConfigLoader, BackupOverrideSequencesReplace) {
  const std::string t = R"(node: {name: a}
channels: [{id: C, type: serial, port: p}]
devices:
  - id: D
    comm: {primary: {channel: C}}
    polls: [{name: g, points: [{name: A, address: 0}, {name: B, address: 1}]}]
backup_overrides:
  devices:
    D: {polls: [{name: g, points: [{name: Z, address: 9}]}]}
)";
  const auto r = load(t, {}, true);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->devices[0].polls[0].points.size(), 1u);
  EXPECT_EQ(r.config->devices[0].polls[0].points[0].name, "Z");
}

TEST(ConfigLoader, BackupOverrideUnknownIdIsAnError) {
  const std::string t = kPair + "    WELL_02: {unit: 3}\n";
  expect_one(load(t), pos(t, "WELL_02"),
             "backup_overrides names unknown device 'WELL_02'; did you mean 'WELL_01'?");
  expect_one(load(t, {}, true), pos(t, "WELL_02"), "unknown device 'WELL_02'");
}

TEST(ConfigLoader, BackupOverrideErrorsLocatedInTheOverrideText) {
  const std::string t = kPair + "    WELL_01: {comm: {second_failover: {subsequent_fail_s: 5}}}\n";
  // A second override for the same device is a duplicate key, reported where it is written.
  const auto r = load(t);
  expect_one(r, pos(t, "WELL_01", 3), "duplicate key 'WELL_01'");

  const std::string bad = R"(node: {name: a}
channels: [{id: C, type: serial, port: p}]
devices:
  - id: D
    comm: {primary: {channel: C}}
backup_overrides:
  channels:
    C: {baud: -3, id: X}
  devices:
    D: {comm: {primary: {channel: C, retry_primary_s: 3}}}
)";
  for (bool as_backup : {false, true}) {
    const auto b = load(bad, {}, as_backup);
    ASSERT_EQ(b.errors.size(), 3u) << dump(b);
  }
  const auto m = load(bad);
  EXPECT_EQ(m.errors[0].line, 8);
  EXPECT_EQ(m.errors[0].col, pos(bad, "-3").col);
  EXPECT_THAT(m.errors[0].message, HasSubstr("'baud' must be greater than 0"));
  EXPECT_EQ(m.errors[1].col, pos(bad, "id: X").col);
  EXPECT_THAT(m.errors[1].message, HasSubstr("cannot change the channel's 'id'"));
  EXPECT_EQ(m.errors[2].line, 10);
  EXPECT_EQ(m.errors[2].col, pos(bad, "retry_primary_s").col);
}

TEST(ConfigLoader, ExtensionKeysRead) {
  const auto r = load(R"(node: {name: a}
channels:
  - {id: C, type: serial, port: p, write_attempts: 2, demote_after_failed_polls: 5, demote_for_ms: 60000}
devices:
  - id: D
    max_gap_registers: 0
    max_gap_bits: 8
    refused_retry_s: 300
    comm: {primary: {channel: C, write_attempts: 3}}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->channels[0].timing.write_attempts, 2);
  EXPECT_EQ(r.config->channels[0].demote_after_failed_polls, 5);
  EXPECT_EQ(r.config->channels[0].demote_for_ms, 60000);
  EXPECT_EQ(r.config->devices[0].max_gap_registers, 0);
  EXPECT_EQ(r.config->devices[0].max_gap_bits, 8);
  EXPECT_EQ(r.config->devices[0].refused_retry_s, 300);
  EXPECT_EQ(r.config->devices[0].comm.lines[0]->timing.write_attempts, 3);
}

TEST(ConfigLoader, FullSpecExampleValues) {
  const auto r = load(R"(node: {name: fe-a}
redundancy:
  mode: master
  psk: ${POLLUX_PSK}
  heartbeat_interval_ms: 500
  failover_timeout_ms: 3000
  recovery: manual
  standby: warm
  history: full
channels:
  - {id: COM1, type: serial, protocol: modbus-ascii, port: /dev/ttyS0, baud: 19200, parity: even, data_bits: 7, stop_bits: 2}
devices:
  - id: WELL_01
    unit: 17
    comm:
      auto: false
      sequence: jump_to_last_good
      failback_on_failure: true
      primary: {channel: COM1, initial_fail_s: 30, subsequent_fail_s: 10}
    polls:
      - name: fast
        interval_ms: 250
        points:
          - { name: PRESSURE, table: holding, address: 0, type: float32, word_order: little, byte_order: little }
          - { name: FLOW, table: input, address: 10, type: uint16, scale: 0.1, offset: -4 }
          - { name: TAG, table: holding, address: 30, type: string, length: 4 }
    writable: [PRESSURE]
)",
                      {{"POLLUX_PSK", "s3cret"}});
  ASSERT_TRUE(r.ok()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.redundancy.mode, RedundancyMode::master);
  EXPECT_EQ(c.redundancy.psk, "s3cret");
  EXPECT_EQ(c.redundancy.recovery, Recovery::manual);
  EXPECT_EQ(c.redundancy.standby, Standby::warm);
  EXPECT_EQ(c.redundancy.history, HistoryLevel::full);
  EXPECT_EQ(c.channels[0].protocol, Protocol::modbus_ascii);
  EXPECT_EQ(c.channels[0].parity, Parity::even);
  EXPECT_EQ(c.channels[0].data_bits, 7);
  EXPECT_EQ(c.channels[0].stop_bits, 2);
  const Device& d = c.devices[0];
  EXPECT_FALSE(d.comm.auto_failover);
  EXPECT_EQ(d.comm.sequence, Sequence::jump_to_last_good);
  EXPECT_TRUE(d.comm.failback_on_failure);
  EXPECT_EQ(d.comm.lines[0]->initial_fail_s, 30);
  EXPECT_EQ(d.polls[0].interval_ms, 250);
  const auto& pts = d.polls[0].points;
  EXPECT_EQ(pts[0].type, PointType::float32);
  EXPECT_EQ(pts[0].word_order, Order::little);
  EXPECT_EQ(pts[0].byte_order, Order::little);
  EXPECT_EQ(pts[1].table, Table::input);
  EXPECT_DOUBLE_EQ(pts[1].scale, 0.1);
  EXPECT_DOUBLE_EQ(pts[1].offset, -4);
  EXPECT_EQ(pts[2].length, 4);
  EXPECT_EQ(d.writable, std::vector<std::string>{"PRESSURE"});
}

}  // namespace
}  // namespace pollux::config::test
