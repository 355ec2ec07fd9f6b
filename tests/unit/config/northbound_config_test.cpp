// The `northbound:` section (spec/northbound.md "Configuration" and "Settled details"): every
// key and its default, each error at its line:col, the shared/node-local split of config sync,
// what backup_overrides.northbound may change, and the version of a config without the section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/canonical.hpp"
#include "test_util.hpp"

namespace pollux::config::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDevices = R"(channels: [{id: C, type: tcp}]
devices:
  - id: W
    comm: {primary: {channel: C, host: 127.0.0.1, port: 502}}
    polls: [{name: fast, points: [{name: P, address: 0}]}]
)";

const std::string kSection = R"(northbound:
  mqtt:
    url: tcp://127.0.0.1:1883
  sparkplug:
    group_id: Plant1
    edge_node_id: FE1
)";

const std::string kFull = R"(northbound:
  mqtt:
    url: ssl://broker.plant:8883
    client_id: fe-a-mqtt
    username: scada
    password: ${MQTT_PASSWORD}
    tls: {ca_file: /etc/pollux/ca.pem, cert_file: /etc/pollux/c.pem, key_file: /etc/pollux/c.key}
    keepalive_s: 15
  sparkplug:
    group_id: Plant1
    edge_node_id: FE1
    primary_host_id: SCADA1
  store_and_forward:
    max_records: 5000
  state_path: /srv/pollux/nb.state
)";

const std::map<std::string, std::string> kEnv = {{"MQTT_PASSWORD", "s3cret"}};

