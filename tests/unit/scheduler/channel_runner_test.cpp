#include "scheduler/channel_runner.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "modbus/error.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_link.hpp"
#include "transport/errors.hpp"

namespace pollux::scheduler {
namespace {

using device::Priority;
using device::RemoteDevice;
using runtime::milliseconds;
using testlib::FakeLink;
using testlib::FakeReply;

// Settles outcomes the way the engine's DeviceSession does (device/outcome.hpp), without
// failover or points, and records what the runner reported.
struct Recorder : RunnerHandler {
  struct PollEnd {
    std::string device;
    std::uint32_t group;
    std::error_code error;
    runtime::TimePoint at;
  };
  explicit Recorder(runtime::Executor& e) : ex(e) {}
  void before_cycle(RemoteDevice& d) override { device::mark_started(d); }
  std::optional<device::Job> on_outcome(const device::MessageOutcome& o) override {
    if (o.kind == device::MessageOutcome::Kind::dropped)
      return device::settle(o.device, o, ex.now()).next;
    if (o.kind == device::MessageOutcome::Kind::ok)
      blocks.push_back(o.device.id() + "/" + std::to_string(o.job.group) + "/" +
                       std::to_string(o.job.next_block));
    if (o.answered()) good_lines.push_back(o.line);
    device::count_message(o.device, o);
    if (auto retry = take_over(o)) return retry;
    const auto settled = device::settle(o.device, o, ex.now());
    if (settled.poll_end)
      polls.push_back({o.device.id(), settled.poll_end->group, settled.poll_end->error, ex.now()});
    // Its line moved to another channel while the message was in flight: that channel's runner
    // looks again once this one has queued what it returns (as the engine does).
    if (o.device.active().path.channel != o.channel) {
      freed.push_back(o.device.id());
      if (target)
        ex.schedule_after(runtime::Duration::zero(), [this, d = &o.device] { target->kick(*d); });
    }
    return settled.next;
  }
  // A failed message the handler re-queues elsewhere (MovingHandler); none here.
  virtual std::optional<device::Job> take_over(const device::MessageOutcome&) {
    return std::nullopt;
  }
  runtime::Executor& ex;
  ChannelRunner* target = nullptr;  // the runner told about devices that moved to it
  std::vector<std::string> freed;
  std::vector<std::string> blocks;
  std::vector<int> good_lines;
  std::vector<PollEnd> polls;
};

config::Point point(std::string name, std::uint16_t address) {
  config::Point p;
  p.name = std::move(name);
  p.table = config::Table::holding;
  p.address = address;
  p.type = config::PointType::uint16;
  return p;
}

// A device on `channel` whose groups each have `blocks` read blocks (points 200 apart).
config::Device make_device(std::string id, int unit, int groups = 1, int blocks = 1,
                           config::MessageTiming timing = {}, std::string host = {}) {
  config::Device d;
  d.id = std::move(id);
  d.unit = unit;
  config::Path p;
  p.channel = "CH";
  p.timing = timing;
  p.host = std::move(host);
  p.port = p.host.empty() ? 0 : 502;
  d.comm.lines[0] = p;
  for (int g = 0; g < groups; ++g) {
    config::PollGroup pg;
    pg.name = "g" + std::to_string(g);
    for (int b = 0; b < blocks; ++b)
      pg.points.push_back(point("P" + std::to_string(b), static_cast<std::uint16_t>(b * 200)));
    d.polls.push_back(pg);
  }
  return d;
}

struct Fixture : ::testing::Test {
  void make_runner(bool concurrent = false, config::Channel ch = {}) {
    ch.id = "CH";
    auto l = std::make_unique<FakeLink>(ex, concurrent);
    link = l.get();
    runner = std::make_unique<ChannelRunner>(ex, ch, std::move(l), rec);
  }
  RemoteDevice& add(config::Device cfg) {
    devices.push_back(std::make_unique<RemoteDevice>(std::move(cfg)));
    runner->attach(devices.back().get());
    return *devices.back();
  }
  void run_until_idle() {
    for (int i = 0; i < 10000 && ex.advance_to_next_timer(); ++i) {
    }
  }
  runtime::ManualExecutor ex;
  Recorder rec{ex};
  FakeLink* link = nullptr;
  std::unique_ptr<ChannelRunner> runner;
  std::vector<std::unique_ptr<RemoteDevice>> devices;
};

TEST_F(Fixture, NeverTwoMessagesInFlightOnASerialLine) {
  make_runner();
  for (int i = 0; i < 4; ++i) {
    auto& d = add(make_device("D" + std::to_string(i), i + 1, 2, 3));
    d.enqueue_poll(0, Priority::scheduled);
    d.enqueue_poll(1, Priority::scheduled);
  }
  runner->start();
  run_until_idle();
  EXPECT_EQ(link->max_in_flight, 1u);
  EXPECT_EQ(link->sent.size(), 4u * 2 * 3);
  EXPECT_EQ(rec.polls.size(), 8u);
  for (auto& d : devices) {
    EXPECT_EQ(d->counters.messages_ok, 6u);
    EXPECT_EQ(d->counters.polls_ok, 2u);
    EXPECT_FALSE(d->busy);
  }
}

TEST_F(Fixture, DevicesAreServedRoundRobinOneMessagePerTurn) {
  make_runner();
  auto& a = add(make_device("A", 1, 1, 3));
  auto& b = add(make_device("B", 2, 1, 3));
  a.enqueue_poll(0, Priority::scheduled);
  b.enqueue_poll(0, Priority::scheduled);
  runner->start();
  run_until_idle();
  std::vector<int> units;
  for (const auto& s : link->sent)
    units.push_back(s.unit);
  EXPECT_EQ(units, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

TEST_F(Fixture, DeadDeviceCostsLineMatesAtMostTimeoutTimesAttempts) {
  make_runner();
  config::MessageTiming t;
  t.message_timeout_ms = 1000;
  t.poll_attempts = 3;
  auto& dead = add(make_device("DEAD", 1, 1, 2, t));
  auto& b = add(make_device("B", 2, 1, 1, t));
  auto& c = add(make_device("C", 3, 1, 1, t));
  link->responder = [](const testlib::SentExchange& s) {
    return s.unit == 1 ? FakeReply::silent() : FakeReply::ok();
  };
  const auto t0 = ex.now();
  dead.enqueue_poll(0, Priority::scheduled);
  b.enqueue_poll(0, Priority::scheduled);
  c.enqueue_poll(0, Priority::scheduled);
  runner->start();
  run_until_idle();
  ASSERT_EQ(rec.polls.size(), 3u);
  for (const auto& p : rec.polls) {
    if (p.device == "DEAD") {
      EXPECT_EQ(p.error, modbus::Errc::timeout);
    } else {
      EXPECT_FALSE(p.error);
      // 3 tries x 1000 ms of the dead device plus the others' own 10 ms answers.
      EXPECT_LE(p.at - t0, milliseconds(3000 + 2 * 10));
    }
  }
  EXPECT_EQ(dead.counters.timeouts, 3u);
  EXPECT_EQ(dead.counters.messages_failed, 1u);
  EXPECT_EQ(dead.counters.polls_failed, 1u);
  // The attempt stopped at its first failed message: block 2 was never sent.
  EXPECT_EQ(dead.counters.messages_ok + dead.counters.messages_failed, 1u);
  std::size_t dead_sent = 0;
  for (const auto& s : link->sent)
    dead_sent += s.unit == 1 ? 1 : 0;
  EXPECT_EQ(dead_sent, 3u);
}

TEST_F(Fixture, PollAttemptStopsAtFirstFailedMessage) {
  make_runner();
  config::MessageTiming t;
  t.poll_attempts = 1;
  auto& d = add(make_device("D", 1, 1, 3, t));
  link->script = {FakeReply::ok(), FakeReply::silent(), FakeReply::ok()};
  d.enqueue_poll(0, Priority::scheduled);
  runner->start();
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 2u);
  EXPECT_EQ(rec.blocks, std::vector<std::string>{"D/0/0"});
  ASSERT_EQ(rec.polls.size(), 1u);
  EXPECT_TRUE(rec.polls[0].error);
  EXPECT_FALSE(d.groups()[0].in_progress);
  // The next attempt starts from the first block again.
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick();
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 5u);
  EXPECT_EQ(rec.polls.back().error, std::error_code{});
}

TEST_F(Fixture, WritesBeforeOnDemandBeforeScheduled) {
  make_runner();
  auto& d = add(make_device("D", 1, 2, 1));
  d.enqueue_poll(0, Priority::scheduled);
  d.enqueue_poll(1, Priority::on_demand);
  bool written = false;
  d.enqueue_write(modbus::Request::write_register(7, 42),
                  [&](const device::WriteResult& r) { written = !r.error; });
  device::Job retry;
  retry.kind = device::JobKind::poll;
  retry.priority = Priority::failover_retry;
  retry.group = 1;
  d.queue().push(retry);
  runner->start();
  run_until_idle();
  ASSERT_EQ(link->sent.size(), 4u);
  EXPECT_EQ(link->sent[0].request.address, 200 * 0);  // the failover retry (group 1, block 0)
  EXPECT_EQ(link->sent[1].request.function, modbus::FunctionCode::write_single_register);
  EXPECT_EQ(rec.polls[1].group, 1u);  // on-demand group 1 before scheduled group 0
  EXPECT_EQ(rec.polls[2].group, 0u);
  EXPECT_TRUE(written);
}

TEST_F(Fixture, WriteIsNeverSentTwiceByDefault) {
  make_runner();
  auto& d = add(make_device("D", 1));
  link->script = {FakeReply::silent()};
  std::error_code result;
  d.enqueue_write(modbus::Request::write_register(1, 2),
                  [&](const device::WriteResult& r) { result = r.error; });
  runner->start();
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 1u);
  EXPECT_EQ(result, modbus::Errc::timeout);
  EXPECT_EQ(d.counters.timeouts, 1u);
  EXPECT_EQ(d.counters.messages_failed, 1u);
}

TEST_F(Fixture, ConfiguredWriteAttemptsAreHonoured) {
  make_runner();
  config::MessageTiming t;
  t.write_attempts = 2;
  auto& d = add(make_device("D", 1, 1, 1, t));
  link->script = {FakeReply::silent(), FakeReply::ok()};
  std::error_code result = modbus::Errc::timeout;
  d.enqueue_write(modbus::Request::write_register(1, 2),
                  [&](const device::WriteResult& r) { result = r.error; });
  runner->start();
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 2u);
  EXPECT_FALSE(result);
}

