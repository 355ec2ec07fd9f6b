// Table-driven scenarios for the Sparkplug B session machine: one case per rule of
// spec/northbound.md (sessions, bdSeq, seq, births, aliases, store and forward, the primary host,
// commands, reload). Each case loads a model into a fresh Session at t0, then runs steps at given
// offsets and compares the Actions, described one line each, with what the rule says.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "northbound/session.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::northbound {
namespace {

constexpr std::uint64_t kWall0 = 1'700'000'000'000;  // wall ms at t0
constexpr std::int32_t kGood = kQualityGood;

// --- describing actions ------------------------------------------------------------------------

std::string describe(const MetricValue& v) {
  struct V {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return std::to_string(u) + "u"; }
    std::string operator()(double d) const {
      std::ostringstream os;
      os << d << "d";
      return os.str();
    }
    std::string operator()(const std::string& s) const { return "'" + s + "'"; }
  };
  return std::visit(V{}, v);
}

// name#alias=value/quality, "h" when historical.
std::string describe(const Metric& m) {
  std::string s = m.name;
  if (m.alias) s += "#" + std::to_string(*m.alias);
  s += "=" + describe(m.value);
  if (m.quality) s += "/" + std::to_string(*m.quality);
  if (m.historical) s += "h";
  return s;
}

std::string describe(const Action& a) {
  if (const auto* c = std::get_if<Connect>(&a)) return "CONNECT bd=" + std::to_string(c->bd_seq);
  if (std::holds_alternative<Disconnect>(a)) return "DISCONNECT";
  const auto& p = std::get<Publish>(a);
  std::string s(to_string(p.type));
  if (!p.device.empty()) s += " " + p.device;
  if (p.payload.seq) s += " seq=" + std::to_string(*p.payload.seq);
  for (const auto& m : p.payload.metrics)
    s += " " + describe(m);
  return s;
}

std::vector<std::string> describe(const Actions& out) {
  std::vector<std::string> v;
  for (const auto& a : out)
    v.push_back(describe(a));
  return v;
}

std::string describe(const WriteRequest& w) {
  return std::to_string(w.device) + "/" + std::to_string(w.point) + "=" + describe(w.value);
}

// --- the model the cases start from ------------------------------------------------------------
// Aliases: P1 #1, P2 #2, Q1 #3, Redundancy/Activity #4 (Node Control/Rebirth is #0).

std::vector<DeviceModel> default_model() {
  return {{"RTU1", {{"P1", DataType::int16, true}, {"P2", DataType::float32, false}}},
          {"RTU2", {{"Q1", DataType::uint16, true}}}};
}

// Points of every kind of write check (DCMD cases). Aliases #1..#6, RTU2's Q1 #7.
std::vector<DeviceModel> write_model() {
  return {{"RTU1",
           {{"P1", DataType::int16, true},
            {"F1", DataType::float32, true},
            {"B1", DataType::boolean, true},
            {"S1", DataType::string, true},
            {"SYDEVCOMLN", DataType::int32, false},
            {"U1", DataType::uint64, true}}},
          {"RTU2", {{"Q1", DataType::uint16, true}}}};
}

const std::vector<std::string> kWriteBirths = {
    "NBIRTH seq=0 bdSeq=0 Node Control/Rebirth#0=false Redundancy/Activity#8='active'",
    "DBIRTH RTU1 seq=1 P1#1=null/0 F1#2=null/0 B1#3=null/0 S1#4=null/0 SYDEVCOMLN#5=null/0 "
    "U1#6=null/0",
    "DBIRTH RTU2 seq=2 Q1#7=null/0"};

std::vector<NodeMetric> default_node() {
  return {{"Redundancy/Activity", DataType::string, std::string("active")}};
}

Session::Options options(std::string host = {}) {
  Session::Options o;
  o.group_id = "Plant1";
  o.edge_node_id = "FE1";
  o.primary_host_id = std::move(host);
  return o;
}

std::string nbirth(int bd, std::string activity = "active") {
  return "NBIRTH seq=0 bdSeq=" + std::to_string(bd) +
         " Node Control/Rebirth#0=false Redundancy/Activity#4='" + activity + "'";
}
const std::string kDbirth1 = "DBIRTH RTU1 seq=1 P1#1=null/0 P2#2=null/0";
const std::string kDbirth2 = "DBIRTH RTU2 seq=2 Q1#3=null/0";

std::vector<std::string> births(int bd) {
  return {nbirth(bd), kDbirth1, kDbirth2};
}

template <class... V>
std::vector<std::string> cat(V&&... parts) {
  std::vector<std::string> v;
  (v.insert(v.end(), parts.begin(), parts.end()), ...);
  return v;
}

PointChange ch(std::uint32_t point, MetricValue v, std::uint64_t time_ms = kWall0,
               std::int32_t quality = kGood) {
  return {point, std::move(v), quality, time_ms};
}
MetricValue I(std::int64_t i) {
  return i;
}

Metric named(std::string name, MetricValue v) {
  Metric m;
  m.name = std::move(name);
  m.value = std::move(v);
  return m;
}
Metric aliased(std::uint64_t alias, MetricValue v) {
  Metric m;
  m.alias = alias;
  m.value = std::move(v);
  return m;
}
Payload cmd(std::vector<Metric> metrics) {
  Payload p;
  p.metrics = std::move(metrics);
  return p;
}

// --- scenario tables ---------------------------------------------------------------------------

enum class Op {
  activate,        // set_active(true)
  deactivate,      // set_active(false)
  connected,       // on_connected
  connect_failed,  // on_connect_failed
  lost,            // on_connection_lost
  tick,            // tick
  changes,         // on_changes(device, changes)
  state,           // a STATE message `text` on the primary host's topic (or `topic`)
  ncmd,            // NCMD carrying `command` (`text` "garbage": undecodable)
  dcmd,            // DCMD to `target` carrying `command`
  model,           // set_model(model, node)
  node_metric,     // set_node_metric(text, value)
  drain,           // drain(n)
  adopt,           // adopt_bd_seq(n)
  options,         // set_options(edit(current))
  restart,         // a new Session from the old one's bd_seq(), with the same model
  begin_backfill,  // begin_backfill()
  backfill,        // backfill(device, changes)
  end_backfill,    // end_backfill()
};

using Check = std::function<void(const Actions&, const Session&)>;

struct Step {
  double at = 0;  // seconds after t0
  Op op = Op::tick;
  std::uint32_t device = 0;
  std::vector<PointChange> changes = {};
  std::string text = {};
  std::string topic = {};
  Payload command = {};
  std::string target = {};
  std::vector<DeviceModel> model = {};
  std::vector<NodeMetric> node = {};
  MetricValue value = {};
  std::size_t n = 0;
  int repeat = 1;  // run the op this many times; `out` is the last run's
  std::function<void(Session::Options&)> edit = {};
  // Expected.
  std::vector<std::string> out = {};  // always checked
  std::string state = {};             // "" don't check
  std::optional<int> bd = {};         // bd_seq(); -1: none
  int seq = -1;
  int held = -1;
  int dropped = -1;
  int refused = -1;
  int malformed = -1;
  std::vector<std::string> writes = {};  // dcmd: always checked
  std::optional<double> wake = {};       // next_wake() in s after t0; -1: none
  std::string error = {};                // a substring of last_error()
  Check check = {};
};