// `text` with the first `from` replaced by `to`.
std::string with(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Config must_load(const std::string& text, bool as_backup = false) {
  const auto r = load(text, kEnv, as_backup);
  EXPECT_TRUE(r.ok()) << dump(r);
  return r.config.value_or(Config{});
}

TEST(NorthboundConfig, AbsentSectionPublishesNothing) {
  EXPECT_FALSE(must_load("node: {name: a}\n" + kDevices).northbound.has_value());
}

TEST(NorthboundConfig, DefaultsOfTheOptionalKeys) {
  const Config c = must_load("node: {name: fe-a}\n" + kSection);
  ASSERT_TRUE(c.northbound);
  const NorthboundSettings& n = *c.northbound;
  EXPECT_EQ(n.mqtt.url, "tcp://127.0.0.1:1883");
  EXPECT_EQ(n.mqtt.client_id, "");
  EXPECT_EQ(n.resolved_client_id(c.node.name), "pollux-fe-a");
  EXPECT_EQ(n.mqtt.username, "");
  EXPECT_EQ(n.mqtt.password, "");
  EXPECT_EQ(n.mqtt.tls, MqttTls{});
  EXPECT_EQ(n.mqtt.keepalive_s, 30);
  EXPECT_EQ(n.sparkplug.group_id, "Plant1");
  EXPECT_EQ(n.sparkplug.edge_node_id, "FE1");
  EXPECT_EQ(n.sparkplug.primary_host_id, "");
  EXPECT_EQ(n.max_records, 1'000'000u);
  EXPECT_EQ(n.state_path, "/var/lib/pollux/northbound.state");
  // Empty sub-sections mean their defaults too.
  const Config e = must_load("node: {name: fe-a}\n" + kSection + "  store_and_forward:\n");
  EXPECT_EQ(e.northbound->max_records, 1'000'000u);
}

TEST(NorthboundConfig, EveryKeyIsRead) {
  const Config c = must_load("node: {name: fe-a}\n" + kFull);
  ASSERT_TRUE(c.northbound);
  const NorthboundSettings& n = *c.northbound;
  EXPECT_EQ(n.mqtt.url, "ssl://broker.plant:8883");
  EXPECT_EQ(n.mqtt.client_id, "fe-a-mqtt");
  EXPECT_EQ(n.resolved_client_id(c.node.name), "fe-a-mqtt");
  EXPECT_EQ(n.mqtt.username, "scada");
  EXPECT_EQ(n.mqtt.password, "s3cret");
  EXPECT_EQ(n.mqtt.tls.ca_file, "/etc/pollux/ca.pem");
  EXPECT_EQ(n.mqtt.tls.cert_file, "/etc/pollux/c.pem");
  EXPECT_EQ(n.mqtt.tls.key_file, "/etc/pollux/c.key");
  EXPECT_EQ(n.mqtt.keepalive_s, 15);
  EXPECT_EQ(n.sparkplug.group_id, "Plant1");
  EXPECT_EQ(n.sparkplug.edge_node_id, "FE1");
  EXPECT_EQ(n.sparkplug.primary_host_id, "SCADA1");
  EXPECT_EQ(n.max_records, 5000u);
  EXPECT_EQ(n.state_path, "/srv/pollux/nb.state");
}

TEST(NorthboundConfig, PasswordFromTheEnvironment) {
  const std::string text = "node: {name: a}\n" + kFull;
  // Unset: an error at the value, never an empty password.
  const auto r = load(text, {});
  expect_one(r, pos(text, "${MQTT_PASSWORD}"), "environment variable 'MQTT_PASSWORD' is not set");
  // Every string of the section expands alike.
  const std::string t2 =
      with("node: {name: a}\n" + kSection, "group_id: Plant1", "group_id: ${GROUP}");
  const auto r2 = load(t2, {{"GROUP", "North"}});
  ASSERT_TRUE(r2.ok()) << dump(r2);
  EXPECT_EQ(r2.config->northbound->sparkplug.group_id, "North");
}

TEST(NorthboundConfig, AcceptedBrokerUrls) {
  for (const char* url : {"tcp://127.0.0.1:1883", "ssl://broker.plant:8883", "tcp://[::1]:1883",
                          "tcp://localhost:1", "ssl://10.0.0.1:65535"}) {
    const auto r = load(with("node: {name: a}\n" + kSection, "tcp://127.0.0.1:1883", url));
    EXPECT_TRUE(r.ok()) << url << "\n" << dump(r);
  }
  // ssl:// without a CA file verifies the broker against the system's CAs.
  const Config c = must_load(with("node: {name: a}\n" + kSection, "tcp://", "ssl://"));
  EXPECT_EQ(c.northbound->mqtt.tls, MqttTls{});
  // A client certificate without a CA file is fine too.
  must_load(with("node: {name: a}\n" + kSection, "url: tcp://127.0.0.1:1883",
                 "url: ssl://b:8883\n    tls: {cert_file: c.pem, key_file: c.key}"));
}

// One problem per case, at the exact key or value the message is about.
struct ErrorCase {
  const char* name;
  std::string from;  // replaced in the valid base text...
  std::string to;    // ...by this
  std::string at;    // where the error must be (pos() needle: '^' marks the column)
  std::string message;
};

TEST(NorthboundConfig, EveryErrorIsLocated) {
  const std::string base = "node: {name: a}\n" + kSection;
  const std::string url = "url: tcp://127.0.0.1:1883";
  const std::vector<ErrorCase> cases = {
      {"unknown key", "  sparkplug:", "  colour: red\n  sparkplug:", "colour",
       "unknown key 'colour' in 'northbound'"},
      {"unknown mqtt key", url, url + "\n    qos: 1", "qos", "unknown key 'qos' in 'mqtt'"},
      {"unknown sparkplug key", "    edge_node_id: FE1", "    edge_node_id: FE1\n    host: H",
       "host:", "unknown key 'host' in 'sparkplug'"},
      {"unknown tls key", "url: tcp://", "tls: {ca: x}\n    url: ssl://",
       "ca:", "unknown key 'ca' in 'tls'"},
      {"unknown store_and_forward key",
       "  sparkplug:", "  store_and_forward: {max_values: 5}\n  sparkplug:", "max_values",
       "unknown key 'max_values' in 'store_and_forward'"},
      {"section not a mapping", kSection, "northbound: [1]\n", "[1]",
       "expected a mapping for 'northbound'"},
      {"mqtt not a mapping", "  mqtt:\n    " + url, "  mqtt: broker", "broker",
       "expected a mapping for 'mqtt'"},
      {"other scheme", "tcp://127", "mqtt://127", "mqtt://", "must be tcp://HOST:PORT"},
      {"no port", "127.0.0.1:1883", "127.0.0.1", "tcp://", "must be tcp://HOST:PORT"},
      {"port 0", ":1883", ":0", "tcp://", "with a port between 1 and 65535"},
      {"port too big", ":1883", ":65536", "tcp://", "with a port between 1 and 65535"},
      {"path after the port", ":1883", ":1883/mqtt", "tcp://", "must be tcp://HOST:PORT"},
      {"no host", "127.0.0.1:1883", ":1883", "tcp://", "must be tcp://HOST:PORT"},
      {"empty url", url, "url: ''", "''", "'url' must not be empty"},
      {"credentials in the url", "tcp://127", "tcp://u:hunter2@127", "tcp://",
       "must not hold credentials"},
      {"missing url", url, "keepalive_s: 30", "mqtt:", "'mqtt' needs a 'url'"},
      {"missing mqtt", "  mqtt:\n    " + url + "\n", "",
       "northbound:", "'northbound' needs an 'mqtt' section"},
      {"missing sparkplug", "  sparkplug:\n    group_id: Plant1\n    edge_node_id: FE1\n", "",
       "northbound:", "'northbound' needs a 'sparkplug' section"},
      {"missing group_id", "    group_id: Plant1\n", "",
       "sparkplug:", "'sparkplug' needs a 'group_id'"},
      {"missing edge_node_id", "    edge_node_id: FE1\n", "",
       "sparkplug:", "'sparkplug' needs an 'edge_node_id'"},
      {"empty group_id", "group_id: Plant1", "group_id: ''", "''", "'group_id' must not be empty"},
      {"slash in group_id", "Plant1", "Plant/1", "Plant/1",
       "'group_id' must not contain '/', '+' or '#'"},
      {"wildcard in edge_node_id", "FE1", "FE+", "FE+",
       "'edge_node_id' must not contain '/', '+' or '#'"},
      {"wildcard in primary_host_id", "    edge_node_id: FE1",
       "    edge_node_id: FE1\n    primary_host_id: 'S#1'", "'S#1'",
       "'primary_host_id' must not contain '/', '+' or '#'"},
      {"empty primary_host_id", "    edge_node_id: FE1",
       "    edge_node_id: FE1\n    primary_host_id: ''", "''",
       "'primary_host_id' must not be empty"},
      {"tls with tcp://", url, url + "\n    tls: {ca_file: ca.pem}",
       "tls:", "'tls' needs an ssl:// 'url'"},
      {"cert without key", url, "url: ssl://b:8883\n    tls: {ca_file: ca.pem, cert_file: c.pem}",
       "cert_file", "'cert_file' needs a 'key_file'"},
      {"key without cert", url, "url: ssl://b:8883\n    tls: {key_file: c.key}", "key_file",
       "'key_file' needs a 'cert_file'"},
      {"empty ca_file", url, "url: ssl://b:8883\n    tls: {ca_file: ''}", "''",
       "'ca_file' must not be empty"},
      {"keepalive 0", url, url + "\n    keepalive_s: 0", "keepalive_s: ^0",
       "'keepalive_s' must be between 1 and 3600"},
      {"keepalive too long", url, url + "\n    keepalive_s: 3601", "keepalive_s: ^3601",
       "'keepalive_s' must be between 1 and 3600"},
      {"keepalive not a number", url, url + "\n    keepalive_s: soon", "soon",
       "expected an integer for 'keepalive_s'"},
      {"max_records 0", "  sparkplug:", "  store_and_forward: {max_records: 0}\n  sparkplug:",
       "max_records: ^0", "'max_records' must be greater than 0"},
      {"max_records negative",
       "  sparkplug:", "  store_and_forward: {max_records: -5}\n  sparkplug:", "-5",
       "'max_records' must be greater than 0"},
      {"password without username", url, url + "\n    password: pw", "password",
       "'password' needs a 'username'"},
      {"empty client_id", url, url + "\n    client_id: ''", "''", "'client_id' must not be empty"},
      {"empty state_path", "  sparkplug:", "  state_path: ''\n  sparkplug:", "''",
       "'state_path' must not be empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string text = with(base, c.from, c.to);
    expect_one(load(text), pos(text, c.at), c.message);
  }
}

// A device id is the last level of its Sparkplug topics (spBv1.0/G/DDATA/E/DEVICE).
TEST(NorthboundConfig, DeviceIdsMustBeTopicLevels) {
  const std::string devices = with(kDevices, "id: W", "id: 'W/1'");
  expect_ok(load("node: {name: a}\n" + devices));  // without the section any id will do
  const std::string text = "node: {name: a}\n" + kSection + devices;
  expect_one(load(text), pos(text, "'W/1'"), "cannot be a Sparkplug device id");
  const std::string t2 = "node: {name: a}\n" + kSection + with(kDevices, "id: W", "id: W#");
  expect_one(load(t2), pos(t2, "W#"), "must not contain '/', '+' or '#'");
}

TEST(NorthboundConfig, CredentialsInTheUrlAreNotEchoed) {
  const std::string text = with("node: {name: a}\n" + kSection, "tcp://127", "tcp://u:hunter2@127");
  const auto r = load(text);
  expect_one(r, pos(text, "tcp://"), "must not hold credentials");
  EXPECT_THAT(dump(r), Not(HasSubstr("hunter2")));
}

TEST(NorthboundConfig, EmptySectionNamesWhatIsMissing) {
  const std::string text = "node: {name: a}\nnorthbound:\n";
  const auto r = load(text);
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.line, 2);
    EXPECT_EQ(e.col, 1);
  }
  EXPECT_THAT(dump(r), HasSubstr("needs an 'mqtt' section"));
  EXPECT_THAT(dump(r), HasSubstr("needs a 'sparkplug' section"));
  // `sparkplug:` with nothing under it: both ids are missing, each said at the key.
  const std::string t2 =
      with("node: {name: a}\n" + kSection,
           "  sparkplug:\n    group_id: Plant1\n    edge_node_id: FE1\n", "  sparkplug:\n");
  const auto r2 = load(t2);
  ASSERT_EQ(r2.errors.size(), 2u) << dump(r2);
  EXPECT_EQ(r2.errors[0].line, pos(t2, "sparkplug:").line);
  EXPECT_EQ(r2.errors[1].line, pos(t2, "sparkplug:").line);
}