TEST_F(Fixture, EveryMessageEndsOnceAndEveryFailedTryCountsOneCause) {
  make_runner();
  config::MessageTiming t;
  t.poll_attempts = 3;
  auto& d = add(make_device("D", 1, 4, 1, t));
  link->script = {// message 1: crc, framing, ok
                  FakeReply::fail(modbus::Errc::crc_error),
                  FakeReply::fail(modbus::Errc::wrong_unit), FakeReply::ok(),
                  // message 2: exception answer (a valid answer)
                  FakeReply::exception_code(2),
                  // message 3: three failures: timeout, reset, lrc
                  FakeReply::silent(), FakeReply::fail(modbus::Errc::connection_reset),
                  FakeReply::fail(modbus::Errc::lrc_error),
                  // message 4: ok
                  FakeReply::ok()};
  for (std::uint32_t g = 0; g < 4; ++g)
    d.enqueue_poll(g, Priority::scheduled);
  runner->start();
  run_until_idle();
  EXPECT_EQ(d.counters.messages_ok, 2u);
  EXPECT_EQ(d.counters.exceptions, 1u);
  EXPECT_EQ(d.counters.messages_failed, 1u);
  EXPECT_EQ(d.counters.timeouts, 1u);
  EXPECT_EQ(d.counters.crc_errors, 2u);
  EXPECT_EQ(d.counters.framing_errors, 2u);
  EXPECT_EQ(d.counters.polls_ok, 2u);
  EXPECT_EQ(d.counters.polls_failed, 2u);
  EXPECT_EQ(rec.polls[1].error.category(), modbus::exception_category());
  EXPECT_EQ(rec.good_lines.back(), 1);
  EXPECT_TRUE(d.last_success_wall);
}