struct Case {
  std::string name;
  std::vector<Step> steps;
  Session::Options options = northbound::options();
  std::optional<std::uint8_t> last_bd = std::nullopt;
  std::vector<DeviceModel> model = default_model();
  std::vector<NodeMetric> node = default_node();
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

const Publish& publish(const Actions& out, std::size_t i) {
  return std::get<Publish>(out.at(i));
}

// A live session from t0: activate, connected (births).
std::vector<Step> live_at_0(int bd = 0) {
  return {{.op = Op::activate, .out = {"CONNECT bd=" + std::to_string(bd)}},
          {.op = Op::connected, .out = births(bd), .state = "live", .bd = bd, .seq = 2}};
}

template <class... S>
std::vector<Step> steps(S&&... parts) {
  std::vector<Step> v;
  (v.insert(v.end(), parts.begin(), parts.end()), ...);
  return v;
}

std::vector<Case> cases() {
  return {
      // --- Activity: only an active session connects ---
      {"StandbyNeverConnectsNorHolds",
       {{.at = 0, .op = Op::changes, .changes = {ch(0, I(1))}, .state = "inactive", .held = 0},
        {.at = 100, .op = Op::tick, .wake = -1},
        {.at = 101, .op = Op::connected, .state = "inactive", .bd = -1},
        {.at = 102, .op = Op::drain, .n = 10}}},
      {"ActivateConnectsWithWillAndSubscriptions",
       {{.op = Op::activate,
         .out = {"CONNECT bd=0"},
         .state = "connecting",
         .bd = -1,
         .check =
             [](const Actions& out, const Session&) {
               const auto& c = std::get<Connect>(out.at(0));
               EXPECT_EQ(c.will.type, MessageType::ndeath);
               EXPECT_EQ(c.will.topic, "spBv1.0/Plant1/NDEATH/FE1");
               EXPECT_EQ(c.will.qos, 1);
               EXPECT_FALSE(c.will.payload.seq);
               ASSERT_EQ(c.will.payload.metrics.size(), 1u);
               EXPECT_EQ(c.will.payload.metrics[0].name, "bdSeq");
               EXPECT_EQ(c.will.payload.metrics[0].type, DataType::int64);
               EXPECT_EQ(c.will.payload.metrics[0].value, I(0));
               EXPECT_EQ(c.subscriptions, (std::vector<std::string>{"spBv1.0/Plant1/NCMD/FE1",
                                                                    "spBv1.0/Plant1/DCMD/FE1/+"}));
             }}}},
      {"SubscriptionsIncludePrimaryHostState",
       {{.op = Op::activate,
         .out = {"CONNECT bd=0"},
         .check =
             [](const Actions& out, const Session&) {
               EXPECT_EQ(
                   std::get<Connect>(out.at(0)).subscriptions,
                   (std::vector<std::string>{"spBv1.0/Plant1/NCMD/FE1", "spBv1.0/Plant1/DCMD/FE1/+",
                                             "spBv1.0/STATE/SCADA1"}));
             }}},
       options("SCADA1")},
      {"ActivateTwiceConnectsOnce",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}}, {.at = 1, .op = Op::activate}}},

      // --- bdSeq ---
      {"BdSeqIsOneMoreThanLastSession",
       {{.op = Op::activate, .out = {"CONNECT bd=42"}, .bd = 41},
        {.op = Op::connected, .out = births(42), .bd = 42}},
       options(),
       41},
      {"BdSeqWraps255To0",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}, .bd = 255},
        {.op = Op::connected, .out = births(0), .bd = 0}},
       options(),
       255},
      {"FailedAttemptRetriesSameBdSeqWithBackoffTo10s",
       {{.at = 0, .op = Op::activate, .out = {"CONNECT bd=5"}},
        {.at = 0, .op = Op::connect_failed, .state = "waiting_to_connect", .bd = 4, .wake = 1},
        {.at = 0.9, .op = Op::tick, .wake = 1},
        {.at = 1, .op = Op::tick, .out = {"CONNECT bd=5"}, .state = "connecting", .wake = -1},
        {.at = 1, .op = Op::connect_failed, .wake = 3},
        {.at = 3, .op = Op::tick, .out = {"CONNECT bd=5"}},
        {.at = 3, .op = Op::connect_failed, .wake = 7},
        {.at = 7, .op = Op::tick, .out = {"CONNECT bd=5"}},
        {.at = 7, .op = Op::connect_failed, .wake = 15},
        {.at = 15, .op = Op::tick, .out = {"CONNECT bd=5"}},
        {.at = 15, .op = Op::connect_failed, .wake = 25, .error = "connect failed: refused"},
        {.at = 25, .op = Op::tick, .out = {"CONNECT bd=5"}},
        {.at = 25, .op = Op::connect_failed, .bd = 4, .wake = 35},
        {.at = 35, .op = Op::tick, .out = {"CONNECT bd=5"}},
        {.at = 35, .op = Op::connected, .out = births(5), .bd = 5}},
       options(),
       4},
      {"LostConnectionReconnectsAfter1sWithNextBdSeq",
       steps(std::vector<Step>{{.op = Op::activate, .out = {"CONNECT bd=0"}},
                               {.op = Op::connect_failed, .wake = 1},
                               {.at = 1, .op = Op::tick, .out = {"CONNECT bd=0"}},
                               {.at = 1, .op = Op::connect_failed, .wake = 3},
                               {.at = 3, .op = Op::tick, .out = {"CONNECT bd=0"}},
                               {.at = 3, .op = Op::connected, .out = births(0), .bd = 0},
                               {.at = 10,
                                .op = Op::lost,
                                .state = "waiting_to_connect",
                                .bd = 0,
                                .wake = 11,
                                .error = "connection lost: refused"},
                               {.at = 11, .op = Op::tick, .out = {"CONNECT bd=1"}},
                               {.at = 11, .op = Op::connected, .out = births(1), .bd = 1}})},
      {"LostWhileConnectingIsAFailedAttempt",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::lost, .bd = -1, .wake = 1},
        {.at = 1, .op = Op::tick, .out = {"CONNECT bd=0"}}}},
      {"RestartContinuesBdSeq",
       steps(live_at_0(), std::vector<Step>{{.at = 5, .op = Op::restart, .bd = 0},
                                            {.at = 5, .op = Op::activate, .out = {"CONNECT bd=1"}},
                                            {.at = 5, .op = Op::connected, .out = births(1)}})},
      {"AdoptBdSeqFromPeerWhileStandbyOnly",
       {{.op = Op::adopt, .n = 7, .bd = 7},
        {.op = Op::activate, .out = {"CONNECT bd=8"}},
        {.op = Op::adopt, .n = 100, .bd = 7},
        {.op = Op::connected, .out = births(8), .bd = 8},
        {.op = Op::adopt, .n = 100, .bd = 8}}},
      {"HandoverDeactivateEndsSessionAndPeerContinues",
       steps(live_at_0(3),
             std::vector<Step>{{.at = 1,
                                .op = Op::deactivate,
                                .out = {"NDEATH bdSeq=3", "DISCONNECT"},
                                .state = "inactive",
                                .bd = 3,
                                .check =
                                    [](const Actions& out, const Session&) {
                                      EXPECT_EQ(publish(out, 0).qos, 1);
                                      EXPECT_EQ(publish(out, 0).topic, "spBv1.0/Plant1/NDEATH/FE1");
                                    }},
                               // The peer's session after ours: 4; this node continues from it.
                               {.at = 2, .op = Op::adopt, .n = 4},
                               {.at = 3, .op = Op::activate, .out = {"CONNECT bd=5"}}}),
       options(), 2},
      {"DeactivateWhileConnectingAbandonsAttemptKeepsBdSeq",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::deactivate, .out = {"DISCONNECT"}, .state = "inactive", .bd = -1},
        {.op = Op::connected, .state = "inactive"},
        {.op = Op::activate, .out = {"CONNECT bd=0"}}}},
      {"DeactivateWhileWaitingStopsRetrying",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::connect_failed, .wake = 1},
        {.op = Op::deactivate, .wake = -1},
        {.at = 2, .op = Op::tick}}},
      {"DeactivateDropsHeldChanges",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(1)), ch(1, 2.5)}, .held = 2},
        {.op = Op::deactivate, .out = {"DISCONNECT"}, .held = 0, .dropped = 0},
        {.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=1/192 P2#2=2.5d/192", kDbirth2},
         .held = 0}}},

      // --- seq ---
      {"SeqRunsFromNbirthAndWrapsPast255",
       steps(live_at_0(), std::vector<Step>{{.at = 1,
                                             .op = Op::changes,
                                             .changes = {ch(0, I(7))},
                                             .repeat = 253,
                                             .out = {"DDATA RTU1 seq=255 #1=7/192"},
                                             .seq = 255},
                                            {.at = 1,
                                             .op = Op::changes,
                                             .device = 1,
                                             .changes = {ch(0, I(8))},
                                             .out = {"DDATA RTU2 seq=0 #3=8/192"},
                                             .seq = 0},
                                            {.at = 1,
                                             .op = Op::node_metric,
                                             .text = "Redundancy/Activity",
                                             .value = std::string("standby"),
                                             .out = {"NDATA seq=1 #4='standby'"}},
                                            {.at = 2,
                                             .op = Op::deactivate,
                                             .out = {"NDEATH bdSeq=0", "DISCONNECT"},
                                             .seq = 1}})},
      {"NewSessionStartsSeqAtZero",
       steps(live_at_0(),
             std::vector<Step>{
                 {.at = 1,
                  .op = Op::changes,
                  .changes = {ch(0, I(7))},
                  .out = {"DDATA RTU1 seq=3 #1=7/192"}},
                 {.at = 1, .op = Op::lost, .wake = 2},
                 {.at = 2, .op = Op::tick, .out = {"CONNECT bd=1"}},
                 {.at = 2,
                  .op = Op::connected,
                  .out = {nbirth(1), "DBIRTH RTU1 seq=1 P1#1=7/192 P2#2=null/0", kDbirth2}}})},

      // --- births ---
      {"BirthsBeforeFirstReadAreNullQuality0WithDatatypesAndUniqueAliases",
       steps(std::vector<Step>{{.op = Op::activate, .out = {"CONNECT bd=0"}}},
             std::vector<Step>{{.at = 2,
                                .op = Op::connected,
                                .out = births(0),
                                .check =
                                    [](const Actions& out, const Session&) {
                                      const auto& nb = publish(out, 0);
                                      EXPECT_EQ(nb.topic, "spBv1.0/Plant1/NBIRTH/FE1");
                                      EXPECT_EQ(nb.payload.metrics[0].type, DataType::int64);
                                      EXPECT_EQ(nb.payload.metrics[1].type, DataType::boolean);
                                      EXPECT_EQ(nb.payload.metrics[2].type, DataType::string);
                                      const auto& db = publish(out, 1);
                                      EXPECT_EQ(db.topic, "spBv1.0/Plant1/DBIRTH/FE1/RTU1");
                                      EXPECT_EQ(db.payload.metrics[0].type, DataType::int16);
                                      EXPECT_EQ(db.payload.metrics[1].type, DataType::float32);
                                      EXPECT_EQ(publish(out, 2).payload.metrics[0].type,
                                                DataType::uint16);
                                      std::set<std::uint64_t> aliases;
                                      std::size_t with_alias = 0;
                                      for (const auto& a : out) {
                                        for (const auto& m : std::get<Publish>(a).payload.metrics) {
                                          if (!m.alias) continue;
                                          ++with_alias;
                                          aliases.insert(*m.alias);
                                          // A point never read: the birth's own time stands in.
                                          EXPECT_EQ(m.timestamp, kWall0 + 2000) << m.name;
                                        }
                                      }
                                      EXPECT_EQ(with_alias, 5u);
                                      EXPECT_EQ(aliases.size(), with_alias)
                                          << "aliases must be unique";
                                    }}})},
      {"BirthsCarryCurrentValuesKeptWhileStandby",
       {{.op = Op::node_metric, .text = "Redundancy/Activity", .value = std::string("standby")},
        {.op = Op::changes,
         .changes = {ch(0, I(-3), kWall0 - 500), ch(1, 1.5, kWall0 - 400, kQualityUncertain)}},
        {.op = Op::changes, .device = 1, .changes = {ch(0, std::uint64_t{9}, kWall0 - 300, 0)}},
        {.at = 1, .op = Op::activate, .out = {"CONNECT bd=0"}, .held = 0},
        {.at = 1,
         .op = Op::connected,
         .out = {nbirth(0, "standby"), "DBIRTH RTU1 seq=1 P1#1=-3/192 P2#2=1.5d/64",
                 "DBIRTH RTU2 seq=2 Q1#3=9u/0"},
         .check =
             [](const Actions& out, const Session&) {
               EXPECT_EQ(publish(out, 1).payload.metrics[0].timestamp, kWall0 - 500);
               EXPECT_EQ(publish(out, 1).payload.metrics[1].timestamp, kWall0 - 400);
               EXPECT_EQ(publish(out, 2).payload.metrics[0].timestamp, kWall0 - 300);
             }}}},
      {"RebirthRepublishesEveryBirthWithSameBdSeq",
       steps(live_at_0(9),
             std::vector<Step>{
                 {.at = 1,
                  .op = Op::changes,
                  .changes = {ch(1, 4.0)},
                  .out = {"DDATA RTU1 seq=3 #2=4d/192"}},
                 {.at = 2,
                  .op = Op::ncmd,
                  .command = cmd({named("Node Control/Rebirth", true)}),
                  .out = {nbirth(9), "DBIRTH RTU1 seq=1 P1#1=null/0 P2#2=4d/192", kDbirth2},
                  .bd = 9,
                  .refused = 0},
                 {.at = 3,
                  .op = Op::ncmd,
                  .command = cmd({aliased(0, true)}),
                  .out = {nbirth(9), "DBIRTH RTU1 seq=1 P1#1=null/0 P2#2=4d/192", kDbirth2}},
                 {.at = 4,
                  .op = Op::ncmd,
                  .command = cmd({named("Node Control/Rebirth", false)}),
                  .refused = 0}}),
       options(), 8},
      {"NcmdOtherThanRebirthIsRefused",
       steps(live_at_0(),
             std::vector<Step>{{.op = Op::ncmd,
                                .command = cmd({named("Node Control/Reboot", true)}),
                                .refused = 1,
                                .error = "unknown node metric Node Control/Reboot"},
                               {.op = Op::ncmd,
                                .command = cmd({named("Node Control/Rebirth", I(1))}),
                                .refused = 2},
                               {.op = Op::ncmd, .text = "garbage", .refused = 2, .malformed = 1}})},
      {"RebirthNotHonouredBeforeLive",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::connected, .state = "awaiting_host"},
        {.op = Op::ncmd, .command = cmd({named("Node Control/Rebirth", true)}), .refused = 1}},
       options("SCADA1")},

      // --- live data ---
      {"LiveChangesAreOneDdataWithAliasValueTimeQuality",
       steps(live_at_0(),
             std::vector<Step>{
                 {.at = 1,
                  .op = Op::changes,
                  .changes = {ch(0, I(5), kWall0 + 900), ch(1, std::monostate{}, kWall0 + 800, 0)},
                  .out = {"DDATA RTU1 seq=3 #1=5/192 #2=null/0"},
                  .held = 0,
                  .check =
                      [](const Actions& out, const Session&) {
                        const auto& p = publish(out, 0);
                        EXPECT_EQ(p.topic, "spBv1.0/Plant1/DDATA/FE1/RTU1");
                        EXPECT_EQ(p.device, "RTU1");
                        EXPECT_EQ(p.source_time_ms, kWall0 + 800);
                        EXPECT_EQ(p.payload.metrics[0].timestamp, kWall0 + 900);
                        EXPECT_EQ(p.payload.metrics[1].timestamp, kWall0 + 800);
                        EXPECT_TRUE(p.payload.metrics[0].name.empty());
                      }},
                 {.at = 2,
                  .op = Op::changes,
                  .device = 1,
                  .changes = {ch(0, std::uint64_t{3})},
                  .out = {"DDATA RTU2 seq=4 #3=3u/192"}},
                 // The device index is checked: nothing for a device outside the model.
                 {.at = 3,
                  .op = Op::changes,
                  .device = 2,
                  .changes = {ch(0, I(1))},
                  .error = "outside the model"}})},

      // --- store and forward ---
      {"HeldWhileConnectingThenBirthsThenHistoricalOldestFirst",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.at = 1, .op = Op::changes, .changes = {ch(0, I(1), kWall0 + 1000)}, .held = 1},
        {.at = 2, .op = Op::changes, .device = 1, .changes = {ch(0, I(2), kWall0 + 2000)}},
        {.at = 3,
         .op = Op::changes,
         .changes = {ch(0, I(3), kWall0 + 3000), ch(1, 4.5, kWall0 + 3000)},
         .held = 4},
        {.at = 4,
         .op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=3/192 P2#2=4.5d/192",
                 "DBIRTH RTU2 seq=2 Q1#3=2/192"},
         .held = 4},
        {.at = 5,
         .op = Op::drain,
         .n = 10,
         .out = {"DDATA RTU1 seq=3 #1=1/192h", "DDATA RTU2 seq=4 #3=2/192h",
                 "DDATA RTU1 seq=5 #1=3/192h #2=4.5d/192h"},
         .held = 0,
         .check =
             [](const Actions& out, const Session&) {
               EXPECT_EQ(publish(out, 0).payload.metrics[0].timestamp, kWall0 + 1000);
               EXPECT_EQ(publish(out, 1).payload.metrics[0].timestamp, kWall0 + 2000);
               // Held through the outage: not a publish latency.
               EXPECT_EQ(publish(out, 0).source_time_ms, 0u);
             }},
        {.at = 6,
         .op = Op::changes,
         .changes = {ch(0, I(6))},
         .out = {"DDATA RTU1 seq=6 #1=6/192"}}}},
      {"ChangesBehindHeldOnesQueueButAreNotHistorical",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(1), kWall0)}},
        {.at = 1,
         .op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=1/192 P2#2=null/0", kDbirth2}},
        {.at = 2, .op = Op::changes, .changes = {ch(1, 2.0, kWall0 + 2000)}, .held = 2},
        {.at = 2,
         .op = Op::changes,
         .device = 1,
         .changes = {ch(0, I(3), kWall0 + 2000)},
         .held = 3},
        {.at = 3,
         .op = Op::drain,
         .n = 10,
         .out = {"DDATA RTU1 seq=3 #1=1/192h #2=2d/192", "DDATA RTU2 seq=4 #3=3/192"},
         .check =
             [](const Actions& out, const Session&) {
               EXPECT_EQ(publish(out, 0).source_time_ms, kWall0 + 2000);
               EXPECT_EQ(publish(out, 1).source_time_ms, kWall0 + 2000);
             }},
        {.at = 4,
         .op = Op::changes,
         .changes = {ch(0, I(4))},
         .out = {"DDATA RTU1 seq=5 #1=4/192"}}}},
      {"DrainBoundsMessagesPerCallAndMetricsPerMessage",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes,
         .changes = {ch(0, I(1)), ch(0, I(2)), ch(0, I(3)), ch(0, I(4)), ch(1, 5.0)},
         .held = 5},
        {.op = Op::drain, .n = 5, .held = 5},  // not live yet: nothing
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=4/192 P2#2=5d/192", kDbirth2}},
        {.op = Op::drain,
         .n = 2,
         .out = {"DDATA RTU1 seq=3 #1=1/192h #1=2/192h", "DDATA RTU1 seq=4 #1=3/192h #1=4/192h"},
         .held = 1},
        {.op = Op::drain, .n = 2, .out = {"DDATA RTU1 seq=5 #2=5d/192h"}, .held = 0}},
       [] {
         auto o = options();
         o.max_metrics_per_message = 2;
         return o;
       }()},
      {"MaxHeldDropsOldestAndCountsValues",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(1)), ch(0, I(2))}, .held = 2, .dropped = 0},
        {.op = Op::changes,
         .changes = {ch(0, I(3)), ch(0, I(4)), ch(0, I(5))},
         .held = 3,
         .dropped = 2},
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=5/192 P2#2=null/0", kDbirth2}},
        {.op = Op::drain, .n = 1, .out = {"DDATA RTU1 seq=3 #1=3/192h #1=4/192h #1=5/192h"}}},
       [] {
         auto o = options();
         o.max_held = 3;
         return o;
       }()},
      // --- store and forward across a restart (changes read back from history) ---
      {"BackfillGoesBeforeHeldChangesAndHoldsLiveOnesUntilItEnds",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(5))}, .held = 1},
        {.op = Op::begin_backfill},
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=5/192 P2#2=null/0", kDbirth2}},
        // Live, but the read-back is not finished: held behind it, and nothing drains.
        {.op = Op::changes, .changes = {ch(0, I(6))}, .held = 2},
        {.op = Op::drain, .n = 5, .held = 2},
        {.op = Op::backfill, .changes = {ch(0, I(1)), ch(0, I(2))}, .held = 4},
        {.op = Op::backfill, .device = 1, .changes = {ch(0, I(3)), ch(7, I(0))}, .held = 5},
        {.op = Op::drain, .n = 5, .held = 5},
        {.op = Op::end_backfill, .held = 5},
        {.op = Op::drain,
         .n = 5,
         .out = {"DDATA RTU1 seq=3 #1=1/192h #1=2/192h", "DDATA RTU2 seq=4 #3=3/192h",
                 "DDATA RTU1 seq=5 #1=5/192h #1=6/192"},
         .held = 0},
        {.op = Op::changes, .changes = {ch(0, I(7))}, .out = {"DDATA RTU1 seq=6 #1=7/192"}}}},
      {"BackfillKeepsMaxHeldDroppingTheOldest",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(5))}, .held = 1},
        {.op = Op::begin_backfill},
        {.op = Op::backfill, .changes = {ch(0, I(1)), ch(0, I(2))}, .held = 3, .dropped = 0},
        {.op = Op::backfill, .changes = {ch(0, I(3))}, .held = 3, .dropped = 1},
        {.op = Op::end_backfill},
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=5/192 P2#2=null/0", kDbirth2}},
        {.op = Op::drain, .n = 5, .out = {"DDATA RTU1 seq=3 #1=2/192h #1=3/192h #1=5/192h"}}},
       [] {
         auto o = options();
         o.max_held = 3;
         return o;
       }()},
      {"BackfillIsIgnoredOutsideBeginEndAndOnAStandby",
       {{.op = Op::begin_backfill},  // inactive: no backfill starts
        {.op = Op::backfill, .changes = {ch(0, I(1))}, .held = 0},
        {.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::backfill, .changes = {ch(0, I(1))}, .held = 0},
        {.op = Op::begin_backfill},
        {.op = Op::backfill, .changes = {ch(0, I(2))}, .held = 1},
        {.op = Op::deactivate,
         .out = {"DISCONNECT"},
         .held = 0,
         .check = [](const Actions&, const Session& s) { EXPECT_FALSE(s.backfilling()); }}}},
      {"HeldAcrossLostConnectionThenReplayedAfterBirths",
       steps(
           live_at_0(),
           std::vector<Step>{
               {.at = 1, .op = Op::lost, .wake = 2},
               {.at = 1.5, .op = Op::changes, .changes = {ch(0, I(8))}, .held = 1},
               {.at = 2, .op = Op::tick, .out = {"CONNECT bd=1"}},
               {.at = 2, .op = Op::changes, .device = 1, .changes = {ch(0, I(9))}, .held = 2},
               {.at = 2.5,
                .op = Op::connected,
                .out = {nbirth(1), "DBIRTH RTU1 seq=1 P1#1=8/192 P2#2=null/0",
                        "DBIRTH RTU2 seq=2 Q1#3=9/192"}},
               {.at = 3, .op = Op::drain, .n = 1, .out = {"DDATA RTU1 seq=3 #1=8/192h"}, .held = 1},
               {.at = 3,
                .op = Op::drain,
                .n = 1,
                .out = {"DDATA RTU2 seq=4 #3=9/192h"},
                .held = 0}})},

      // --- primary host ---
      {"PrimaryHostGatesPublishingUntilOnline",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.at = 1, .op = Op::connected, .state = "awaiting_host", .bd = 0},
        {.at = 2, .op = Op::changes, .changes = {ch(0, I(1))}, .held = 1},
        {.at = 2, .op = Op::drain, .n = 5, .held = 1},
        {.at = 3,
         .op = Op::state,
         .text = R"({"online":false,"timestamp":100})",
         .state = "awaiting_host"},
        {.at = 4,
         .op = Op::state,
         .text = R"({"online":true,"timestamp":200})",
         .topic = "spBv1.0/STATE/OTHER",
         .state = "awaiting_host"},
        {.at = 5,
         .op = Op::state,
         .text = R"({"online":true,"timestamp":200})",
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=1/192 P2#2=null/0", kDbirth2},
         .state = "live",
         .held = 1},
        {.at = 6, .op = Op::drain, .n = 5, .out = {"DDATA RTU1 seq=3 #1=1/192h"}}},
       options("SCADA1")},
      {"PrimaryHostOfflineEndsSessionReconnectsAndHolds",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::connected, .state = "awaiting_host"},
        {.op = Op::state, .text = R"({"online":true,"timestamp":1})", .out = births(0)},
        {.at = 1,
         .op = Op::state,
         .text = R"({"online":false,"timestamp":2})",
         .out = {"NDEATH bdSeq=0", "DISCONNECT", "CONNECT bd=1"},
         .state = "connecting",
         .bd = 0,
         .error = "primary host SCADA1 offline"},
        {.at = 2, .op = Op::changes, .changes = {ch(0, I(4))}, .held = 1},
        {.at = 2, .op = Op::connected, .state = "awaiting_host", .bd = 1},
        {.at = 3, .op = Op::changes, .changes = {ch(0, I(5))}, .held = 2},
        {.at = 4,
         .op = Op::state,
         .text = R"({"online":true,"timestamp":3})",
         .out = {nbirth(1), "DBIRTH RTU1 seq=1 P1#1=5/192 P2#2=null/0", kDbirth2}},
        {.at = 4, .op = Op::drain, .n = 5, .out = {"DDATA RTU1 seq=3 #1=4/192h #1=5/192h"}}},
       options("SCADA1")},
      {"StaleOrMalformedStateIgnored",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::connected},
        {.op = Op::state,
         .text = "ONLINE",
         .state = "awaiting_host",
         .malformed = 1,
         .error = "malformed STATE"},
        {.op = Op::state, .text = R"({"online":"yes"})", .malformed = 2},
        {.op = Op::state, .text = R"({"online":true,"timestamp":500})", .out = births(0)},
        {.op = Op::state, .text = R"({"online":false,"timestamp":499})", .state = "live"},
        // Without a timestamp a STATE is taken as current.
        {.op = Op::state,
         .text = R"({"online":false})",
         .out = {"NDEATH bdSeq=0", "DISCONNECT", "CONNECT bd=1"}}},
       options("SCADA1")},

      // --- commands ---
      {"DcmdNamedOrAliasedWritablePointsBecomeWrites",
       steps(std::vector<Step>{{.op = Op::activate, .out = {"CONNECT bd=0"}},
                               {.op = Op::connected, .out = kWriteBirths}},
             std::vector<Step>{
                 {.op = Op::dcmd,
                  .command = cmd({named("P1", I(5)), aliased(2, 1.5), named("B1", true),
                                  aliased(4, std::string("on")),
                                  // A number is accepted as is: the API's write path converts
                                  // and range-checks it.
                                  named("P1", std::uint64_t{70000}), named("U1", -1.0)}),
                  .target = "RTU1",
                  .refused = 0,
                  .writes = {"0/0=5", "0/1=1.5d", "0/2=true", "0/3='on'", "0/0=70000u", "0/5=-1d"}},
                 {.op = Op::dcmd,
                  .command = cmd({aliased(7, I(3))}),
                  .target = "RTU2",
                  .writes = {"1/0=3"}}}),
       options(), std::nullopt, write_model()},
      {"DcmdRefusalsAreCountedPerMetricValue",
       steps(std::vector<Step>{{.op = Op::activate, .out = {"CONNECT bd=0"}},
                               {.op = Op::connected, .out = kWriteBirths}},
             std::vector<Step>{{.op = Op::dcmd,
                                .command = cmd({named("P1", I(1)), named("B1", true)}),
                                .target = "RTU9",
                                .refused = 2,
                                .error = "DCMD to RTU9: unknown device"},
                               {.op = Op::dcmd,
                                .command = cmd({named("NOPE", I(1))}),
                                .target = "RTU1",
                                .refused = 3,
                                .error = "unknown metric NOPE"},
                               {.op = Op::dcmd,
                                .command = cmd({aliased(99, I(1))}),
                                .target = "RTU1",
                                .refused = 4,
                                .error = "unknown metric alias 99"},
                               // RTU2's point, addressed to RTU1.
                               {.op = Op::dcmd,
                                .command = cmd({aliased(7, I(1))}),
                                .target = "RTU1",
                                .refused = 5,
                                .error = "unknown metric alias 7"},
                               {.op = Op::dcmd,
                                .command = cmd({named("SYDEVCOMLN", I(2))}),
                                .target = "RTU1",
                                .refused = 6,
                                .error = "SYDEVCOMLN is not writable"},
                               {.op = Op::dcmd,
                                .command = cmd({named("P1", std::string("12"))}),
                                .target = "RTU1",
                                .refused = 7,
                                .error = "P1: not a number"},
                               {.op = Op::dcmd,
                                .command = cmd({named("B1", I(1))}),
                                .target = "RTU1",
                                .refused = 8,
                                .error = "B1: not a boolean"},
                               {.op = Op::dcmd,
                                .command = cmd({named("F1", true)}),
                                .target = "RTU1",
                                .refused = 9,
                                .error = "F1: not a number"},
                               {.op = Op::dcmd,
                                .command = cmd({named("S1", true)}),
                                .target = "RTU1",
                                .refused = 10,
                                .error = "S1: not text"},
                               {.op = Op::dcmd,
                                .command = cmd({named("P1", std::monostate{})}),
                                .target = "RTU1",
                                .refused = 11,
                                .error = "P1: a null value"},
                               // One bad metric does not stop the good ones beside it.
                               {.op = Op::dcmd,
                                .command = cmd({named("B1", I(1)), named("P1", I(4))}),
                                .target = "RTU1",
                                .refused = 12,
                                .writes = {"0/0=4"}},
                               {.op = Op::dcmd,
                                .text = "garbage",
                                .target = "RTU1",
                                .refused = 12,
                                .malformed = 1}}),
       options(), std::nullopt, write_model()},
      {"DcmdNeverExecutedUnlessLive",
       {{.op = Op::dcmd,
         .command = cmd({named("P1", I(1))}),
         .target = "RTU1",
         .refused = 1,
         .error = "not publishing"},
        {.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::dcmd, .command = cmd({named("P1", I(1))}), .target = "RTU1", .refused = 2},
        {.op = Op::connected, .state = "awaiting_host"},
        {.op = Op::dcmd, .command = cmd({named("P1", I(1))}), .target = "RTU1", .refused = 3},
        {.op = Op::state, .text = R"({"online":true})", .out = births(0)},
        {.op = Op::dcmd,
         .command = cmd({named("P1", I(1))}),
         .target = "RTU1",
         .refused = 3,
         .writes = {"0/0=1"}},
        {.op = Op::deactivate, .out = {"NDEATH bdSeq=0", "DISCONNECT"}},
        {.op = Op::dcmd, .command = cmd({named("P1", I(1))}), .target = "RTU1", .refused = 4}},
       options("SCADA1")},

      // --- reload ---
      {"ReloadWhileLiveDeathsGoneDevicesBirthsNewOrChangedOnes",
       steps(live_at_0(),
             std::vector<Step>{
                 {.at = 1,
                  .op = Op::changes,
                  .changes = {ch(0, I(5))},
                  .out = {"DDATA RTU1 seq=3 #1=5/192"}},
                 // RTU2 removed, RTU3 added, RTU1 unchanged.
                 {.at = 2,
                  .op = Op::model,
                  .model = {{"RTU1", {{"P1", DataType::int16, true}, {"P2", DataType::float32}}},
                            {"RTU3", {{"R1", DataType::boolean}}}},
                  .node = default_node(),
                  .out = {"DDEATH RTU2 seq=4", "DBIRTH RTU3 seq=5 R1#5=null/0"},
                  .check =
                      [](const Actions& out, const Session&) {
                        EXPECT_EQ(publish(out, 0).topic, "spBv1.0/Plant1/DDEATH/FE1/RTU2");
                        EXPECT_TRUE(publish(out, 0).payload.metrics.empty());
                      }},
                 // RTU1 gains P3 and loses P2: P1 keeps its alias and value, P3 is new.
                 {.at = 3,
                  .op = Op::model,
                  .model = {{"RTU1", {{"P1", DataType::int16, true}, {"P3", DataType::int32}}},
                            {"RTU3", {{"R1", DataType::boolean}}}},
                  .node = default_node(),
                  .out = {"DBIRTH RTU1 seq=6 P1#1=5/192 P3#6=null/0"}},
                 // P2 and RTU2 come back with their aliases.
                 {.at = 4,
                  .op = Op::model,
                  .model = default_model(),
                  .node = default_node(),
                  .out = {"DDEATH RTU3 seq=7", "DBIRTH RTU1 seq=8 P1#1=5/192 P2#2=null/0",
                          "DBIRTH RTU2 seq=9 Q1#3=null/0"}},
                 {.at = 5, .op = Op::model, .model = default_model(), .node = default_node()},
                 // A point whose type changed loses its old value (it may not fit the type).
                 {.at = 6,
                  .op = Op::model,
                  .model = {{"RTU1", {{"P1", DataType::float64}, {"P2", DataType::float32}}},
                            {"RTU2", {{"Q1", DataType::uint16, true}}}},
                  .node = default_node(),
                  .out = {"DBIRTH RTU1 seq=10 P1#1=null/0 P2#2=null/0"}}})},
      {"ReloadWhileNotLivePublishesNothingAndChangesFollowNewIndexes",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(1))}},
        {.op = Op::changes, .device = 1, .changes = {ch(0, I(2))}, .held = 2},
        // RTU1 removed: RTU2 is now device 0, and RTU1's held change is discarded.
        {.op = Op::model,
         .model = {{"RTU2", {{"Q1", DataType::uint16, true}}}},
         .node = default_node(),
         .held = 1},
        {.op = Op::changes, .device = 0, .changes = {ch(0, I(3))}, .held = 2},
        {.op = Op::connected, .out = {nbirth(0), "DBIRTH RTU2 seq=1 Q1#3=3/192"}},
        {.op = Op::drain, .n = 5, .out = {"DDATA RTU2 seq=2 #3=2/192h #3=3/192h"}}}},
      {"ReloadOfNodeMetricsValuesIsNdataNamesIsRebirth",
       steps(live_at_0(),
             std::vector<Step>{
                 {.op = Op::model,
                  .model = default_model(),
                  .node = {{"Redundancy/Activity", DataType::string, std::string("standby")}},
                  .out = {"NDATA seq=3 #4='standby'"}},
                 {.op = Op::model,
                  .model = default_model(),
                  .node = {{"Redundancy/Activity", DataType::string, std::string("standby")},
                           {"Redundancy/Peer Connected", DataType::boolean, true}},
                  .out = {"NBIRTH seq=0 bdSeq=0 Node Control/Rebirth#0=false "
                          "Redundancy/Activity#4='standby' Redundancy/Peer Connected#5=true",
                          kDbirth1, kDbirth2}},
                 {.op = Op::node_metric,
                  .text = "Redundancy/Peer Connected",
                  .value = false,
                  .out = {"NDATA seq=3 #5=false"}},
                 {.op = Op::node_metric, .text = "Redundancy/Peer Connected", .value = false},
                 {.op = Op::node_metric,
                  .text = "Nope",
                  .value = false,
                  .error = "unknown node metric Nope"}})},
      {"ReloadOfEdgeNodeEndsSessionAndStartsNext",
       steps(live_at_0(),
             std::vector<Step>{
                 {.at = 1,
                  .op = Op::options,
                  .edit = [](Session::Options& o) { o.edge_node_id = "FE2"; },
                  .out = {"NDEATH bdSeq=0", "DISCONNECT", "CONNECT bd=1"},
                  .check =
                      [](const Actions& out, const Session&) {
                        EXPECT_EQ(publish(out, 0).topic, "spBv1.0/Plant1/NDEATH/FE1");
                        const auto& c = std::get<Connect>(out.at(2));
                        EXPECT_EQ(c.will.topic, "spBv1.0/Plant1/NDEATH/FE2");
                        EXPECT_EQ(c.subscriptions[0], "spBv1.0/Plant1/NCMD/FE2");
                      }},
                 {.at = 1, .op = Op::connected, .out = births(1)},
                 {.at = 2, .op = Op::options, .edit = [](Session::Options& o) { o.max_held = 10; }},
                 // Mid-attempt: the attempt is abandoned and made again with the same bdSeq.
                 {.at = 3, .op = Op::lost, .wake = 4},
                 {.at = 4, .op = Op::tick, .out = {"CONNECT bd=2"}},
                 {.at = 4,
                  .op = Op::options,
                  .edit = [](Session::Options& o) { o.primary_host_id = "SCADA1"; },
                  .out = {"DISCONNECT", "CONNECT bd=2"}},
                 // Waiting: nothing now; the next attempt uses the new options.
                 {.at = 4, .op = Op::connect_failed, .wake = 5},
                 {.at = 4,
                  .op = Op::options,
                  .edit = [](Session::Options& o) { o.group_id = "Plant2"; },
                  .wake = 5},
                 {.at = 5,
                  .op = Op::tick,
                  .out = {"CONNECT bd=2"},
                  .check =
                      [](const Actions& out, const Session&) {
                        EXPECT_EQ(std::get<Connect>(out.at(0)).will.topic,
                                  "spBv1.0/Plant2/NDEATH/FE2");
                      }}})},
      {"ReloadWithSmallerMaxHeldDropsOldest",
       {{.op = Op::activate, .out = {"CONNECT bd=0"}},
        {.op = Op::changes, .changes = {ch(0, I(1)), ch(0, I(2)), ch(0, I(3))}, .held = 3},
        {.op = Op::options,
         .edit = [](Session::Options& o) { o.max_held = 1; },
         .held = 1,
         .dropped = 2},
        {.op = Op::connected,
         .out = {nbirth(0), "DBIRTH RTU1 seq=1 P1#1=3/192 P2#2=null/0", kDbirth2}},
        {.op = Op::drain, .n = 5, .out = {"DDATA RTU1 seq=3 #1=3/192h"}}}},
  };
}

