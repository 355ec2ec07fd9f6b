// When a poll group asks again for the ranges its device refused (api.md settled, exception 02):
// the points of a refused range stay bad "illegal data address" while the rest of the group is
// read, and the range is asked again at the first attempt `refused_retry_s` after it was found
// or last asked, and at the attempt after a poll-now, so a device whose register map grows back
// (a firmware update, a PLC program download) recovers by itself. Once every refused range
// answers again, the group is planned afresh so its requests merge as before.
//
// Bookkeeping on a GroupRuntime only: it takes `now` and reads no clock. Called between attempts
// (an attempt in progress indexes GroupRuntime::blocks). Nothing refused costs one bool test per
// poll (refused_pending).
#pragma once

#include "device/remote_device.hpp"
#include "runtime/clock.hpp"

namespace pollux::device {

// True when the next attempt's blocks may need preparing: a refused range is waiting for its ask
// or is being asked.
inline bool refused_pending(const GroupRuntime& g) {
  return g.refused_retry_at || g.ask_refused_now || g.asking_refused;
}

// A single range was just found refused (split_on_illegal_address could split no further).
void refused_found(GroupRuntime& g, int retry_s, runtime::TimePoint now);

// Block `block` of the attempt in progress (its plan block `plan`) answered normally. True when
// it was a refused range being asked again: it is read as usual from now on.
bool refused_answered(GroupRuntime& g, std::uint32_t block, PlanBlock& plan);

// An attempt that asked the refused ranges completed (each answered or was refused again).
void refused_asked(GroupRuntime& g, const config::Device& device, runtime::TimePoint now);

// A poll-now: the next attempt asks the refused ranges, whenever they were last asked.
void ask_refused_now(GroupRuntime& g);

// Sets up the blocks of the next attempt: the refused ranges are in when their ask is due.
void prepare_attempt(GroupRuntime& g, runtime::TimePoint now);

}  // namespace pollux::device
