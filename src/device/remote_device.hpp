// One remote device at run time (failover.md "State kept per remote device"; engine issue
// item 2): its resolved lines, active line, queue, poll plans, pending writes and counters.
//
// Plain state with small helpers; the channel runner sends its jobs and reports how each message
// ended, its owner (engine::DeviceSession) settles that (device/outcome.hpp) and alone changes
// `active_line` and the groups' `in_progress`. The read plan of every poll group is built once
// at load, so a poll allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "config/model.hpp"
#include "device/device_queue.hpp"
#include "device/read_planner.hpp"
#include "modbus/pdu.hpp"
#include "points/point_store.hpp"
#include "runtime/clock.hpp"
#include "transport/link.hpp"

namespace pollux::device {

// api.md DEVICE.stats plus our additions.
struct DeviceCounters {
  std::uint64_t messages_ok = 0;
  std::uint64_t messages_failed = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t framing_errors = 0;
  std::uint64_t polls_ok = 0;
  std::uint64_t polls_failed = 0;
  std::uint64_t polls_skipped = 0;  // scheduled polls not queued while demoted
  std::uint64_t overruns = 0;       // scheduled polls missed (previous still queued/running)
};

// Per-line message counters (failover needs per-line success/failure).
struct LineCounters {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
};

struct Line {
  config::Path path;
  transport::Target target;
  LineCounters counters;
};

// One message of a poll attempt: the request (kept here so an exchange can point at it) and the
// read planner's block it asks for.
struct ReadBlock {
  modbus::Request request;
  std::uint32_t plan_id = 0;  // PlanBlock::id in GroupRuntime::plan
  // A range the device refused (exception 02) asked again (api.md settled: refused ranges are
  // re-asked every refused_retry_s and at every poll-now). Refused again, it does not end the
  // attempt: the rest of the group is read as usual.
  bool refused_retry = false;
};

struct GroupRuntime {
  config::PollGroup config;
  ReadPlan plan;
  std::vector<ReadBlock> blocks;           // the plan's readable blocks, in plan order
  std::vector<points::PointId> point_ids;  // parallel to config.points
  bool in_progress = false;                // an attempt of this group is being sent (outcome.hpp)
  // Refused ranges asked again (refused_ranges.hpp): when next, whether a poll-now asked for it,
  // and whether `blocks` holds them now (set by rebuild_blocks).
  std::optional<runtime::TimePoint> refused_retry_at;
  bool ask_refused_now = false;
  bool asking_refused = false;
};

// How a write ended, for the API's 200 / 502 / 504.
struct WriteResult {
  std::error_code error;  // none: confirmed
};
using WriteDone = std::function<void(const WriteResult&)>;

struct PendingWrite {
  modbus::Request request;
  WriteDone done;
};

class RemoteDevice {
 public:
  explicit RemoteDevice(config::Device cfg);

  // The device's own settings. Its lines (comm.lines) and poll groups (polls) are moved into
  // line(n) and groups() when constructed, so they are empty here: read them there.
  const config::Device& config() const { return cfg_; }
  const std::string& id() const { return cfg_.id; }
  bool enabled() const { return cfg_.enabled; }

  // Lines 1..3; nullptr when not configured.
  Line* line(int n) { return n >= 1 && n <= 3 ? lines_[n - 1].get() : nullptr; }
  const Line* line(int n) const { return n >= 1 && n <= 3 ? lines_[n - 1].get() : nullptr; }
  Line& active() { return *line(active_line); }
  const Line& active() const { return *line(active_line); }
  // Line 1 is eligible when configured; 2 and 3 when configured and `available`.
  bool eligible(int n) const;

  std::vector<GroupRuntime>& groups() { return groups_; }
  const std::vector<GroupRuntime>& groups() const { return groups_; }
  DeviceQueue& queue() { return queue_; }
  const DeviceQueue& queue() const { return queue_; }

  // Queues one poll attempt of `group`; false (nothing queued) when one is already waiting.
  bool enqueue_poll(std::uint32_t group, Priority p);
  // Queues a write; `done` runs exactly once.
  void enqueue_write(const modbus::Request& req, WriteDone done);
  PendingWrite* pending_write(std::uint64_t id);
  // Completes and forgets a write.
  void finish_write(std::uint64_t id, const WriteResult& r);
  // Fails every queued job (writes complete with `error`), e.g. on unload.
  void fail_all(std::error_code error);

  // ---- run-time state ----
  // The line messages go over: written only by the device's owner (engine::DeviceSession, from
  // its failover state), read by the channel runners.
  int active_line = 1;
  std::optional<runtime::WallTime> last_success_wall;  // the last answer (api.md last_success)
  bool busy = false;  // a message of this device is in flight (one at a time per device)
  // api.md DEVICE.comm "failed": the last poll attempt failed after all its tries on the active
  // line (no failover took it over), until the next answer (device/outcome.hpp).
  bool comm_failed = false;
  // Channel-runner bookkeeping (scheduler/channel_runner.hpp ready list): the id of the runner
  // whose ready list holds this device (0: none) and the ticket of its one valid entry there.
  std::uint64_t ready_in = 0;
  std::uint32_t ready_ticket = 0;
  // The owner's record of this device (engine::DeviceSession), so runner callbacks find it
  // without a hash look-up per message.
  void* context = nullptr;

  DeviceCounters counters;
  // Auto-demotion (Channel::demote_after_failed_polls).
  int consecutive_failed_polls = 0;
  std::optional<runtime::TimePoint> demoted_until;

 private:
  config::Device cfg_;
  // On the heap, one per configured line: most devices have one line, and a Line is ~340 bytes
  // (3.4 MB per unused line slot at 10,000 devices). An exchange in flight points at its
  // Target, so it must not move.
  std::array<std::unique_ptr<Line>, 3> lines_;
  std::vector<GroupRuntime> groups_;
  DeviceQueue queue_;
  std::map<std::uint64_t, PendingWrite> writes_;
  std::uint64_t next_write_id_ = 1;
};

// The transport target of a path for device `unit`.
transport::Target make_target(const config::Path& path, int device_unit);

}  // namespace pollux::device