class SessionRules : public ::testing::TestWithParam<Case> {};

// Holds for every Publish of every step: the payload time is the event's wall time; NDEATH (QoS
// 1) has no seq, everything else has one at QoS 0; the will is an NDEATH with the Connect's bdSeq.
void check_invariants(const Actions& out, std::uint64_t wall) {
  for (const auto& a : out) {
    if (const auto* c = std::get_if<Connect>(&a)) {
      EXPECT_EQ(c->will.type, MessageType::ndeath);
      EXPECT_EQ(c->will.qos, 1);
      EXPECT_FALSE(c->will.payload.seq);
      ASSERT_EQ(c->will.payload.metrics.size(), 1u);
      EXPECT_EQ(c->will.payload.metrics[0].value, MetricValue(std::int64_t{c->bd_seq}));
      continue;
    }
    const auto* p = std::get_if<Publish>(&a);
    if (p == nullptr) continue;
    EXPECT_EQ(p->payload.timestamp, wall) << describe(a);
    const bool ndeath = p->type == MessageType::ndeath;
    EXPECT_EQ(p->payload.seq.has_value(), !ndeath) << describe(a);
    EXPECT_EQ(p->qos, ndeath ? 1 : 0) << describe(a);
    if (p->type == MessageType::ddata || p->type == MessageType::ndata) {
      for (const auto& m : p->payload.metrics) {
        EXPECT_TRUE(m.name.empty()) << "data carries aliases only: " << describe(a);
        EXPECT_TRUE(m.alias) << describe(a);
      }
    }
    if (p->type == MessageType::ddata || p->type == MessageType::dbirth) {
      for (const auto& m : p->payload.metrics)
        EXPECT_TRUE(m.quality) << "every device metric carries Quality: " << describe(a);
    }
  }
}