TEST(NorthboundConfig, SharedKeysAreSyncedAndNodeLocalKeysStay) {
  const Config master = must_load("node: {name: fe-a}\n" + kFull + kDevices);
  const std::string text = canonical_text(master);
  EXPECT_THAT(text, HasSubstr("\"url\":\"ssl://broker.plant:8883\""));
  EXPECT_THAT(text, HasSubstr("\"group_id\":\"Plant1\""));
  EXPECT_THAT(text, HasSubstr("\"max_records\":5000"));
  EXPECT_THAT(text, Not(HasSubstr("fe-a-mqtt")));
  EXPECT_THAT(text, Not(HasSubstr("client_id")));
  EXPECT_THAT(text, Not(HasSubstr("nb.state")));
  EXPECT_THAT(text, Not(HasSubstr("state_path")));

  // The backup keeps its own client id and state file...
  const Config local =
      must_load("node: {name: fe-b}\n" +
                with(with(kSection, "    url:", "    client_id: fe-b-mqtt\n    url:"),
                     "  sparkplug:", "  state_path: /b/nb.state\n  sparkplug:"));
  const auto r = load_synced(text, local);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_TRUE(r.config->northbound);
  EXPECT_EQ(r.config->northbound->mqtt.client_id, "fe-b-mqtt");
  EXPECT_EQ(r.config->northbound->state_path, "/b/nb.state");
  // ...and takes everything else from the master.
  NorthboundSettings expected = *master.northbound;
  expected.mqtt.client_id = "fe-b-mqtt";
  expected.state_path = "/b/nb.state";
  EXPECT_EQ(*r.config->northbound, expected);
  EXPECT_EQ(r.version, config_version(master));

  // A backup whose own file has no northbound section takes the defaults for its local keys,
  // so its client id is its own node name's.
  const auto r2 = load_synced(text, must_load("node: {name: fe-b}\n"));
  ASSERT_TRUE(r2.ok()) << dump(r2);
  EXPECT_EQ(r2.config->northbound->mqtt.client_id, "");
  EXPECT_EQ(r2.config->northbound->resolved_client_id(r2.config->node.name), "pollux-fe-b");
  EXPECT_EQ(r2.config->northbound->state_path, "/var/lib/pollux/northbound.state");
}

