#include "device/read_blocks.hpp"

namespace pollux::device {

void rebuild_blocks(GroupRuntime& g, bool ask_refused) {
  g.blocks.clear();
  g.asking_refused = false;
  for (const PlanBlock& b : g.plan.blocks) {
    if (b.illegal_address && !ask_refused) continue;
    ReadBlock rb;
    rb.request = b.request();
    rb.plan_id = b.id;
    rb.refused_retry = b.illegal_address;
    g.asking_refused = g.asking_refused || rb.refused_retry;
    g.blocks.push_back(rb);
  }
}

bool has_refused(const GroupRuntime& g) {
  for (const PlanBlock& b : g.plan.blocks)
    if (b.illegal_address) return true;
  return false;
}

}  // namespace pollux::device
