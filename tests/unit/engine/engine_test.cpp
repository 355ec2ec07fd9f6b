// The engine with fake links on a manual clock: points, writes, failover wiring, reload.
#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <map>

#include "config/loader.hpp"
#include "modbus/error.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_link.hpp"
#include "testlib/reload.hpp"

namespace pollux::engine {
namespace {

using namespace api;  // the views the engine returns
using runtime::milliseconds;
using testlib::FakeLink;
using testlib::FakeReply;

constexpr const char* kConfig = R"(
node: { name: t }
channels:
  - { id: COM1, type: serial, protocol: modbus-rtu, port: /dev/null, message_timeout_ms: 100, poll_attempts: 2 }
  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 100, poll_attempts: 1 }
devices:
  - id: D1
    unit: 7
    comm:
      primary: { channel: COM1, initial_fail_s: 0.001 }
      first_failover: { channel: NET1, host: 10.0.0.1, port: 502, initial_fail_s: 0.001 }
    polls:
      - name: fast
        interval_ms: 1000
        points:
          - { name: P, table: holding, address: 0, type: uint16 }
          - { name: Q, table: holding, address: 1, type: uint16, scale: 0.5 }
    writable: [P]
  - id: D2
    unit: 8
    comm: { primary: { channel: COM1 } }
    polls:
      - name: slow
        interval_ms: 5000
        points:
          - { name: R, table: holding, address: 3, type: int16 }
)";

config::Config load(const std::string& text) {
  auto r = config::load_text(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return *r.config;
}

struct EngineFixture : ::testing::Test {
  void SetUp() override { make(kConfig); }
  void make(const std::string& text) {
    engine = std::make_unique<Engine>(
        ex,
        [this](const config::Channel& c) {
          auto l = std::make_unique<FakeLink>(ex, c.type == config::ChannelType::tcp);
          links[c.id] = l.get();
          return l;
        },
        load(text), [this] { return config::load_text(reload_text, "reload.yaml"); });
    engine->start();
  }
  void settle(runtime::Duration d = milliseconds(500)) { ex.advance(d); }
  ReloadOutcome reload() { return testlib::reload_now(*engine, ex); }
  PointView point(const std::string& dev, const std::string& name) {
    const auto all = engine->points(dev);
    if (all)
      for (const auto& p : *all)
        if (p.name == name) return p;
    ADD_FAILURE() << "no point " << dev << "." << name;
    return {};
  }
  runtime::ManualExecutor ex;
  std::map<std::string, FakeLink*> links;
  std::unique_ptr<Engine> engine;
  std::string reload_text;
};

TEST_F(EngineFixture, PointsAreNullBadUntilFirstReadThenGood) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(point("D1", "P").value));
  EXPECT_EQ(point("D1", "P").quality, Quality::bad);
  settle();
  EXPECT_EQ(point("D1", "P").quality, Quality::good);
  EXPECT_EQ(std::get<std::uint64_t>(point("D1", "P").value), 0u);  // fake: register = address
  EXPECT_DOUBLE_EQ(std::get<double>(point("D1", "Q").value), 0.5);
  EXPECT_EQ(std::get<std::int64_t>(point("D2", "R").value), 3);
  // SYDEV* points appear like any other point, always good.
  EXPECT_EQ(std::get<std::string>(point("D1", "SYDEVCOMID").value), "COM1");
  EXPECT_EQ(std::get<std::string>(point("D1", "SYDEVSCOM").value), "NET1");
  EXPECT_EQ(std::get<std::int64_t>(point("D1", "SYDEVCOMLN").value), 1);
}

TEST_F(EngineFixture, FirstPollOfEveryGroupAtStartThenOnTheGrid) {
  settle(milliseconds(1));
  EXPECT_EQ(links["COM1"]->sent.size(), 1u);  // D1 at start; D2 waits: one in flight
  settle(milliseconds(100));
  EXPECT_EQ(links["COM1"]->sent.size(), 2u);  // D2 at start too
  settle(milliseconds(4898));                 // to t0+4999: D1 at 1,2,3,4 s
  EXPECT_EQ(links["COM1"]->sent.size(), 6u);
  settle(milliseconds(30));  // t0+5029: D1 and D2 again
  EXPECT_EQ(links["COM1"]->sent.size(), 8u);
  EXPECT_EQ(engine->device("D1")->stats.overruns, 0u);
}

