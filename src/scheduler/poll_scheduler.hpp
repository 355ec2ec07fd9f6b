// Drift-free poll-group scheduling (engine issue item 4; api.md "The first poll of every group is
// sent at start, then every interval_ms").
//
// Each (device, group) entry fires at start and then at due times start + k * interval: the next
// due time is the previous due time plus the interval, never "now + interval", so jitter in
// callback latency does not accumulate. When the executor fires late by whole intervals, those
// cycles are skipped and counted as overruns (never bunched). When the previous poll of the
// group is still queued or running, the sink refuses the new one and that is an overrun too.
// With parking enabled (the engine), a refused group is parked rather than fired at every grid
// point while its poll is pending (at interval_ms 1 a 3 ms transaction refused three due times,
// each a timer and a look at the device): the owner calls resume() when the pending poll ends,
// and the group is served at the next grid point. As a safety net a parked group is looked at
// again after max(1, 1 s / interval) intervals, so a poll dropped without resume() (a channel
// closed under it) delays the group by about a second at most. Grid points passed while parked
// are overruns, exactly as refused fires were. Without parking, every grid point fires.
// All timers go through runtime::Executor. Each fire records its lateness (executor time at the
// fire minus the due time) in a fixed-bucket histogram, the poll-start figure of the performance
// issue (10,000 devices at a 1 s scan: p99 lateness <= 10 ms).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/executor.hpp"
#include "runtime/histogram.hpp"

namespace pollux::scheduler {

// Pure: the first due time strictly after `now` on the grid prev_due + k * interval (k >= 1),
// and how many grid points (k - 1) were skipped because they are already past.
struct NextDue {
  runtime::TimePoint due;
  std::uint64_t skipped = 0;
};
NextDue next_due_after(runtime::TimePoint prev_due, runtime::Duration interval,
                       runtime::TimePoint now);

// Lateness of scheduled polls: fixed buckets fine enough around the 10 ms goal to estimate
// p50/p99 (a quantile interpolated across a wide (10, 25] bucket says little about which side
// of the goal the tail is), no allocation per observation. Exported cumulatively as a
// Prometheus histogram.
inline constexpr std::array<double, 20> kLatenessBoundsMs{0.05, 0.1, 0.25, 0.5,  1,    2.5, 5,
                                                          7.5,  10,  12.5, 15,   20,   25,  50,
                                                          100,  250, 500,  1000, 2500, 5000};
using LatenessHistogram = runtime::Histogram<kLatenessBoundsMs>;

class PollSink {
 public:
  virtual ~PollSink() = default;
  // A scheduled poll of `group` of the device registered under `owner` is due. Return false
  // when it was not queued because the previous one is still pending (an overrun).
  virtual bool on_poll_due(void* owner, std::uint32_t group) = 0;
};

class PollScheduler {
 public:
  PollScheduler(runtime::Executor& ex, PollSink& sink) : ex_(ex), sink_(sink) {}
  ~PollScheduler();
  PollScheduler(const PollScheduler&) = delete;
  PollScheduler& operator=(const PollScheduler&) = delete;

  // Names one registered group for O(1) access (10,000 devices: per-device look-ups by owner
  // would make every metrics scrape and standby switch quadratic).
  using Handle = std::size_t;

  // Registers a group; its first poll fires on the next executor turn (at start).
  Handle add(void* owner, std::uint32_t group, runtime::Duration interval);
  // Stops and forgets every group of `owner` (device unloaded). O(groups registered).
  void remove(void* owner);
  // Stops and forgets one group. O(1).
  void remove_entry(Handle h);
  void stop();

  // The owner promises to call resume() whenever a poll it refused for ends.
  void enable_parking() { parking_ = true; }
  // The pending poll of a group ended: if the group is parked, serve it at the next grid point
  // (now or later). O(1); a no-op for groups not parked.
  void resume(Handle h);

  // Overruns of one group (skipped cycles + refused polls, grid points passed while parked
  // included), and the total (parked groups' passed grid points counted when they resume).
  std::uint64_t overruns(void* owner, std::uint32_t group) const;
  std::uint64_t overruns(Handle h) const;
  std::uint64_t total_overruns() const { return total_overruns_; }
  std::uint64_t total_fired() const { return total_fired_; }
  const LatenessHistogram& lateness() const { return lateness_; }

 private:
  struct Entry {
    void* owner = nullptr;
    std::uint32_t group = 0;
    runtime::Duration interval{};
    runtime::TimePoint due{};
    runtime::TimerId timer;
    std::uint64_t overruns = 0;
    bool live = false;
    bool parked = false;           // refused at `due`; waiting for resume() or the re-check timer
    runtime::TimePoint recheck{};  // while parked: when the re-check timer looks again
  };
  void fire(std::size_t index);
  void arm(std::size_t index);
  void park(std::size_t index);
  // Leaves the parked state: the group is due at the first grid point at or after `at`, and
  // the grid points before it since `due` become overruns.
  void unpark(std::size_t index, runtime::TimePoint at);
  std::uint64_t pending_overruns(const Entry& e) const;

  runtime::Executor& ex_;
  PollSink& sink_;
  std::vector<Entry> entries_;  // indexes are stable; removed entries are not reused
  bool parking_ = false;
  std::uint64_t total_overruns_ = 0;
  std::uint64_t total_fired_ = 0;
  LatenessHistogram lateness_;
};

}  // namespace pollux::scheduler
