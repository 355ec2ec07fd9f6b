// Settling a message's end on its device (device/outcome.hpp): a poll attempt goes block by
// block and ends at its first failed message; counters and comm follow api.md DEVICE.stats.
#include "device/outcome.hpp"

#include <gtest/gtest.h>

#include "device_configs.hpp"
#include "modbus/error.hpp"
#include "transport/errors.hpp"

namespace pollux::device {
namespace {

using Kind = MessageOutcome::Kind;

// `blocks` points 200 registers apart: one read block each.
config::Device make_device(int blocks) {
  std::vector<config::Point> points;
  for (int b = 0; b < blocks; ++b)
    points.push_back(testing::point("P" + std::to_string(b), config::Table::holding,
                                    static_cast<std::uint16_t>(b * 200),
                                    config::PointType::uint16));
  return testing::one_group_device("CH", 1, std::move(points));
}

MessageOutcome outcome(RemoteDevice& d, Job job, Kind kind, std::error_code error = {}) {
  return MessageOutcome{.device = d,
                        .job = job,
                        .line = 1,
                        .kind = kind,
                        .error = error,
                        .response = nullptr,
                        .at = {},
                        .wall = runtime::WallTime(std::chrono::seconds(100)),
                        .channel = "CH",
                        .demotion = {}};
}

Job poll_job(std::uint32_t block = 0) {
  Job j;
  j.next_block = block;
  return j;
}

TEST(Outcome, APollGoesOnBlockByBlockAndEndsWellAfterTheLast) {
  RemoteDevice d(make_device(2));
  d.enqueue_poll(0, Priority::scheduled);
  mark_started(d);
  EXPECT_TRUE(d.groups()[0].in_progress);
  auto o = outcome(d, poll_job(0), Kind::ok);
  count_message(d, o);
  Settled s = settle(d, o, {});
  ASSERT_TRUE(s.next);
  EXPECT_EQ(s.next->next_block, 1u);
  EXPECT_FALSE(s.poll_end);
  EXPECT_TRUE(d.groups()[0].in_progress);
  const auto last = outcome(d, *s.next, Kind::ok);
  count_message(d, last);
  s = settle(d, last, {});
  EXPECT_FALSE(s.next);
  ASSERT_TRUE(s.poll_end);
  EXPECT_FALSE(s.poll_end->error);
  EXPECT_FALSE(d.groups()[0].in_progress);
  EXPECT_EQ(d.counters.messages_ok, 2u);
  EXPECT_EQ(d.counters.polls_ok, 1u);
  EXPECT_EQ(d.line(1)->counters.ok, 2u);
  EXPECT_EQ(d.last_success_wall, last.wall);
}

TEST(Outcome, AFailedMessageEndsTheAttemptAndMarksCommFailed) {
  RemoteDevice d(make_device(3));
  const auto o = outcome(d, poll_job(1), Kind::failed, make_error_code(modbus::Errc::timeout));
  count_message(d, o);
  const Settled s = settle(d, o, {});
  EXPECT_FALSE(s.next);
  ASSERT_TRUE(s.poll_end);
  EXPECT_EQ(s.poll_end->failed_block, 1u);
  EXPECT_EQ(d.counters.messages_failed, 1u);
  EXPECT_EQ(d.counters.polls_failed, 1u);
  EXPECT_EQ(d.line(1)->counters.failed, 1u);
  EXPECT_TRUE(d.comm_failed);
}

TEST(Outcome, AnExceptionFailsTheAttemptButTheDeviceIsReachable) {
  RemoteDevice d(make_device(1));
  d.comm_failed = true;
  const auto o = outcome(d, poll_job(), Kind::exception,
                         make_error_code(modbus::ExceptionCode::illegal_function));
  count_message(d, o);
  const Settled s = settle(d, o, {});
  ASSERT_TRUE(s.poll_end);
  EXPECT_TRUE(s.poll_end->error);
  EXPECT_FALSE(d.comm_failed);  // an answer clears it, and an exception does not set it
  EXPECT_EQ(d.counters.exceptions, 1u);
  EXPECT_EQ(d.counters.polls_failed, 1u);
}

TEST(Outcome, DemotionAfterConsecutiveFailedPollsAndAGoodPollEndsIt) {
  RemoteDevice d(make_device(1));
  auto o = outcome(d, poll_job(), Kind::failed, make_error_code(modbus::Errc::timeout));
  o.demotion = {2, 5000};
  const runtime::TimePoint now{std::chrono::seconds(10)};
  settle(d, o, now);
  EXPECT_FALSE(d.demoted_until);
  settle(d, o, now);
  ASSERT_TRUE(d.demoted_until);
  EXPECT_EQ(*d.demoted_until, now + runtime::milliseconds(5000));
  settle(d, outcome(d, poll_job(), Kind::ok), now);
  EXPECT_FALSE(d.demoted_until);
  EXPECT_EQ(d.consecutive_failed_polls, 0);
}

TEST(Outcome, AWriteCompletesOnceWithItsResultAndADroppedOneWithStopped) {
  RemoteDevice d(make_device(1));
  std::vector<std::error_code> results;
  const auto req = modbus::Request::write_register(10, 5);
  d.enqueue_write(req, [&](const WriteResult& r) { results.push_back(r.error); });
  d.enqueue_write(req, [&](const WriteResult& r) { results.push_back(r.error); });
  ASSERT_EQ(d.queue().size(), 2u);
  Job w1 = d.queue().front();
  d.queue().pop_front();
  Job w2 = d.queue().front();
  d.queue().pop_front();
  EXPECT_FALSE(settle(d, outcome(d, w1, Kind::ok), {}).next);
  EXPECT_FALSE(settle(d, outcome(d, w2, Kind::dropped), {}).next);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0]);
  EXPECT_EQ(results[1], transport::Errc::stopped);
}

TEST(Outcome, ADroppedPollIsNoLongerInProgressAndCountsNothing) {
  RemoteDevice d(make_device(1));
  d.enqueue_poll(0, Priority::scheduled);
  mark_started(d);
  const auto o = outcome(d, poll_job(), Kind::dropped);
  count_message(d, o);
  const Settled s = settle(d, o, {});
  EXPECT_FALSE(s.next);
  EXPECT_FALSE(s.poll_end);
  EXPECT_FALSE(d.groups()[0].in_progress);
  EXPECT_EQ(d.counters.polls_failed + d.counters.polls_ok + d.counters.messages_failed, 0u);
}

TEST(Outcome, NothingToSendEndsAnEmptyGroupWellWithoutCountingAMessage) {
  config::Device cfg = make_device(0);
  RemoteDevice d(cfg);
  const auto o = outcome(d, poll_job(), Kind::nothing_to_send);
  count_message(d, o);
  const Settled s = settle(d, o, {});
  ASSERT_TRUE(s.poll_end);
  EXPECT_FALSE(s.poll_end->error);
  EXPECT_EQ(d.counters.messages_ok, 0u);
  EXPECT_EQ(d.counters.polls_ok, 1u);
}

}  // namespace
}  // namespace pollux::device