TEST_F(Fixture, MessageDelayPrecedesEveryTry) {
  make_runner();
  config::MessageTiming t;
  t.message_delay_ms = 50;
  t.poll_attempts = 2;
  t.message_timeout_ms = 100;
  auto& d = add(make_device("D", 1, 1, 1, t));
  link->script = {FakeReply::silent(), FakeReply::ok()};
  const auto t0 = ex.now();
  d.enqueue_poll(0, Priority::scheduled);
  runner->start();
  run_until_idle();
  ASSERT_EQ(link->sent.size(), 2u);
  EXPECT_EQ(link->sent[0].at - t0, milliseconds(50));
  EXPECT_EQ(link->sent[1].at - t0, milliseconds(50 + 100 + 50));
}

TEST_F(Fixture, TcpMultiPointRunsDevicesConcurrentlyButOnePerConnection) {
  make_runner(true);
  // A and B behind one gateway (same host:port), C elsewhere.
  auto& a = add(make_device("A", 1, 1, 2, {}, "10.0.0.1"));
  auto& b = add(make_device("B", 2, 1, 2, {}, "10.0.0.1"));
  auto& c = add(make_device("C", 3, 1, 2, {}, "10.0.0.2"));
  a.enqueue_poll(0, Priority::scheduled);
  b.enqueue_poll(0, Priority::scheduled);
  c.enqueue_poll(0, Priority::scheduled);
  runner->start();
  ex.advance(milliseconds(1));
  EXPECT_EQ(link->in_flight, 2u);  // one per connection
  run_until_idle();
  EXPECT_EQ(link->max_in_flight, 2u);
  EXPECT_EQ(link->sent.size(), 6u);
  EXPECT_EQ(rec.polls.size(), 3u);
}

