// Turns a poll group's read plan (read_planner.hpp) into the requests of one poll attempt.
// Built at load and again after an exception-02 split, so a poll attempt allocates nothing.
#pragma once

#include "device/remote_device.hpp"

namespace pollux::device {

// Rebuilds `g.blocks` from `g.plan`. Blocks the device refused as a single address range
// (illegal_address) are left out, unless `ask_refused`: then they are asked again, marked
// ReadBlock::refused_retry so a second refusal does not fail the attempt.
void rebuild_blocks(GroupRuntime& g, bool ask_refused = false);

// True when the plan holds a range the device refused.
bool has_refused(const GroupRuntime& g);

}  // namespace pollux::device
