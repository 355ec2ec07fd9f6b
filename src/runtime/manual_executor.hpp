// Executor whose time moves only when a test says so (the opendnp3 style:
// advance_to_next_timer() instead of sleeping). Used by every unit test of timing behaviour.
#pragma once

#include <deque>
#include <mutex>

#include "runtime/executor.hpp"
#include "runtime/timer_queue.hpp"

namespace pollux::runtime {

class ManualExecutor final : public Executor {
 public:
  // Time starts at an arbitrary fixed point well away from zero so that "now - 0" never
  // looks like an elapsed timer by accident.
  ManualExecutor();

  TimePoint now() const override { return now_; }
  WallTime wall_now() const override;
  TimerId schedule_at(TimePoint when, Task task) override;
  bool cancel(TimerId id) override;
  // Safe from any thread, as Executor says; the task runs in the test's next run_pending().
  void post(Task task) override;
  // Runs `work` at once, on the test's thread, and posts `then` (run_pending() runs it).
  void offload(Task work, Task then) override;

  // Runs posted tasks (and whatever they post) until none is left; returns how many ran.
  std::size_t run_pending();
  // Moves time forward by `d`, running every timer that falls due on the way, in order, with
  // now() equal to each timer's due time while it runs. Returns the number of callbacks run.
  std::size_t advance(Duration d);
  // Moves time forward by `d` and runs nothing, as a stopped process (SIGSTOP, a paused VM)
  // finds the clock when it resumes: the timers that fell due meanwhile run late, at the next
  // advance().
  void pause(Duration d) { now_ += d; }
  // Jumps to the next pending timer and runs everything due then; false when none is pending.
  bool advance_to_next_timer();
  std::size_t pending_timers() { return timers_.size(); }
  std::optional<TimePoint> next_timer() { return timers_.next_due(); }

 private:
  TimePoint now_;
  TimerQueue timers_;
  std::mutex posted_mutex_;  // post() may come from another thread
  std::deque<Task> posted_;
};

}  // namespace pollux::runtime
