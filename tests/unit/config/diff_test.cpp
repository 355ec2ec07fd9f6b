// changed_devices / changed_channels: what a reload re-creates (config.md, failover rule 8).
#include "config/diff.hpp"

#include "test_util.hpp"

namespace pollux::config::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kOld = R"(node: {name: a}
channels:
  - {id: COM1, type: serial, port: /dev/ttyS0}
  - {id: COM2, type: serial, port: /dev/ttyS1}
  - {id: NET1, type: tcp}
devices:
  - id: A
    comm: {primary: {channel: COM1}}
  - id: B
    comm: {primary: {channel: COM2}, first_failover: {channel: NET1, host: h, port: 502}}
  - id: C
    unit: 2
    comm: {primary: {channel: COM2}}
    polls: [{name: g, points: [{name: P, address: 1}]}]
)";

Config with(const std::string& from, const std::string& to) {
  std::string text = kOld;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  const auto r = load(text);
  EXPECT_TRUE(r.ok()) << dump(r);
  return r.config.value_or(Config{});
}

TEST(ConfigDiff, IdenticalConfigsChangeNothing) {
  const Config a = with("", "");
  EXPECT_THAT(changed_devices(a, a), IsEmpty());
  EXPECT_THAT(changed_channels(a, a), IsEmpty());
  // Node-local settings are not device settings.
  const Config renamed = with("name: a", "name: other");
  EXPECT_THAT(changed_devices(a, renamed), IsEmpty());
}

TEST(ConfigDiff, OwnSettingsChange) {
  const Config a = with("", "");
  const Config b = with("address: 1", "address: 2");
  EXPECT_THAT(changed_devices(a, b), ElementsAre("C"));
  EXPECT_THAT(changed_channels(a, b), IsEmpty());
}

TEST(ConfigDiff, ChannelChangeChangesEveryDeviceUsingIt) {
  const Config a = with("", "");
  const Config b = with("port: /dev/ttyS1", "port: /dev/ttyS1, baud: 19200");
  EXPECT_THAT(changed_channels(a, b), ElementsAre("COM2"));
  EXPECT_THAT(changed_devices(a, b), ElementsAre("B", "C"));
  // A channel used only on a failover line counts too.
  const Config c = with("{id: NET1, type: tcp}", "{id: NET1, type: tcp, max_connections: 8}");
  EXPECT_THAT(changed_devices(a, c), ElementsAre("B"));
}

TEST(ConfigDiff, NewAndRemoved) {
  const Config a = with("", "");
  const Config c = with("  - id: A\n    comm: {primary: {channel: COM1}}\n",
                        "  - id: D\n    comm: {primary: {channel: COM1}}\n");
  EXPECT_THAT(changed_devices(a, c), ElementsAre("D"));
  EXPECT_THAT(removed_devices(a, c), ElementsAre("A"));
  const Config d =
      with("  - {id: NET1, type: tcp}\n", "  - {id: NET1, type: tcp}\n  - {id: NET2, type: tcp}\n");
  EXPECT_THAT(changed_channels(a, d), ElementsAre("NET2"));
  EXPECT_THAT(changed_devices(a, d), IsEmpty());
  EXPECT_THAT(removed_channels(d, a), ElementsAre("NET2"));
}

}  // namespace
}  // namespace pollux::config::test