TEST_F(Fixture, DownLinkFailsQueuedPollsAtOnceAndRecovers) {
  make_runner();
  auto& d = add(make_device("D", 1));
  runner->start();
  link->set_status(transport::LinkStatus::down);
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick();
  run_until_idle();
  ASSERT_EQ(rec.polls.size(), 1u);
  EXPECT_EQ(rec.polls[0].error, transport::Errc::channel_down);
  EXPECT_EQ(d.counters.timeouts, 1u);
  EXPECT_TRUE(link->sent.empty());
  link->set_status(transport::LinkStatus::ok);
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick();
  run_until_idle();
  EXPECT_FALSE(rec.polls.back().error);
}

TEST_F(Fixture, AutoDemotionAfterConsecutiveFailedPolls) {
  config::Channel ch;
  ch.demote_after_failed_polls = 2;
  ch.demote_for_ms = 5000;
  make_runner(false, ch);
  config::MessageTiming t;
  t.poll_attempts = 1;
  auto& d = add(make_device("D", 1, 1, 1, t));
  link->responder = [](const testlib::SentExchange&) { return FakeReply::silent(); };
  runner->start();
  d.enqueue_poll(0, Priority::scheduled);
  run_until_idle();
  EXPECT_FALSE(d.demoted_until);
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick();
  run_until_idle();
  ASSERT_TRUE(d.demoted_until);
  EXPECT_EQ(*d.demoted_until - ex.now(), milliseconds(5000));
  link->responder = nullptr;
  d.enqueue_poll(0, Priority::on_demand);
  runner->kick();
  run_until_idle();
  EXPECT_FALSE(d.demoted_until);  // a good poll ends the demotion
}

TEST_F(Fixture, InactiveLineDevicesAreNotServed) {
  make_runner();
  auto cfg = make_device("D", 1);
  config::Path other;
  other.channel = "OTHER";
  cfg.comm.lines[1] = other;
  auto& d = add(cfg);
  d.active_line = 2;
  d.enqueue_poll(0, Priority::scheduled);
  runner->start();
  run_until_idle();
  EXPECT_TRUE(link->sent.empty());
  d.active_line = 1;
  runner->kick();
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 1u);
}