TEST(NorthboundConfig, NodeLocalKeysAreRefusedInTheSyncedText) {
  // A synced text that carries a node-local key is not what a master sends; it is refused at
  // the key rather than silently giving the backup the master's client id.
  const Config local = must_load("node: {name: fe-b}\n");
  const std::string text = with(canonical_text(must_load("node: {name: fe-a}\n" + kSection)),
                                "\"keepalive_s\"", "\"client_id\":\"x\",\"keepalive_s\"");
  const auto r = load_synced(text, local);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_THAT(r.errors[0].message, HasSubstr("unknown key 'client_id' in 'mqtt'"));
}

TEST(NorthboundConfig, WithoutTheSectionTheVersionIsUnchanged) {
  const std::string plain = "node: {name: a}\n" + kDevices;
  const Config without = must_load(plain);
  EXPECT_THAT(canonical_text(without), Not(HasSubstr("northbound")));
  // The pinned version of ConfigCanonical.VersionIsTheSha256OfTheCanonicalText (a config
  // without the section) is the other half of this rule.
  const Config with_nb = must_load(plain + kSection);
  EXPECT_NE(config_version(with_nb), config_version(without));
  // The section is appended as the last key; everything before it is the text without it.
  const std::string before = canonical_text(without);
  EXPECT_TRUE(canonical_text(with_nb).starts_with(before.substr(0, before.size() - 1) +
                                                  ",\"northbound\":{"));
}

