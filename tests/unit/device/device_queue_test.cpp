#include "device/device_queue.hpp"

#include <gtest/gtest.h>

#include "device/read_blocks.hpp"
#include "device/remote_device.hpp"
#include "device_configs.hpp"

namespace pollux::device {
namespace {

Job poll(std::uint32_t group, Priority p) {
  Job j;
  j.kind = JobKind::poll;
  j.priority = p;
  j.group = group;
  return j;
}

TEST(DeviceQueue, FailoverRetriesThenWritesThenOnDemandThenScheduled) {
  DeviceQueue q;
  q.push(poll(1, Priority::scheduled));
  q.push(poll(2, Priority::on_demand));
  Job w;
  w.kind = JobKind::write;
  w.priority = Priority::write;
  w.write_id = 7;
  q.push(w);
  q.push(poll(3, Priority::failover_retry));
  q.push(poll(4, Priority::scheduled));
  std::vector<std::uint32_t> order;
  while (!q.empty()) {
    const Job j = q.front();
    order.push_back(j.kind == JobKind::write ? 100 + static_cast<std::uint32_t>(j.write_id)
                                             : j.group);
    q.pop_front();
  }
  EXPECT_EQ(order, (std::vector<std::uint32_t>{3, 107, 2, 1, 4}));
}

TEST(DeviceQueue, PushFrontGoesAheadOfItsPriority) {
  DeviceQueue q;
  q.push(poll(1, Priority::scheduled));
  q.push_front(poll(2, Priority::scheduled));
  EXPECT_EQ(q.front().group, 2u);
  EXPECT_TRUE(q.has_poll(1));
  EXPECT_FALSE(q.has_poll(9));
  EXPECT_EQ(q.size(Priority::scheduled), 2u);
}

config::Device make_device() {
  using testing::point;
  return testing::one_group_device(
      "COM1", 3,
      {point("A", config::Table::holding, 0, config::PointType::float32),
       point("B", config::Table::holding, 4, config::PointType::uint16),
       point("C", config::Table::holding, 100, config::PointType::uint16),
       point("D", config::Table::coil, 0, config::PointType::boolean),
       point("E", config::Table::coil, 5, config::PointType::boolean)});
}

TEST(ReadBlocks, OneRequestPerPlannedBlockIllegalOnesLeftOut) {
  RemoteDevice d(make_device());
  auto& g = d.groups()[0];
  ASSERT_EQ(g.blocks.size(), g.plan.blocks.size());
  // coil 0..5 in one read; holding 0..4 merged; holding 100 alone.
  ASSERT_EQ(g.blocks.size(), 3u);
  for (std::size_t i = 0; i < g.blocks.size(); ++i) {
    EXPECT_EQ(g.blocks[i].plan_id, g.plan.blocks[i].id);
    EXPECT_EQ(g.blocks[i].request, g.plan.blocks[i].request());
  }
  g.plan.blocks[2].illegal_address = true;
  rebuild_blocks(g);
  EXPECT_EQ(g.blocks.size(), 2u);
}

TEST(RemoteDevice, EnqueuePollDeduplicatesAndWritesCompleteOnce) {
  RemoteDevice d(make_device());
  EXPECT_TRUE(d.enqueue_poll(0, Priority::scheduled));
  EXPECT_FALSE(d.enqueue_poll(0, Priority::scheduled));
  int calls = 0;
  d.enqueue_write(modbus::Request::write_register(0, 5), [&](const WriteResult& r) {
    ++calls;
    EXPECT_TRUE(r.error);
  });
  EXPECT_EQ(d.queue().size(), 2u);
  d.fail_all(std::make_error_code(std::errc::operation_canceled));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(d.queue().empty());
  EXPECT_EQ(d.line(1)->target.unit, 3);
  EXPECT_EQ(d.line(2), nullptr);
  EXPECT_TRUE(d.eligible(1));
  EXPECT_FALSE(d.eligible(2));
}

}  // namespace
}  // namespace pollux::device