TEST_F(Fixture, DeviceMovedWhileInFlightIsHandedBackWhenFree) {
  make_runner();
  auto cfg = make_device("D", 1);
  config::Path other;
  other.channel = "OTHER";
  cfg.comm.lines[1] = other;
  auto& d = add(cfg);
  d.enqueue_poll(0, Priority::scheduled);
  runner->start();
  ex.advance(milliseconds(1));
  ASSERT_TRUE(d.busy);
  d.active_line = 2;  // an operator or the failover policy moved it meanwhile
  run_until_idle();
  EXPECT_FALSE(d.busy);
  EXPECT_EQ(rec.freed, std::vector<std::string>{"D"});
}

// ---- the ready list (performance issue: O(1) per message however many devices) ----

// A second channel "CH2" next to the fixture's "CH", sharing the recorder.
struct TwoChannels : Fixture {
  void SetUp() override {
    make_runner();
    config::Channel ch;
    ch.id = "CH2";
    auto l = std::make_unique<FakeLink>(ex, false);
    link2 = l.get();
    runner2 = std::make_unique<ChannelRunner>(ex, ch, std::move(l), rec);
  }
  RemoteDevice& add_both(std::string id) {
    auto cfg = make_device(std::move(id), 1);
    config::Path other;
    other.channel = "CH2";
    cfg.comm.lines[1] = other;
    auto& d = add(cfg);
    runner2->attach(&d);
    return d;
  }
  FakeLink* link2 = nullptr;
  std::unique_ptr<ChannelRunner> runner2;
};

TEST_F(TwoChannels, DeviceMovedBetweenChannelsWhileQueuedIsServedExactlyOnce) {
  auto& d = add_both("D");
  runner->start();
  runner2->start();
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick(d);  // listed on CH
  d.active_line = 2;
  runner2->kick(d);  // moved to CH2 before CH served it
  d.active_line = 1;
  runner->kick(d);  // and back: CH holds a stale entry and a new one
  EXPECT_EQ(runner->ready_entries(), 2u);
  run_until_idle();
  EXPECT_EQ(link->sent.size() + link2->sent.size(), 1u);
  EXPECT_EQ(link->sent.size(), 1u);
  ASSERT_EQ(rec.polls.size(), 1u);
  EXPECT_EQ(runner->ready_entries(), 0u);
  EXPECT_EQ(runner2->ready_entries(), 0u);
  // Later work is still served (the device's mark was released).
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick(d);
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 2u);
}

TEST_F(TwoChannels, DeviceMovedAwayWhileQueuedIsServedByItsNewChannelOnly) {
  auto& d = add_both("D");
  runner->start();
  runner2->start();
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick(d);
  d.active_line = 2;
  runner2->kick(d);
  run_until_idle();
  EXPECT_TRUE(link->sent.empty());
  EXPECT_EQ(link2->sent.size(), 1u);
  EXPECT_EQ(rec.polls.size(), 1u);
}

// A handler that moves a failing device to line 2 (another channel) and re-queues the message
// there, as the engine does under failover rule 4.
struct MovingHandler : Recorder {
  using Recorder::Recorder;
  std::optional<device::Job> take_over(const device::MessageOutcome& o) override {
    if (o.kind != device::MessageOutcome::Kind::failed || o.line != 1) return std::nullopt;
    o.device.active_line = 2;
    device::Job retry = o.job;
    retry.priority = Priority::failover_retry;
    if (target)
      ex.schedule_after(runtime::Duration::zero(), [this, d = &o.device] { target->kick(*d); });
    return retry;
  }
};