TEST(NorthboundConfig, VersionFollowsSharedKeysOnly) {
  const std::string base = "node: {name: a}\n" + kDevices + kFull;
  const std::string v = config_version(must_load(base));
  // Node-local: another client id or state file is the same shared config.
  EXPECT_EQ(config_version(must_load(with(base, "fe-a-mqtt", "other"))), v);
  EXPECT_EQ(config_version(must_load(with(base, "/srv/pollux/nb.state", "/x"))), v);
  // Shared: each changes the version.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"broker.plant", "broker2.plant"},
           {"username: scada", "username: other"},
           {"${MQTT_PASSWORD}", "pw2"},
           {"/etc/pollux/ca.pem", "/etc/pollux/ca2.pem"},
           {"keepalive_s: 15", "keepalive_s: 16"},
           {"group_id: Plant1", "group_id: Plant2"},
           {"edge_node_id: FE1", "edge_node_id: FE2"},
           {"SCADA1", "SCADA2"},
           {"max_records: 5000", "max_records: 5001"}}) {
    EXPECT_NE(config_version(must_load(with(base, from, to))), v) << from << " -> " << to;
  }
}

TEST(NorthboundConfig, LoadSyncedRoundTrips) {
  for (const std::string& section : {kSection, kFull}) {
    const Config c = must_load("node: {name: fe-a}\n" + kDevices + section);
    const auto r = load_synced(canonical_text(c), c);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(*r.config, c);
  }
}

