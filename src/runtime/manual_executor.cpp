#include "runtime/manual_executor.hpp"

#include <algorithm>

namespace pollux::runtime {

namespace {
// 2026-01-01T00:00:00Z: wall time shown for the manual clock's starting point.
constexpr auto kWallEpoch = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
constexpr auto kStart = TimePoint{} + std::chrono::hours{1000};
}  // namespace

ManualExecutor::ManualExecutor() : now_(kStart) {}

WallTime ManualExecutor::wall_now() const {
  return WallTime{kWallEpoch} + std::chrono::duration_cast<WallTime::duration>(now_ - kStart);
}

TimerId ManualExecutor::schedule_at(TimePoint when, Task task) {
  // A time already past is due now, not late (Executor::watch_stalls).
  return timers_.add(std::max(when, now_), std::move(task));
}

bool ManualExecutor::cancel(TimerId id) {
  return timers_.cancel(id);
}

void ManualExecutor::post(Task task) {
  std::lock_guard lock(posted_mutex_);
  posted_.push_back(std::move(task));
}

void ManualExecutor::offload(Task work, Task then) {
  work();
  post(std::move(then));
}

std::size_t ManualExecutor::run_pending() {
  std::size_t n = 0;
  for (;;) {
    Task t;
    {
      std::lock_guard lock(posted_mutex_);
      if (posted_.empty()) return n;
      t = std::move(posted_.front());
      posted_.pop_front();
    }
    t();
    ++n;
  }
}

std::size_t ManualExecutor::advance(Duration d) {
  const TimePoint target = now_ + d;
  std::size_t n = run_pending();
  for (;;) {
    auto due = timers_.next_due();
    if (!due || *due > target) break;
    if (*due > now_) now_ = *due;
    check_stall(now_, *due);  // overdue only after pause()
    while (auto task = timers_.pop_due(now_)) {
      (*task)();
      ++n;
      n += run_pending();
    }
  }
  now_ = target;
  return n;
}

bool ManualExecutor::advance_to_next_timer() {
  run_pending();
  auto due = timers_.next_due();
  if (!due) return false;
  advance(*due > now_ ? *due - now_ : Duration::zero());
  return true;
}

}  // namespace pollux::runtime