TEST_P(SessionRules, Scenario) {
  const Case& c = GetParam();
  runtime::ManualExecutor ex;
  const runtime::TimePoint t0 = ex.now();
  Payload command;
  Session::Options opts = c.options;
  opts.decode = [&command](std::string_view bytes, std::string* error) -> std::optional<Payload> {
    if (bytes == "garbage") {
      *error = "bad bytes";
      return std::nullopt;
    }
    return command;
  };
  std::vector<DeviceModel> model = c.model;
  std::vector<NodeMetric> node = c.node;
  auto s = std::make_unique<Session>(opts, c.last_bd);
  Actions out;
  s->set_model(model, node, t0, kWall0, out);
  EXPECT_TRUE(out.empty());

  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    const Step& st = c.steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " at " + std::to_string(st.at) + " s");
    const runtime::TimePoint at = t0 + runtime::from_seconds(st.at);
    ASSERT_GE(at, ex.now()) << "steps must be in time order";
    ex.advance(at - ex.now());
    const runtime::TimePoint now = ex.now();
    const std::uint64_t wall = kWall0 + static_cast<std::uint64_t>(st.at * 1000);
    std::vector<WriteRequest> writes;
    for (int r = 0; r < st.repeat; ++r) {
      out.clear();
      switch (st.op) {
        case Op::activate:
          s->set_active(true, now, wall, out);
          break;
        case Op::deactivate:
          s->set_active(false, now, wall, out);
          break;
        case Op::connected:
          s->on_connected(now, wall, out);
          break;
        case Op::connect_failed:
          s->on_connect_failed(now, "refused", out);
          break;
        case Op::lost:
          s->on_connection_lost(now, "refused", out);
          break;
        case Op::tick:
          s->tick(now, wall, out);
          break;
        case Op::changes:
          s->on_changes(st.device, st.changes, now, wall, out);
          break;
        case Op::state:
          s->on_message(st.topic.empty() ? state_topic(s->options().primary_host_id) : st.topic,
                        st.text, now, wall, out);
          break;
        case Op::ncmd:
        case Op::dcmd: {
          command = st.command;
          const auto& o = s->options();
          const std::string t =
              st.op == Op::ncmd ? topic(o.group_id, MessageType::ncmd, o.edge_node_id)
                                : topic(o.group_id, MessageType::dcmd, o.edge_node_id, st.target);
          writes = s->on_message(t, st.text.empty() ? "payload" : st.text, now, wall, out);
          break;
        }
        case Op::model:
          model = st.model;
          node = st.node;
          s->set_model(model, node, now, wall, out);
          break;
        case Op::node_metric:
          s->set_node_metric(st.text, st.value, wall, out);
          break;
        case Op::drain:
          s->drain(st.n, wall, out);
          break;
        case Op::adopt:
          s->adopt_bd_seq(static_cast<std::uint8_t>(st.n));
          break;
        case Op::options: {
          auto o = s->options();
          st.edit(o);
          s->set_options(std::move(o), now, wall, out);
          break;
        }
        case Op::begin_backfill:
          s->begin_backfill();
          break;
        case Op::backfill:
          s->backfill(st.device, st.changes);
          break;
        case Op::end_backfill:
          s->end_backfill();
          break;
        case Op::restart: {
          const auto last = s->bd_seq();
          s = std::make_unique<Session>(opts, last);
          s->set_model(model, node, now, wall, out);
          break;
        }
      }
    }
    EXPECT_EQ(describe(out), st.out);
    check_invariants(out, wall);
    if (!st.state.empty()) {
      EXPECT_EQ(to_string(s->state()), st.state);
    }
    if (st.bd) {
      if (*st.bd < 0) {
        EXPECT_FALSE(s->bd_seq());
      } else {
        EXPECT_EQ(s->bd_seq(), std::optional<std::uint8_t>(*st.bd));
      }
    }
    if (st.seq >= 0) {
      EXPECT_EQ(s->seq(), st.seq);
    }
    if (st.held >= 0) {
      EXPECT_EQ(s->held(), static_cast<std::size_t>(st.held));
    }
    if (st.dropped >= 0) {
      EXPECT_EQ(s->dropped(), static_cast<std::uint64_t>(st.dropped));
    }
    if (st.refused >= 0) {
      EXPECT_EQ(s->commands_refused(), static_cast<std::uint64_t>(st.refused));
    }
    if (st.malformed >= 0) {
      EXPECT_EQ(s->malformed(), static_cast<std::uint64_t>(st.malformed));
    }
    std::vector<std::string> got_writes;
    for (const auto& w : writes)
      got_writes.push_back(describe(w));
    EXPECT_EQ(got_writes, st.writes);
    if (st.wake) {
      if (*st.wake < 0) {
        EXPECT_FALSE(s->next_wake());
      } else {
        EXPECT_EQ(s->next_wake(), std::optional(t0 + runtime::from_seconds(*st.wake)));
      }
    }
    if (!st.error.empty()) {
      EXPECT_NE(s->last_error().find(st.error), std::string::npos) << s->last_error();
    }
    if (st.check) st.check(out, *s);
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, SessionRules, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(SessionTopics, Namespace) {
  EXPECT_EQ(topic("G", MessageType::nbirth, "E"), "spBv1.0/G/NBIRTH/E");
  EXPECT_EQ(topic("G", MessageType::ddata, "E", "D"), "spBv1.0/G/DDATA/E/D");
  EXPECT_EQ(state_topic("H"), "spBv1.0/STATE/H");
  EXPECT_EQ(to_string(MessageType::ndeath), "NDEATH");
  EXPECT_EQ(to_string(MessageType::dcmd), "DCMD");
  EXPECT_EQ(to_string(MessageType::state), "STATE");
}

TEST(SessionCounters, PublishedPerType) {
  runtime::ManualExecutor ex;
  Session s(options(), std::nullopt);
  Actions out;
  s.set_model(default_model(), default_node(), ex.now(), kWall0, out);
  s.set_active(true, ex.now(), kWall0, out);
  s.on_connected(ex.now(), kWall0, out);
  const PointChange c = ch(0, I(1));
  s.on_changes(0, std::span(&c, 1), ex.now(), kWall0, out);
  s.set_active(false, ex.now(), kWall0, out);
  EXPECT_EQ(s.published(MessageType::nbirth), 1u);
  EXPECT_EQ(s.published(MessageType::dbirth), 2u);
  EXPECT_EQ(s.published(MessageType::ddata), 1u);
  EXPECT_EQ(s.published(MessageType::ndeath), 1u);
  EXPECT_EQ(s.published_total(), 5u);
}

}  // namespace
}  // namespace pollux::northbound
