#include "device/refused_ranges.hpp"

#include "device/read_blocks.hpp"

namespace pollux::device {

namespace {
void schedule(GroupRuntime& g, int retry_s, runtime::TimePoint now) {
  if (retry_s > 0 && has_refused(g))
    g.refused_retry_at = now + std::chrono::seconds(retry_s);
  else
    g.refused_retry_at.reset();
}
}  // namespace

void refused_found(GroupRuntime& g, int retry_s, runtime::TimePoint now) {
  schedule(g, retry_s, now);
}

bool refused_answered(GroupRuntime& g, std::uint32_t block, PlanBlock& plan) {
  if (!g.blocks[block].refused_retry || !plan.illegal_address) return false;
  plan.illegal_address = false;
  return true;
}

void refused_asked(GroupRuntime& g, const config::Device& device, runtime::TimePoint now) {
  g.ask_refused_now = false;
  if (!has_refused(g)) {
    // Every range answers again: the halves the refusals split merge into one request again.
    g.plan = plan_reads(g.config, device.max_gap_registers, device.max_gap_bits);
    g.refused_retry_at.reset();
    rebuild_blocks(g);
    return;
  }
  schedule(g, device.refused_retry_s, now);
}

void ask_refused_now(GroupRuntime& g) {
  if (has_refused(g)) g.ask_refused_now = true;
}

void prepare_attempt(GroupRuntime& g, runtime::TimePoint now) {
  const bool due =
      has_refused(g) && (g.ask_refused_now || (g.refused_retry_at && now >= *g.refused_retry_at));
  if (due != g.asking_refused) rebuild_blocks(g, due);
}

}  // namespace pollux::device