TEST_F(EngineFixture, FailedPollTurnsPointsBadKeepsValueAndFailsOverWithRetryFirst) {
  settle();
  ASSERT_EQ(point("D1", "P").quality, Quality::good);
  // The primary goes silent: one failed message (2 tries) with initial_fail_s ~0 moves D1 to
  // line 2, and the failed poll is retried there first (rule 4), so the points stay good.
  links["COM1"]->unit_script[7] = {FakeReply::silent(), FakeReply::silent()};
  settle(milliseconds(1000));
  auto d = *engine->device("D1");
  EXPECT_EQ(d.active_line, 2);
  EXPECT_EQ(d.active_channel, "NET1");
  EXPECT_TRUE(d.primary_failed_over);
  auto ev = engine->events(0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].from, 1);
  EXPECT_EQ(ev[0].to, 2);
  EXPECT_EQ(ev[0].reason, "initial_fail");
  EXPECT_EQ(links["NET1"]->sent.size(), 1u);
  EXPECT_EQ(point("D1", "P").quality, Quality::good);
  EXPECT_EQ(std::get<std::int64_t>(point("D1", "SYDEVCOMLN").value), 2);
  EXPECT_EQ(std::get<std::int64_t>(point("D1", "SYDEVPRFO").value), 1);
  EXPECT_EQ(d.stats.timeouts, 2u);
  EXPECT_EQ(d.stats.messages_failed, 1u);
  // D2 (no alternate line) goes bad and keeps its value.
  links["COM1"]->unit_script[8] = {FakeReply::silent(), FakeReply::silent()};
  ASSERT_TRUE(engine->poll_now("D2").ok());
  settle();
  auto r = point("D2", "R");
  EXPECT_EQ(r.quality, Quality::bad);
  EXPECT_EQ(std::get<std::int64_t>(r.value), 3);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(EngineFixture, UnusableChannelFailsOverAtOnce) {
  settle();
  links["COM1"]->set_status(transport::LinkStatus::down);
  auto d = *engine->device("D1");
  EXPECT_EQ(d.active_line, 2);
  EXPECT_EQ(engine->events(0).back().reason, "channel_unusable");
  EXPECT_FALSE(d.lines[0].usable);
  auto ch = engine->channels();
  EXPECT_EQ(ch[0].status, ChannelStatus::down);
}

TEST_F(EngineFixture, ManualLineSelection) {
  EXPECT_EQ(engine->select_line("D1", 0).status, 400);
  EXPECT_EQ(engine->select_line("D1", 4).status, 400);
  EXPECT_EQ(engine->select_line("D1", 3).status, 409);
  EXPECT_EQ(engine->select_line("NOPE", 1).status, 404);
  EXPECT_EQ(engine->select_line("D1", 2).status, 200);
  EXPECT_EQ(engine->device("D1")->active_line, 2);
  EXPECT_EQ(engine->events(0).back().reason, "manual");
  EXPECT_EQ(engine->select_line("D1", 2).status, 200);  // already there: accepted, no event
  EXPECT_EQ(engine->events(0).size(), 1u);
  links["NET1"]->set_status(transport::LinkStatus::disabled);
  EXPECT_EQ(engine->device("D1")->active_line, 1);  // rule 2 moved it back to line 1
  EXPECT_EQ(engine->events(0).back().reason, "channel_unusable");
  EXPECT_EQ(engine->select_line("D1", 2).status, 409);  // unusable now
}

