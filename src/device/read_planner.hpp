// The read planner: turns a poll group's points into the fewest read requests per table, maps
// each answer back to point values, splits a block that a device refuses with exception 02,
// and builds the write request for one point.
//
// Codec issue rules served: ranges merge when the gap between them is at most `max_gap`
// (Device::max_gap_registers / max_gap_bits, defaults 16 / 64) and a block never exceeds the
// protocol limits (125 registers, 2000 bits); the plan is deterministic (points ordered by
// table, address, then their order in the group); an exception 02 (illegal data address) on a
// block splits it in two at a point boundary, so one bad address cannot blank a whole group,
// and the plan keeps the split for later polls. Writes follow config.md: a coil uses FC5, a
// one-register point FC6, a wider point one FC16.
//
// Usage:
//   device::ReadPlan plan = device::plan_reads(group, dev.max_gap_registers, dev.max_gap_bits);
//   for (const device::PlanBlock& b : plan.blocks) {
//     modbus::Request req = b.request();
//     ... exchange → modbus::ResponseView resp, error ec ...
//     if (!ec) device::for_each_value(group, b, resp, [&](std::uint32_t point, points::Value v) {
//       store.set_good(ids[point], v, now); });
//     else if (ec == modbus::ExceptionCode::illegal_data_address)
//       device::split_on_illegal_address(plan, b.id);  // next poll asks for the halves
//   }
#pragma once

#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "config/model.hpp"
#include "modbus/pdu.hpp"
#include "points/value.hpp"

namespace pollux::device {

// One point of a block: its index in PollGroup::points and where it sits in the block.
struct PlannedPoint {
  std::uint32_t point = 0;
  std::uint16_t offset = 0;  // registers (or bits) from the block's start
  std::uint16_t width = 1;   // registers (or bits) it covers
  friend bool operator==(const PlannedPoint&, const PlannedPoint&) = default;
};

struct PlanBlock {
  std::uint32_t id = 0;  // stable for the block's life in its plan; splits get fresh ids
  config::Table table = config::Table::holding;
  std::uint16_t start = 0;
  std::uint16_t count = 0;           // registers or bits
  std::vector<PlannedPoint> points;  // ordered by offset, then group order
  // Set when a block of a single address range answered exception 02: nothing is left to
  // split, so its points are the bad ones.
  bool illegal_address = false;

  modbus::FunctionCode function() const;
  modbus::Request request() const;
  friend bool operator==(const PlanBlock&, const PlanBlock&) = default;
};

struct ReadPlan {
  std::vector<PlanBlock> blocks;  // ordered by table, then start address
  // Points that cannot be read by any single request (wider than the protocol limit).
  std::vector<std::uint32_t> unplannable;
  std::uint32_t splits = 0;  // exception-02 splits applied so far
  std::uint32_t next_id = 0;

  const PlanBlock* find(std::uint32_t id) const;
  PlanBlock* find(std::uint32_t id);
  std::size_t request_count() const { return blocks.size(); }
};

// Negative gaps are treated as 0 (only touching or overlapping ranges merge).
ReadPlan plan_reads(const config::PollGroup& group, int max_gap_registers, int max_gap_bits);

// Splits block `id` after an illegal-data-address answer. Returns true when it became two
// blocks (each re-tightened to its points); false when its points all start at one address
// (the block is then marked illegal_address) or no such block exists.
bool split_on_illegal_address(ReadPlan& plan, std::uint32_t block_id);

// The value of one planned point from a response that decode_response accepted for
// block.request(). Allocates only for string points.
points::Value block_value(const config::PollGroup& group, const PlanBlock& block,
                          const PlannedPoint& planned, const modbus::ResponseView& response);

// Calls fn(point_index, Value) for every point of the block, in block order.
template <class Fn>
void for_each_value(const config::PollGroup& group, const PlanBlock& block,
                    const modbus::ResponseView& response, Fn&& fn) {
  for (const PlannedPoint& p : block.points)
    fn(p.point, block_value(group, block, p, response));
}

// The write request for one point (config.md "Writes"). Errors from points::encode_* (400:
// invalid_argument, result_out_of_range) and operation_not_permitted for read-only tables.
std::error_code plan_write(const config::Point& point, const points::Value& value,
                           modbus::Request& out);

}  // namespace pollux::device