TEST(NorthboundConfig, BackupOverridesChangeOnlyMqtt) {
  const std::string text = "node: {name: fe-a}\n" + kFull +
                           "backup_overrides:\n  northbound:\n    mqtt: {url: "
                           "'ssl://broker-b.plant:8883', username: scada-b}\n";
  const Config master = must_load(text);
  ASSERT_TRUE(master.northbound);
  EXPECT_EQ(master.northbound->mqtt.url, "ssl://broker.plant:8883");
  const Config backup = must_load(text, true);
  ASSERT_TRUE(backup.northbound);
  EXPECT_EQ(backup.northbound->mqtt.url, "ssl://broker-b.plant:8883");
  EXPECT_EQ(backup.northbound->mqtt.username, "scada-b");
  EXPECT_EQ(backup.northbound->mqtt.password, "s3cret");
  EXPECT_EQ(backup.northbound->mqtt.tls, master.northbound->mqtt.tls);
  EXPECT_EQ(backup.northbound->sparkplug, master.northbound->sparkplug);

  // Through config sync: the backup applies the override on the master's text.
  LoadOptions as_backup;
  as_backup.as_backup = true;
  const auto synced =
      load_synced(canonical_text(master), must_load("node: {name: fe-b}\n"), as_backup);
  ASSERT_TRUE(synced.ok()) << dump(synced);
  ASSERT_TRUE(synced.config->northbound);
  EXPECT_EQ(synced.config->northbound->mqtt.url, "ssl://broker-b.plant:8883");
  EXPECT_EQ(synced.version, config_version(master));

  // A backup on a plain-TCP broker drops the master's tls with `tls:` (null).
  const std::string plain_b = "node: {name: fe-a}\n" + kFull +
                              "backup_overrides:\n  northbound:\n    mqtt: {url: "
                              "'tcp://10.0.0.9:1883', tls: null}\n";
  const Config b2 = must_load(plain_b, true);
  ASSERT_TRUE(b2.northbound);
  EXPECT_EQ(b2.northbound->mqtt.tls, MqttTls{});
}

TEST(NorthboundConfig, BackupOverrideErrorsAreLocated) {
  const std::string head = "node: {name: fe-a}\n" + kSection + "backup_overrides:\n  northbound:\n";
  {
    const std::string t = head + "    sparkplug: {edge_node_id: FE2}\n";
    expect_one(load(t), pos(t, "sparkplug: {"),
               "unknown key 'sparkplug' in 'backup_overrides.northbound'");
  }
  {
    const std::string t = head + "    state_path: /x\n";
    expect_one(load(t), pos(t, "state_path: /x"),
               "unknown key 'state_path' in 'backup_overrides.northbound'");
  }
  {
    const std::string t = head + "    mqtt: {client_id: b}\n";
    expect_one(load(t), pos(t, "client_id"), "'client_id' is node-local");
  }
  {
    // Checked on the master too: what the backup would run must be valid.
    const std::string t = head + "    mqtt: {url: 'http://b:80'}\n";
    expect_one(load(t), pos(t, "'http"), "must be tcp://HOST:PORT");
    expect_one(load(t, {}, true), pos(t, "'http"), "must be tcp://HOST:PORT");
  }
  {
    const std::string t = head + "    mqtt: {brokr: x}\n";
    expect_one(load(t), pos(t, "brokr"), "unknown key 'brokr'");
  }
  {
    const std::string t = "node: {name: a}\nbackup_overrides:\n  northbound:\n    mqtt: {}\n";
    expect_one(load(t), pos(t, "northbound"),
               "backup_overrides.northbound needs a 'northbound' section");
  }
}

}  // namespace
}  // namespace pollux::config::test