TEST_F(EngineFixture, WriteOutcomes) {
  settle();
  std::optional<Outcome> out;
  auto done = [&](Outcome o) { out = o; };
  FakeLink& com1 = *links["COM1"];
  // Reads always answer; writes answer as `write_reply` says.
  FakeReply write_reply = FakeReply::ok();
  com1.responder = [&](const testlib::SentExchange& s) {
    return s.request.is_write() ? write_reply : FakeReply::ok();
  };
  auto writes_sent = [&] {
    std::size_t n = 0;
    for (const auto& s : com1.sent)
      n += s.request.is_write() ? 1 : 0;
    return n;
  };
  engine->write("D1", "P", WriteValue{std::int64_t{5}}, done);
  settle();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  EXPECT_TRUE(std::any_of(com1.sent.begin(), com1.sent.end(), [](const auto& s) {
    return s.request.function == modbus::FunctionCode::write_single_register &&
           s.request.values == std::vector<std::uint16_t>{5};
  }));
  write_reply = FakeReply::exception_code(4);
  out.reset();
  engine->write("D1", "P", WriteValue{std::int64_t{6}}, done);
  settle();
  EXPECT_EQ(out->status, 502);
  write_reply = FakeReply::fail(modbus::Errc::crc_error);
  out.reset();
  engine->write("D1", "P", WriteValue{std::int64_t{6}}, done);
  settle();
  EXPECT_EQ(out->status, 502);                      // a bad frame: the device answered something
  ASSERT_EQ(engine->device("D1")->active_line, 2);  // that failure moved D1 (initial_fail ~0)
  ASSERT_EQ(engine->select_line("D1", 1).status, 200);
  write_reply = FakeReply::silent();
  out.reset();
  const auto before = writes_sent();
  engine->write("D1", "P", WriteValue{std::int64_t{7}}, done);
  settle();
  ASSERT_TRUE(out) << com1.sent.size() << " " << com1.in_flight << " " << engine->metrics_text();
  EXPECT_EQ(out->status, 504) << out->error;
  // Sent once (write_attempts 1), and not carried to the new line (retry_in_progress_control
  // off) even though the failure moved the device again.
  EXPECT_EQ(writes_sent(), before + 1);
  for (const auto& s : links["NET1"]->sent)
    EXPECT_FALSE(s.request.is_write());
  engine->write("D1", "Q", WriteValue{1.0}, done);
  EXPECT_EQ(out->status, 400);  // not writable
  engine->write("D1", "ZZ", WriteValue{1.0}, done);
  EXPECT_EQ(out->status, 404);
  engine->write("D1", "P", WriteValue{std::int64_t{70000}}, done);
  EXPECT_EQ(out->status, 400);  // out of range for uint16
  engine->write("NOPE", "P", WriteValue{1.0}, done);
  EXPECT_EQ(out->status, 404);
}

