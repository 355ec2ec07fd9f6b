// Messages and jobs of one remote device (failover.md vocabulary: message, poll attempt,
// master-mode message).
//
// A Job is what waits in a device's queue: either one poll attempt of a poll group (several
// messages, one per planned read block, sent in order and abandoned at the first failed one) or
// one write (a single master-mode message). Jobs are small plain values; the requests they
// send live in the device (poll plans are built once at load), so queuing a scheduled poll
// allocates nothing after warm-up.
#pragma once

#include <cstdint>
#include <string_view>

namespace pollux::device {

// Queue order (engine issue): failover retries first, then writes (master-mode), then on-demand
// polls, then scheduled polls. Lower value runs first.
enum class Priority : std::uint8_t { failover_retry = 0, write = 1, on_demand = 2, scheduled = 3 };
inline constexpr int kPriorityCount = 4;
std::string_view to_string(Priority p);

enum class JobKind : std::uint8_t { poll, write };

struct Job {
  JobKind kind = JobKind::poll;
  Priority priority = Priority::scheduled;
  // The priority the job was queued with originally (a failover retry keeps its nature).
  Priority origin = Priority::scheduled;
  std::uint32_t group = 0;       // poll: index of the poll group in the device
  std::uint32_t next_block = 0;  // poll: the next read block to send
  std::uint64_t write_id = 0;    // write: key of the pending write in the device
  bool master_mode() const { return kind == JobKind::write; }
};

}  // namespace pollux::device
