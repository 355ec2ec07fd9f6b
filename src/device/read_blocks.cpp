#include "device/read_blocks.hpp"

#include <algorithm>

#include "points/register_codec.hpp"

namespace pollux::device {

namespace {
modbus::FunctionCode read_function(config::Table t) {
  switch (t) {
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
}  // namespace

std::vector<ReadBlock> build_read_blocks(const config::PollGroup& group, int max_gap_registers,
                                         int max_gap_bits) {
  std::vector<std::uint32_t> order(group.points.size());
  for (std::uint32_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& pa = group.points[a];
    const auto& pb = group.points[b];
    if (pa.table != pb.table) return pa.table < pb.table;
    return pa.address < pb.address;
  });
  std::vector<ReadBlock> blocks;
  config::Table table{};
  std::uint32_t start = 0, end = 0;  // [start, end) of the current block
  for (std::uint32_t idx : order) {
    const auto& p = group.points[idx];
    const bool bits = config::is_bit_table(p.table);
    const auto width = static_cast<std::uint32_t>(std::max(1, points::point_width(p)));
    const std::uint32_t a = p.address, b = a + width;
    const auto limit =
        static_cast<std::uint32_t>(bits ? modbus::kMaxReadBits : modbus::kMaxReadRegisters);
    const auto gap =
        static_cast<std::uint32_t>(std::max(0, bits ? max_gap_bits : max_gap_registers));
    const bool fits =
        !blocks.empty() && p.table == table && a <= end + gap && std::max(end, b) - start <= limit;
    if (!fits) {
      ReadBlock blk;
      blk.request = modbus::Request::read(read_function(p.table), static_cast<std::uint16_t>(a), 0);
      blocks.push_back(std::move(blk));
      table = p.table;
      start = a;
      end = b;
    } else {
      end = std::max(end, b);
    }
    blocks.back().request.quantity = static_cast<std::uint16_t>(end - start);
    blocks.back().points.push_back({idx, static_cast<std::uint16_t>(a - start)});
  }
  return blocks;
}

}  // namespace pollux::device