// api.md "Settled details": a refused write answers 400 naming the point, the value and the
// reason in words; SYDEV* points are status points.
TEST_F(EngineFixture, RefusedWritesSayWhyInWords) {
  make(R"(
node: { name: t }
channels:
  - { id: COM1, type: serial, protocol: modbus-rtu, port: /dev/null, message_timeout_ms: 100 }
devices:
  - id: WELL_01
    unit: 7
    comm: { primary: { channel: COM1 } }
    polls:
      - name: g
        interval_ms: 1000
        points:
          - { name: PUMP_RUN, table: coil, address: 0, type: bool }
          - { name: SP, table: holding, address: 1, type: uint16, scale: 0.1 }
          - { name: LIMIT, table: holding, address: 2, type: int16 }
          - { name: TAG, table: holding, address: 3, type: string, length: 2 }
          - { name: LEVEL, table: holding, address: 5, type: float32 }
          - { name: DOOR, table: discrete, address: 0, type: bool }
    writable: [PUMP_RUN, SP, LIMIT, TAG, LEVEL]
)");
  std::optional<Outcome> out;
  auto write = [&](const std::string& point, WriteValue v) {
    out.reset();
    engine->write("WELL_01", point, v, [&](Outcome o) { out = o; });
    EXPECT_TRUE(out) << point << " answered later: a refusal is immediate";
    return out ? *out : Outcome{};
  };
  auto refused = [&](const std::string& point, WriteValue v, const std::string& why) {
    const Outcome o = write(point, std::move(v));
    EXPECT_EQ(o.status, 400) << point;
    EXPECT_EQ(o.error, why) << point;
  };
  refused("PUMP_RUN", std::string("banana"), "PUMP_RUN is bool: 'banana' is not true or false");
  refused("PUMP_RUN", std::int64_t{2}, "PUMP_RUN: 2 is out of range for bool (true/false, 1/0)");
  refused("SP", std::int64_t{7000},
          "SP: 7000 is out of range for uint16 with scale 0.1 (0..6553.5)");
  refused("SP", std::string("high"), "SP is uint16: 'high' is not a number");
  refused("LIMIT", std::int64_t{-40000}, "LIMIT: -40000 is out of range for int16 (-32768..32767)");
  refused("TAG", std::string("PUMP-7"),
          "TAG: 'PUMP-7' is too long for string of 2 registers (at most 4 characters)");
  refused("TAG", 1.5, "TAG is string: 1.5 is not text");
  refused("LEVEL", 1e39,
          "LEVEL: 1e+39 is out of range for float32 (-3.4028235e+38..3.4028235e+38)");
  refused("DOOR", true, "DOOR is not writable: it is not in the 'writable' list of WELL_01");
  refused("SYDEVCOMLN", std::int64_t{2}, "SYDEVCOMLN is a status point");
  EXPECT_EQ(write("NOPE", std::int64_t{1}).status, 404);
}

TEST_F(EngineFixture, ReloadWithErrorsChangesNothing) {
  settle();
  const auto version = engine->redundancy().config_version;
  const auto ok_before = engine->device("D1")->stats.messages_ok;
  reload_text = std::string(kConfig) + "bogus_key: 1\n";
  auto r = reload();
  EXPECT_EQ(r.outcome.status, 400);
  EXPECT_FALSE(r.errors.empty());
  EXPECT_EQ(engine->redundancy().config_version, version);
  EXPECT_EQ(engine->device("D1")->stats.messages_ok, ok_before);
  EXPECT_EQ(engine->device_ids(), (std::vector<std::string>{"D1", "D2"}));
}

TEST_F(EngineFixture, ReloadKeepsUnchangedDevicesAndReloadsChangedOnes) {
  settle();
  engine->select_line("D1", 2);
  settle();
  const auto d1_ok = engine->device("D1")->stats.messages_ok;
  ASSERT_GT(d1_ok, 0u);
  std::string text = kConfig;
  text.replace(text.find("address: 3, type: int16"), 23, "address: 4, type: int16");
  reload_text = text;
  auto r = reload();
  ASSERT_EQ(r.outcome.status, 200) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_NE(r.version, "");
  // D1 unchanged: keeps line 2 and its counters. D2 changed: fresh counters, new address.
  EXPECT_EQ(engine->device("D1")->active_line, 2);
  EXPECT_EQ(engine->device("D1")->stats.messages_ok, d1_ok);
  EXPECT_EQ(engine->device("D2")->stats.messages_ok, 0u);
  EXPECT_EQ(point("D2", "R").quality, Quality::bad);
  settle();
  EXPECT_EQ(std::get<std::int64_t>(point("D2", "R").value), 4);
}

// A reload asked for while the file is being read waits for a second read, made after it was
// asked for: the edit saved in between is what it applies.
TEST_F(EngineFixture, AReloadAskedForDuringALoadGetsTheNextLoad) {
  settle();
  std::string edited = kConfig;
  edited.replace(edited.find("address: 3, type: int16"), 23, "address: 4, type: int16");
  reload_text = std::string(kConfig) + "bogus_key: 1\n";
  std::vector<ReloadOutcome> answers;
  engine->reload([&](ReloadOutcome o) { answers.push_back(std::move(o)); });
  reload_text = edited;  // saved while the first read is in progress
  engine->reload([&](ReloadOutcome o) { answers.push_back(std::move(o)); });
  EXPECT_TRUE(answers.empty());  // answered on the I/O thread, after the read
  ex.run_pending();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].outcome.status, 400);
  EXPECT_EQ(answers[1].outcome.status, 200);
  settle();
  EXPECT_EQ(std::get<std::int64_t>(point("D2", "R").value), 4);
}

