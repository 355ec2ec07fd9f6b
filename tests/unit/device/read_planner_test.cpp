#include "device/read_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "modbus/error.hpp"

namespace pollux::device {
namespace {

using config::PointType;
using config::Table;

config::Point pt(std::string name, Table table, std::uint16_t address,
                 PointType type = PointType::uint16, int length = 0) {
  config::Point p;
  p.name = std::move(name);
  p.table = table;
  p.address = address;
  p.type = type;
  p.length = length;
  return p;
}

// "table start+count" per block, for one-line expectations.
std::vector<std::string> shape(const ReadPlan& plan) {
  std::vector<std::string> out;
  for (const auto& b : plan.blocks) {
    out.push_back(std::string(config::to_string(b.table)) + " " + std::to_string(b.start) + "+" +
                  std::to_string(b.count));
  }
  return out;
}
using Shape = std::vector<std::string>;

TEST(ReadPlanner, ConfigExampleOneBlockPerTable) {
  config::PollGroup g;
  g.points = {pt("PRESSURE", Table::holding, 0, PointType::float32), pt("FLOW", Table::input, 10),
              pt("TOTAL", Table::holding, 20, PointType::uint32),
              pt("PUMP_RUN", Table::coil, 0, PointType::boolean),
              pt("DOOR", Table::discrete, 3, PointType::boolean)};
  // PRESSURE ends at 2, TOTAL starts at 20: a gap of 18 registers.
  EXPECT_EQ(shape(plan_reads(g, 16, 64)),
            (Shape{"coil 0+1", "discrete 3+1", "input 10+1", "holding 0+2", "holding 20+2"}));
  auto plan = plan_reads(g, 18, 64);
  EXPECT_EQ(shape(plan), (Shape{"coil 0+1", "discrete 3+1", "input 10+1", "holding 0+22"}));
  EXPECT_EQ(plan.blocks[3].request().function, modbus::FunctionCode::read_holding_registers);
  EXPECT_EQ(plan.blocks[0].function(), modbus::FunctionCode::read_coils);
  EXPECT_EQ(plan.blocks[1].function(), modbus::FunctionCode::read_discrete_inputs);
  EXPECT_EQ(plan.blocks[2].function(), modbus::FunctionCode::read_input_registers);
  const auto& hold = plan.blocks[3].points;
  ASSERT_EQ(hold.size(), 2u);
  EXPECT_EQ(hold[0], (PlannedPoint{0, 0, 2}));
  EXPECT_EQ(hold[1], (PlannedPoint{2, 20, 2}));
}

TEST(ReadPlanner, GapExactlyMaxGapMergesOneMoreSplits) {
  config::PollGroup g;
  g.points = {pt("A", Table::holding, 0), pt("B", Table::holding, 17)};  // gap 16
  EXPECT_EQ(shape(plan_reads(g, 16, 64)), Shape{"holding 0+18"});
  EXPECT_EQ(shape(plan_reads(g, 15, 64)), (Shape{"holding 0+1", "holding 17+1"}));
  g.points = {pt("C", Table::coil, 0, PointType::boolean),
              pt("D", Table::coil, 65, PointType::boolean)};  // gap 64
  EXPECT_EQ(shape(plan_reads(g, 16, 64)), Shape{"coil 0+66"});
  EXPECT_EQ(shape(plan_reads(g, 16, 63)), (Shape{"coil 0+1", "coil 65+1"}));
  // Negative gaps behave as 0: adjacent ranges still merge.
  g.points = {pt("E", Table::input, 0), pt("F", Table::input, 1), pt("G", Table::input, 3)};
  EXPECT_EQ(shape(plan_reads(g, -5, -5)), (Shape{"input 0+2", "input 3+1"}));
}

TEST(ReadPlanner, BlocksStayWithinProtocolLimits) {
  config::PollGroup g;
  for (int a = 0; a < 130; ++a)
    g.points.push_back(pt("R" + std::to_string(a), Table::holding, static_cast<std::uint16_t>(a)));
  EXPECT_EQ(shape(plan_reads(g, 16, 64)), (Shape{"holding 0+125", "holding 125+5"}));
  // A two-register point is never cut across blocks.
  g.points = {pt("A", Table::input, 0), pt("B", Table::input, 124, PointType::float32)};
  EXPECT_EQ(shape(plan_reads(g, 200, 64)), (Shape{"input 0+1", "input 124+2"}));
  g.points = {pt("C0", Table::coil, 0, PointType::boolean),
              pt("C1", Table::coil, 1999, PointType::boolean),
              pt("C2", Table::coil, 2000, PointType::boolean)};
  EXPECT_EQ(shape(plan_reads(g, 16, 5000)), (Shape{"coil 0+2000", "coil 2000+1"}));
  for (const auto& b : plan_reads(g, 16, 5000).blocks) {
    modbus::PduBuffer pdu;
    EXPECT_FALSE(modbus::encode_request(b.request(), pdu));
  }
}

TEST(ReadPlanner, TooWidePointsAreReportedNotPlanned) {
  config::PollGroup g;
  g.points = {pt("LONG", Table::holding, 0, PointType::string, 126), pt("OK", Table::holding, 200),
              pt("EDGE", Table::holding, 65535, PointType::uint32)};
  auto plan = plan_reads(g, 16, 64);
  EXPECT_EQ(shape(plan), Shape{"holding 200+1"});
  EXPECT_EQ(plan.unplannable, (std::vector<std::uint32_t>{0, 2}));
}

TEST(ReadPlanner, OverlappingPointsShareABlock) {
  config::PollGroup g;
  g.points = {pt("WORD", Table::holding, 10), pt("DWORD", Table::holding, 10, PointType::int32),
              pt("ALIAS", Table::holding, 11)};
  auto plan = plan_reads(g, 0, 0);
  EXPECT_EQ(shape(plan), Shape{"holding 10+2"});
  EXPECT_EQ(plan.blocks[0].points.size(), 3u);
}

TEST(ReadPlanner, DeterministicWhateverTheGroupOrder) {
  config::PollGroup g;
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    const Table t = static_cast<Table>(rng() % 4);
    g.points.push_back(pt("P" + std::to_string(i), t, static_cast<std::uint16_t>(rng() % 400),
                          config::is_bit_table(t) ? PointType::boolean : PointType::uint32));
  }
  const auto reference = plan_reads(g, 8, 32);
  EXPECT_EQ(plan_reads(g, 8, 32).blocks, reference.blocks);
  for (int round = 0; round < 5; ++round) {
    auto shuffled = g;
    std::shuffle(shuffled.points.begin(), shuffled.points.end(), rng);
    EXPECT_EQ(shape(plan_reads(shuffled, 8, 32)), shape(reference));
  }
  // Every point is covered exactly once and lies inside its block.
  std::vector<int> seen(g.points.size());
  for (const auto& b : reference.blocks) {
    for (const auto& p : b.points) {
      ++seen[p.point];
      EXPECT_EQ(b.start + p.offset, g.points[p.point].address);
      EXPECT_LE(p.offset + p.width, b.count);
    }
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

// A response for `block` built by the server-side encoder from a register image.
struct Answer {
  std::vector<std::uint8_t> bytes;
  modbus::ResponseView view;
};

Answer answer(const PlanBlock& block, const std::map<int, std::uint16_t>& image) {
  std::vector<std::uint16_t> data(block.count);
  for (int i = 0; i < block.count; ++i) {
    auto it = image.find(block.start + i);
    data[static_cast<std::size_t>(i)] = it == image.end() ? 0 : it->second;
  }
  modbus::PduBuffer pdu;
  EXPECT_FALSE(modbus::encode_response(block.request(), data, pdu));
  Answer a{{pdu.span().begin(), pdu.span().end()}, {}};
  EXPECT_FALSE(modbus::decode_response(block.request(), a.bytes, a.view));
  return a;
}

TEST(ReadPlanner, ResponsesMapBackToPointValues) {
  config::PollGroup g;
  g.points = {pt("F", Table::holding, 100, PointType::float32), pt("S", Table::holding, 104),
              pt("STR", Table::holding, 106, PointType::string, 2),
              pt("SCALED", Table::holding, 110, PointType::int16),
              pt("COIL", Table::coil, 7, PointType::boolean)};
  g.points[3].scale = 0.5;
  const std::map<int, std::uint16_t> holding = {{100, 0x42F6}, {101, 0xE979}, {104, 42},
                                                {106, 0x4F4B}, {107, 0x2100}, {110, 0xFFFE}};
  auto plan = plan_reads(g, 16, 64);
  ASSERT_EQ(shape(plan), (Shape{"coil 7+1", "holding 100+11"}));
  std::map<std::uint32_t, points::Value> got;
  auto coil = answer(plan.blocks[0], {{7, 1}});
  for_each_value(g, plan.blocks[0], coil.view,
                 [&](std::uint32_t i, points::Value v) { got[i] = v; });
  auto regs = answer(plan.blocks[1], holding);
  for_each_value(g, plan.blocks[1], regs.view,
                 [&](std::uint32_t i, points::Value v) { got[i] = v; });
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], points::Value{123.456});  // a float32 reads as its shortest decimal
  EXPECT_EQ(got[1], points::Value{std::uint64_t{42}});
  EXPECT_EQ(got[2], points::Value{std::string("OK!")});
  EXPECT_EQ(got[3], points::Value{-1.0});
  EXPECT_EQ(got[4], points::Value{true});
}

TEST(ReadPlanner, ExceptionTwoSplitsAndThePlanRemembers) {
  config::PollGroup g;
  for (std::uint16_t a : {0, 5, 10, 15})
    g.points.push_back(pt("P" + std::to_string(a), Table::holding, a));
  auto plan = plan_reads(g, 16, 64);
  ASSERT_EQ(shape(plan), Shape{"holding 0+16"});
  const auto first = plan.blocks[0].id;
  ASSERT_TRUE(split_on_illegal_address(plan, first));
  EXPECT_EQ(shape(plan), (Shape{"holding 0+6", "holding 10+6"}));
  EXPECT_EQ(plan.find(first), nullptr);
  EXPECT_EQ(plan.splits, 1u);
  ASSERT_TRUE(split_on_illegal_address(plan, plan.blocks[0].id));
  EXPECT_EQ(shape(plan), (Shape{"holding 0+1", "holding 5+1", "holding 10+6"}));
  EXPECT_EQ(plan.blocks[1].points[0], (PlannedPoint{1, 0, 1}));
  // A single address cannot be split: it is marked as the bad one.
  const auto single = plan.blocks[1].id;
  EXPECT_FALSE(split_on_illegal_address(plan, single));
  EXPECT_TRUE(plan.find(single)->illegal_address);
  EXPECT_FALSE(split_on_illegal_address(plan, 9999));
}

// A device whose register 23 does not exist: every read that covers it answers exception 02.
// Polling with splits must converge to a plan where every other point reads good.
TEST(ReadPlanner, OneBadAddressCannotBlankTheGroup) {
  config::PollGroup g;
  for (std::uint16_t a = 0; a < 40; a += 3)
    g.points.push_back(pt("P" + std::to_string(a), Table::input, a));
  g.points.push_back(pt("BAD", Table::input, 23, PointType::int16));
  auto plan = plan_reads(g, 16, 64);
  ASSERT_EQ(plan.request_count(), 1u);
  std::map<std::uint32_t, points::Value> good;
  int polls = 0;
  for (; polls < 20; ++polls) {
    bool any_exception = false;
    auto blocks = plan.blocks;  // a poll sends the plan as it stood when the poll began
    for (const auto& b : blocks) {
      const bool covers_bad = b.start <= 23 && 23 < b.start + b.count;
      if (covers_bad) {
        any_exception = true;
        split_on_illegal_address(plan, b.id);
        continue;
      }
      std::map<int, std::uint16_t> image;
      for (int a = 0; a < 60; ++a)
        image[a] = static_cast<std::uint16_t>(a * 10);
      auto ans = answer(b, image);
      for_each_value(g, b, ans.view, [&](std::uint32_t i, points::Value v) { good[i] = v; });
    }
    if (!any_exception) break;
    if (std::any_of(plan.blocks.begin(), plan.blocks.end(),
                    [](const PlanBlock& b) { return b.illegal_address; })) {
      break;
    }
  }
  EXPECT_LE(polls, 6);
  // Every good point read its value; only BAD (index 14) is missing.
  EXPECT_EQ(good.size(), g.points.size() - 1);
  EXPECT_EQ(good.count(14), 0u);
  EXPECT_EQ(good[1], points::Value{std::uint64_t{30}});
  const auto bad = std::find_if(plan.blocks.begin(), plan.blocks.end(),
                                [](const PlanBlock& b) { return b.start == 23; });
  ASSERT_NE(bad, plan.blocks.end());
  EXPECT_TRUE(bad->illegal_address);
  EXPECT_GT(plan.request_count(), 1u);
}

TEST(ReadPlanner, WritesUseFc5Fc6Fc16) {
  modbus::Request r;
  auto coil = pt("PUMP", Table::coil, 4, PointType::boolean);
  ASSERT_FALSE(plan_write(coil, points::Value{true}, r));
  EXPECT_EQ(r, modbus::Request::write_coil(4, true));
  auto reg = pt("SP", Table::holding, 9, PointType::uint16);
  reg.scale = 0.1;
  ASSERT_FALSE(plan_write(reg, points::Value{12.35}, r));
  EXPECT_EQ(r, modbus::Request::write_register(9, 124));  // 123.5 → 124, half away from zero
  auto f = pt("F", Table::holding, 20, PointType::float32);
  ASSERT_FALSE(plan_write(f, points::Value{123.456}, r));
  EXPECT_EQ(r, modbus::Request::write_registers(20, {0x42F6, 0xE979}));
  auto ro = pt("RO", Table::input, 1);
  EXPECT_EQ(plan_write(ro, points::Value{std::int64_t{1}}, r), std::errc::operation_not_permitted);
  EXPECT_EQ(plan_write(pt("D", Table::discrete, 1, PointType::boolean), points::Value{true}, r),
            std::errc::operation_not_permitted);
  EXPECT_EQ(plan_write(reg, points::Value{1e9}, r), std::errc::result_out_of_range);
  EXPECT_EQ(plan_write(coil, points::Value{std::string("x")}, r), std::errc::invalid_argument);
}

}  // namespace
}  // namespace pollux::device
