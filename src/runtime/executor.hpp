// The executor seam: run work later or at a time, on one logical thread.
//
// Every timer in the project goes through this interface (DESIGN.md principle 3). The engine
// runs on AsioExecutor; unit tests use ManualExecutor and step time explicitly, never sleep.
// Callbacks run one at a time on the executor's thread, never inline from schedule/post; only
// offload()'s `work` runs elsewhere. Only post() may be called from another thread.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/clock.hpp"

namespace pollux::runtime {

// Identifies a scheduled timer so it can be cancelled. Zero is "no timer".
struct TimerId {
  std::uint64_t value = 0;
  explicit operator bool() const { return value != 0; }
  friend bool operator==(TimerId, TimerId) = default;
};

using Task = std::function<void()>;

class Executor : public Clock {
 public:
  // Runs `task` at or after `when`. Timers due at the same time run in scheduling order.
  virtual TimerId schedule_at(TimePoint when, Task task) = 0;
  // Cancels a pending timer; returns false when it already ran or was cancelled.
  virtual bool cancel(TimerId id) = 0;
  // Runs `task` soon, after the current callback returns. The one call that is safe from any
  // thread: a thread of its own (the history writer's query thread) hands its result back
  // with it, and the task still runs on the executor's thread.
  virtual void post(Task task) = 0;
  // Runs `work` off the executor's thread, then `then` on it once `work` has returned: for slow
  // work that needs nothing the executor's callbacks touch (loading a 10,000-device config file
  // takes seconds, which would stop every poll). `then` never runs inline.
  virtual void offload(Task work, Task then) = 0;

  TimerId schedule_after(Duration delay, Task task) {
    return schedule_at(now() + delay, std::move(task));
  }

  // Stalls (docs/redundancy.md "Partitions": a node that was stopped does not resume active).
  // A turn whose earliest due timer is late by more than a watch's `threshold` means this
  // process was not running (SIGSTOP, a paused VM, a starved CPU). The watch's `hook(late)`
  // then runs before any of the overdue timers, so what depends on having been away (an active
  // node of a pair whose peer has taken over meanwhile) decides before the work it owed (polls,
  // publishes) runs late. A stall is reported once, not again for each timer it left overdue.
  using StallHook = std::function<void(Duration late)>;
  std::uint64_t watch_stalls(Duration threshold, StallHook hook) {
    stall_watches_.push_back({++next_stall_watch_, threshold, std::move(hook)});
    return next_stall_watch_;
  }
  void unwatch_stalls(std::uint64_t id) {
    std::erase_if(stall_watches_, [id](const StallWatch& w) { return w.id == id; });
  }

 protected:
  // The executors' timer loops call this with the earliest due time before they run it.
  void check_stall(TimePoint now, TimePoint earliest_due) {
    if (stall_watches_.empty() || earliest_due <= stall_reported_at_) return;
    const Duration late = now - earliest_due;
    bool stalled = false;
    for (const StallWatch& w : stall_watches_)
      stalled = stalled || late > w.threshold;
    if (!stalled) return;
    stall_reported_at_ = now;
    const std::vector<StallWatch> watches = stall_watches_;  // a hook may watch or unwatch
    for (const StallWatch& w : watches)
      if (late > w.threshold) w.hook(late);
  }

 private:
  struct StallWatch {
    std::uint64_t id;
    Duration threshold;
    StallHook hook;
  };
  std::vector<StallWatch> stall_watches_;
  std::uint64_t next_stall_watch_ = 0;
  TimePoint stall_reported_at_{};
};

}  // namespace pollux::runtime