// The engine may go while a file is being read: the late result touches nothing.
TEST_F(EngineFixture, AReloadFinishingAfterTheEngineWentIsDropped) {
  reload_text = kConfig;
  bool answered = false;
  engine->reload([&](ReloadOutcome) { answered = true; });
  engine.reset();
  ex.run_pending();
  EXPECT_FALSE(answered);
}

TEST_F(EngineFixture, PollNowAndMetrics) {
  settle();
  EXPECT_EQ(engine->poll_now("NOPE").status, 404);
  const auto before = links["COM1"]->sent.size();
  EXPECT_EQ(engine->poll_now("D2").status, 202);
  settle(milliseconds(50));
  EXPECT_EQ(links["COM1"]->sent.size(), before + 1);
  const std::string m = engine->metrics_text();
  for (const char* needle :
       {"pollux_device_messages_ok_total{device=\"D1\"}", "pollux_channel_queue_depth",
        "pollux_channel_response_seconds_bucket{channel=\"COM1\",le=\"0.01\"}",
        "pollux_scheduler_overruns_total", "pollux_device_queue_depth{device=\"D2\"}",
        "pollux_scheduler_lateness_seconds_bucket{le=\"0.01\"}",
        "pollux_scheduler_lateness_seconds_bucket{le=\"+Inf\"}",
        "pollux_scheduler_lateness_seconds_count "})
    EXPECT_NE(m.find(needle), std::string::npos) << needle;
}

// `n` TCP devices D0.. with one point each.
std::string many_devices(int n) {
  std::string text = R"(
node: { name: t }
channels:
  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 100, poll_attempts: 1 }
devices:
)";
  for (int i = 0; i < n; ++i)
    text += "  - { id: D" + std::to_string(i) + ", unit: 1, comm: { primary: { channel: NET1, " +
            "host: 10.0.0.1, port: " + std::to_string(1000 + i) + " } }, polls: [ { name: g, " +
            "interval_ms: 1000, points: [ { name: P, table: holding, address: 0, type: uint16 " +
            "} ] } ] }\n";
  return text;
}

TEST_F(EngineFixture, MetricsComeInPartsEachFamilyTogetherAndARemovedDeviceLeavesTheRest) {
  make(many_devices(600));
  settle();
  auto body = engine->metrics();
  std::vector<std::string> parts;
  for (int i = 0; i < 3 && !body->done(); ++i)
    parts.push_back(body->next());
  // A reload between parts drops D599: families still to come leave it out.
  reload_text = many_devices(599);
  ASSERT_TRUE(reload().outcome.ok());
  while (!body->done())
    parts.push_back(body->next());
  EXPECT_GT(parts.size(), 10u);  // 15 device families of 600 samples, ~32 KB a part
  std::string text;
  for (const auto& p : parts) {
    EXPECT_LE(p.size(), 2 * BodySource::kPartBytes);
    text += p;
  }
  // Every family once, its samples right after its header (the format's rule).
  std::map<std::string, int> headers;
  std::string current;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(++headers[current], 1) << current;
    } else if (line.rfind('#', 0) != 0) {
      const std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_EQ(name.rfind(current, 0), 0u) << name << " outside its family " << current;
    }
  }
  EXPECT_EQ(headers.size(), 7u + 6u + 15u + 2u);
  EXPECT_NE(text.find("pollux_device_messages_ok_total{device=\"D599\"}"), std::string::npos);
  EXPECT_EQ(text.find("pollux_device_demoted{device=\"D599\"}"), std::string::npos);
  EXPECT_NE(text.find("pollux_device_demoted{device=\"D598\"}"), std::string::npos);
  EXPECT_EQ(text.find("pollux_device_up{device=\"D599\"}"), std::string::npos);
  EXPECT_NE(text.find("pollux_device_up{device=\"D598\"}"), std::string::npos);
  EXPECT_EQ(engine->metrics_text().find("D599"), std::string::npos);
}