TEST(ReadyList, MessageRequeuedOnAnotherChannelByTheHandlerIsServedThereOnce) {
  runtime::ManualExecutor ex;
  MovingHandler h(ex);
  config::Channel c1;
  c1.id = "CH";
  config::Channel c2;
  c2.id = "CH2";
  auto l1 = std::make_unique<FakeLink>(ex);
  auto l2 = std::make_unique<FakeLink>(ex);
  FakeLink* link1 = l1.get();
  FakeLink* link2 = l2.get();
  ChannelRunner r1(ex, c1, std::move(l1), h);
  ChannelRunner r2(ex, c2, std::move(l2), h);
  h.target = &r2;
  config::MessageTiming t;
  t.poll_attempts = 1;
  auto cfg = make_device("D", 1, 1, 1, t);
  config::Path other;
  other.channel = "CH2";
  cfg.comm.lines[1] = other;
  RemoteDevice d(cfg);
  r1.attach(&d);
  r2.attach(&d);
  link1->script = {FakeReply::silent()};
  r1.start();
  r2.start();
  d.enqueue_poll(0, Priority::scheduled);
  r1.kick(d);
  for (int i = 0; i < 1000 && ex.advance_to_next_timer(); ++i) {
  }
  EXPECT_EQ(link1->sent.size(), 1u);
  EXPECT_EQ(link2->sent.size(), 1u);
  ASSERT_EQ(h.polls.size(), 1u);
  EXPECT_FALSE(h.polls[0].error);
  EXPECT_EQ(r1.ready_entries(), 0u);
  EXPECT_EQ(r2.ready_entries(), 0u);
  r1.detach(&d);
  r2.detach(&d);
}

TEST_F(Fixture, DetachedWhileQueuedIsNotServedAndReattachedIsServedOnce) {
  make_runner();
  auto& d = add(make_device("D", 1));
  runner->start();
  d.enqueue_poll(0, Priority::scheduled);
  runner->kick(d);
  EXPECT_EQ(runner->ready_entries(), 1u);
  runner->detach(&d);
  EXPECT_EQ(runner->ready_entries(), 0u);
  run_until_idle();
  EXPECT_TRUE(link->sent.empty());
  runner->attach(&d);
  runner->attach(&d);  // attaching twice lists it once
  EXPECT_EQ(runner->ready_entries(), 1u);
  run_until_idle();
  EXPECT_EQ(link->sent.size(), 1u);
  EXPECT_EQ(rec.polls.size(), 1u);
}

TEST_F(Fixture, FinishedMessagesServeOnlyDevicesWithWork) {
  make_runner(true);
  std::vector<RemoteDevice*> ds;
  for (int i = 0; i < 200; ++i)
    ds.push_back(
        &add(make_device("D" + std::to_string(i), 1, 1, 1, {}, "10.0.0." + std::to_string(i))));
  runner->start();
  run_until_idle();
  EXPECT_EQ(runner->ready_entries(), 0u);  // nothing queued: nothing listed
  ds[7]->enqueue_poll(0, Priority::scheduled);
  runner->kick(*ds[7]);
  ds[3]->enqueue_poll(0, Priority::scheduled);
  runner->kick(*ds[3]);
  EXPECT_EQ(runner->ready_entries(), 2u);
  ex.advance(milliseconds(1));
  EXPECT_EQ(runner->in_flight(), 2u);
  EXPECT_EQ(runner->ready_entries(), 0u);
  run_until_idle();
  EXPECT_EQ(runner->in_flight(), 0u);
  ASSERT_EQ(link->sent.size(), 2u);
  EXPECT_EQ(link->sent[0].wire, "10.0.0.7:502");  // arrival order, not attach order
  EXPECT_EQ(link->sent[1].wire, "10.0.0.3:502");
}

TEST_F(Fixture, DeviceThatCannotStartKeepsItsPlaceAheadOfLaterArrivals) {
  make_runner(true);
  // A and B share one gateway connection; C is elsewhere.
  auto& a = add(make_device("A", 1, 1, 2, {}, "10.0.0.1"));
  auto& b = add(make_device("B", 2, 1, 1, {}, "10.0.0.1"));
  auto& c = add(make_device("C", 3, 1, 1, {}, "10.0.0.2"));
  runner->start();
  a.enqueue_poll(0, Priority::scheduled);
  runner->kick(a);
  b.enqueue_poll(0, Priority::scheduled);
  runner->kick(b);
  ex.advance(milliseconds(1));  // A sent; B waits for the connection
  c.enqueue_poll(0, Priority::scheduled);
  runner->kick(c);
  run_until_idle();
  std::vector<int> units;
  for (const auto& s : link->sent)
    units.push_back(s.unit);
  // B goes before A's second block: it was waiting first.
  EXPECT_EQ(units, (std::vector<int>{1, 3, 2, 1}));
}

}  // namespace
}  // namespace pollux::scheduler
