#include "device/read_planner.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <utility>

#include "points/register_codec.hpp"

namespace pollux::device {
namespace {

int limit_of(config::Table t) {
  return config::is_bit_table(t) ? modbus::kMaxReadBits : modbus::kMaxReadRegisters;
}

// Re-tightens a block to the span of its points (after a split).
void tighten(PlanBlock& b) {
  int lo = 65536, hi = 0;
  for (const auto& p : b.points) {
    lo = std::min(lo, b.start + p.offset);
    hi = std::max(hi, b.start + p.offset + p.width);
  }
  for (auto& p : b.points)
    p.offset = static_cast<std::uint16_t>(b.start + p.offset - lo);
  b.start = static_cast<std::uint16_t>(lo);
  b.count = static_cast<std::uint16_t>(hi - lo);
}

}  // namespace

modbus::FunctionCode PlanBlock::function() const {
  switch (table) {
    case config::Table::coil:
      return modbus::FunctionCode::read_coils;
    case config::Table::discrete:
      return modbus::FunctionCode::read_discrete_inputs;
    case config::Table::input:
      return modbus::FunctionCode::read_input_registers;
    case config::Table::holding:
      return modbus::FunctionCode::read_holding_registers;
  }
  return modbus::FunctionCode::read_holding_registers;
}

modbus::Request PlanBlock::request() const {
  return modbus::Request::read(function(), start, count);
}

const PlanBlock* ReadPlan::find(std::uint32_t id) const {
  for (const auto& b : blocks) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

PlanBlock* ReadPlan::find(std::uint32_t id) {
  return const_cast<PlanBlock*>(std::as_const(*this).find(id));
}

ReadPlan plan_reads(const config::PollGroup& group, int max_gap_registers, int max_gap_bits) {
  ReadPlan plan;
  std::vector<std::uint32_t> order(group.points.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& pa = group.points[a];
    const auto& pb = group.points[b];
    if (pa.table != pb.table) return pa.table < pb.table;
    return pa.address < pb.address;
  });

  PlanBlock* cur = nullptr;
  int cur_end = 0;  // one past the last address covered by `cur`
  for (std::uint32_t idx : order) {
    const config::Point& p = group.points[idx];
    const int width = points::point_width(p);
    const int limit = limit_of(p.table);
    if (width < 1 || width > limit || p.address + width > 65536) {
      plan.unplannable.push_back(idx);
      continue;
    }
    const int max_gap =
        std::max(0, config::is_bit_table(p.table) ? max_gap_bits : max_gap_registers);
    const int end = p.address + width;
    const bool merge = cur && cur->table == p.table && p.address - cur_end <= max_gap &&
                       std::max(cur_end, end) - cur->start <= limit;
    if (!merge) {
      plan.blocks.push_back(PlanBlock{});
      cur = &plan.blocks.back();
      cur->id = plan.next_id++;
      cur->table = p.table;
      cur->start = p.address;
      cur_end = p.address;
    }
    cur_end = std::max(cur_end, end);
    cur->count = static_cast<std::uint16_t>(cur_end - cur->start);
    cur->points.push_back({idx, static_cast<std::uint16_t>(p.address - cur->start),
                           static_cast<std::uint16_t>(width)});
  }
  return plan;
}

bool split_on_illegal_address(ReadPlan& plan, std::uint32_t block_id) {
  auto it = std::find_if(plan.blocks.begin(), plan.blocks.end(),
                         [&](const PlanBlock& b) { return b.id == block_id; });
  if (it == plan.blocks.end()) return false;
  // Split at the median distinct start offset: halves of about equal point count, so a single
  // bad address is isolated in log2(points) polls while good neighbours keep being read.
  std::vector<std::uint16_t> starts;
  for (const auto& p : it->points)
    starts.push_back(p.offset);
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  if (starts.size() < 2) {
    it->illegal_address = true;
    return false;
  }
  const std::uint16_t cut = starts[starts.size() / 2];
  PlanBlock left = *it;
  PlanBlock right = *it;
  left.points.clear();
  right.points.clear();
  for (const auto& p : it->points)
    (p.offset < cut ? left : right).points.push_back(p);
  left.id = plan.next_id++;
  right.id = plan.next_id++;
  tighten(left);
  tighten(right);
  const auto pos = it - plan.blocks.begin();
  plan.blocks.erase(it);
  plan.blocks.insert(plan.blocks.begin() + pos, {std::move(left), std::move(right)});
  ++plan.splits;
  return true;
}

points::Value block_value(const config::PollGroup& group, const PlanBlock& block,
                          const PlannedPoint& planned, const modbus::ResponseView& response) {
  const config::Point& point = group.points[planned.point];
  if (config::is_bit_table(block.table)) {
    return points::decode_bit(point, response.bit_at(planned.offset));
  }
  std::array<std::uint16_t, modbus::kMaxReadRegisters> regs;
  for (std::size_t i = 0; i < planned.width; ++i)
    regs[i] = response.register_at(planned.offset + i);
  return points::decode_registers(point, {regs.data(), planned.width});
}

std::error_code plan_write(const config::Point& point, const points::Value& value,
                           modbus::Request& out) {
  switch (point.table) {
    case config::Table::discrete:
    case config::Table::input:
      return std::make_error_code(std::errc::operation_not_permitted);
    case config::Table::coil: {
      bool on = false;
      if (auto ec = points::encode_bit(point, value, on)) return ec;
      out = modbus::Request::write_coil(point.address, on);
      return {};
    }
    case config::Table::holding:
      break;
  }
  const int width = points::point_width(point);
  if (width < 1 || width > modbus::kMaxWriteRegisters || point.address + width > 65536) {
    return std::make_error_code(std::errc::result_out_of_range);
  }
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(width));
  if (auto ec = points::encode_registers(point, value, regs)) return ec;
  out = width == 1 ? modbus::Request::write_register(point.address, regs[0])
                   : modbus::Request::write_registers(point.address, std::move(regs));
  return {};
}

}  // namespace pollux::device
