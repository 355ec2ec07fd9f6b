#include "device/read_blocks.hpp"

namespace pollux::device {

void rebuild_blocks(GroupRuntime& g) {
  g.blocks.clear();
  for (const PlanBlock& b : g.plan.blocks) {
    if (b.illegal_address) continue;
    ReadBlock rb;
    rb.request = b.request();
    rb.plan_id = b.id;
    g.blocks.push_back(rb);
  }
}

}  // namespace pollux::device