TEST_F(EngineFixture, StopFailsPendingWrites) {
  links["COM1"]->unit_script[7] = {FakeReply::silent()};
  std::optional<Outcome> out;
  engine->write("D1", "P", WriteValue{std::int64_t{1}}, [&](Outcome o) { out = o; });
  engine->stop();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 504);
}

// One TCP device whose register 10 is refused (exception 02) while `short_map` holds, beside a
// good register 0 in the same group (one block, then split).
struct RefusedRangeFixture : EngineFixture {
  void make_refusing(int refused_retry_s) {
    make(R"(
node: { name: t }
channels:
  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 100, poll_attempts: 1 }
devices:
  - id: D1
    refused_retry_s: )" +
         std::to_string(refused_retry_s) +
         R"(
    comm: { primary: { channel: NET1, host: 10.0.0.1, port: 502 } }
    polls:
      - name: g
        interval_ms: 1000
        points:
          - { name: P, table: holding, address: 0, type: uint16 }
          - { name: Q, table: holding, address: 10, type: uint16 }
)");
    links["NET1"]->responder = [this](const testlib::SentExchange& s) {
      const bool covers_q = s.request.address <= 10 && s.request.address + s.request.quantity > 10;
      if (covers_q) ++asked_q;
      return covers_q && short_map ? FakeReply::exception_code(2) : FakeReply::ok();
    };
  }
  bool short_map = true;
  int asked_q = 0;
};

TEST_F(RefusedRangeFixture, ARefusedRangeIsAskedAgainEveryRefusedRetryWhileTheRestKeepsPolling) {
  make_refusing(3);
  settle(milliseconds(2500));  // t0: [0..10] refused and split; 1 s: [10] refused alone; 2 s
  ASSERT_EQ(point("D1", "P").quality, Quality::good);
  ASSERT_EQ(point("D1", "Q").quality, Quality::bad);
  EXPECT_EQ(point("D1", "Q").error, "illegal data address");
  EXPECT_EQ(asked_q, 2);
  const auto failed_before = engine->device("D1")->stats.polls_failed;
  // Refused at 1 s (plus the answers' latency): asked again at the first poll 3 s after that.
  settle(milliseconds(2000));  // 3 s, 4 s
  EXPECT_EQ(asked_q, 2);
  settle(milliseconds(1000));  // 5 s: asked again, refused again; P read in the same attempt
  EXPECT_EQ(asked_q, 3);
  EXPECT_EQ(point("D1", "P").quality, Quality::good);
  EXPECT_EQ(point("D1", "Q").quality, Quality::bad);
  EXPECT_EQ(engine->device("D1")->stats.polls_failed, failed_before);
  settle(milliseconds(3000));  // 6, 7, 8 s: not again before 8 s plus latency
  EXPECT_EQ(asked_q, 3);
  short_map = false;           // the register map grows back
  settle(milliseconds(1000));  // 9 s: asked again and answered
  EXPECT_EQ(asked_q, 4);
  EXPECT_EQ(point("D1", "Q").quality, Quality::good);
  const auto sent = links["NET1"]->sent.size();
  settle(milliseconds(1000));  // from now on read with every poll, P and Q in one request again
  EXPECT_EQ(asked_q, 5);
  EXPECT_EQ(links["NET1"]->sent.size(), sent + 1);
  EXPECT_EQ(point("D1", "Q").quality, Quality::good);
}

TEST_F(RefusedRangeFixture, APollNowAsksRefusedRangesAtOnceAndZeroMeansOnlyThen) {
  make_refusing(0);
  settle(milliseconds(1500));
  ASSERT_EQ(asked_q, 2);
  settle(milliseconds(5000));
  EXPECT_EQ(asked_q, 2);  // refused_retry_s 0: no periodic ask
  short_map = false;
  ASSERT_EQ(engine->poll_now("D1").status, 202);
  settle(milliseconds(50));
  EXPECT_EQ(asked_q, 3);
  EXPECT_EQ(point("D1", "Q").quality, Quality::good);
  EXPECT_EQ(point("D1", "P").quality, Quality::good);
}

