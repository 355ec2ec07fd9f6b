// The executor seam: run work later or at a time, on one logical thread.
//
// Every timer in the project goes through this interface (DESIGN.md principle 3). The engine
// runs on AsioExecutor; unit tests use ManualExecutor and step time explicitly, never sleep.
// Callbacks run one at a time on the executor's thread, never inline from schedule/post; only
// offload()'s `work` runs elsewhere. Only post() may be called from another thread.
#pragma once

#include <cstdint>
#include <functional>

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
};

}  // namespace pollux::runtime