TEST_F(EngineFixture, CommStatusFailedUntilTheNextAnswerDisabledWhenSwitchedOff) {
  settle();
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::ok);
  // D2 has no other line: its poll fails after both tries.
  links["COM1"]->unit_script[8] = {FakeReply::silent(), FakeReply::silent()};
  ASSERT_TRUE(engine->poll_now("D2").ok());
  settle();
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::failed);
  std::string m = engine->metrics_text();
  EXPECT_NE(m.find("pollux_device_up{device=\"D2\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("pollux_device_up{device=\"D1\"} 1\n"), std::string::npos);
  EXPECT_EQ(m.find("pollux_device_last_success_timestamp_seconds{device=\"D2\"} 0\n"),
            std::string::npos);  // it answered before
  // D1's primary fails but its poll moves to line 2 and is answered there: still ok.
  links["COM1"]->unit_script[7] = {FakeReply::silent(), FakeReply::silent()};
  ASSERT_TRUE(engine->poll_now("D1").ok());
  settle();
  EXPECT_EQ(engine->device("D1")->active_line, 2);
  EXPECT_EQ(engine->device("D1")->comm, CommStatus::ok);
  // An exception is an answer.
  links["COM1"]->unit_script[8] = {FakeReply::exception_code(4)};
  ASSERT_TRUE(engine->poll_now("D2").ok());
  settle();
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::ok);
  EXPECT_EQ(engine->set_channel_enabled("COM1", false).status, 200);
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::disabled);  // its only channel is off
  EXPECT_EQ(engine->device("D1")->comm, CommStatus::ok);        // NET1 still serves it
  m = engine->metrics_text();
  EXPECT_NE(m.find("pollux_device_up{device=\"D2\"} 0\n"), std::string::npos);
}

// A standby's channels are closed, yet its devices show the comm state received from the
// active node (issue 23: the standby page shows what it received), not "disabled".
TEST_F(EngineFixture, AStandbyShowsTheReceivedCommStateNotDisabled) {
  settle();
  bool released = false;
  engine->set_active(false, false, [&] { released = true; });
  settle();
  ASSERT_TRUE(released);
  EXPECT_EQ(engine->device("D1")->comm, CommStatus::ok);
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::ok);
  redundancy::DeviceRuntime failed;
  failed.id = "D2";
  failed.comm_failed = true;
  ASSERT_TRUE(engine->import_device_runtime(failed));
  EXPECT_EQ(engine->device("D2")->comm, CommStatus::failed);
  EXPECT_NE(engine->metrics_text().find("pollux_device_up{device=\"D2\"} 0\n"), std::string::npos);
}

// The sync journal reads the point change feed (sync_journal.hpp): a delta names each changed
// point once; a journal the feed lapped sends every live point.
TEST_F(EngineFixture, SyncDeltaNamesEachChangedPointOnceAndALappedJournalSendsEveryPoint) {
  settle();
  (void)engine->take_sync_changes(false);
  auto& store = engine->store();
  const auto p = *store.find("D1", "P");
  const auto r = *store.find("D2", "R");
  const auto t = ex.wall_now();
  store.set_good(r, std::int64_t{1}, t);
  store.set_good(p, std::uint64_t{1}, t);
  store.set_good(p, std::uint64_t{2}, t);
  auto delta = engine->take_sync_changes(false);
  EXPECT_EQ(delta.points, (std::vector<points::PointId>{p, r}));
  EXPECT_TRUE(engine->take_sync_changes(false).points.empty());
  for (std::uint64_t v = 0; v < engine->changes().capacity() + 10; ++v)
    store.set_good(p, v, t);
  delta = engine->take_sync_changes(false);
  EXPECT_EQ(delta.points, store.all_points());
}

}  // namespace
}  // namespace pollux::engine
