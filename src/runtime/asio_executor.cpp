#include "runtime/asio_executor.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace pollux::runtime {

AsioExecutor::AsioExecutor(boost::asio::io_context& io) : io_(io), timer_(io) {}

AsioExecutor::~AsioExecutor() {
  timer_.cancel();
  // A worker still running finishes its work (its `then`, posted to an io_context that no
  // longer runs, is dropped with it).
  for (auto& [id, worker] : workers_)
    worker.join();
}

TimerId AsioExecutor::schedule_at(TimePoint when, Task task) {
  // A time already past is due now, not late (Executor::watch_stalls).
  const TimePoint t = now();
  when = std::max(when, t);
  TimerId id = timers_.add(when, std::move(task));
  if (armed_for_ && when >= *armed_for_) return id;
  // Already due (the zero-delay timers that defer work to the next turn, a few per message):
  // run from a post. Re-arming the steady_timer for "now" would cost two timerfd_settime calls,
  // one to arm it and one when the reactor re-arms after it fires, for nothing.
  if (when <= t) {
    post_due();
    return id;
  }
  rearm();
  return id;
}

bool AsioExecutor::cancel(TimerId id) {
  return timers_.cancel(id);
}

void AsioExecutor::post(Task task) {
  boost::asio::post(io_, std::move(task));
}

void AsioExecutor::offload(Task work, Task then) {
  const std::uint64_t id = next_worker_++;
  auto finish = [this, id, then = std::move(then), alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    if (auto it = workers_.find(id); it != workers_.end()) {
      it->second.join();  // its work is done: it is past its last statement
      workers_.erase(it);
    }
    then();
  };
  // io_ outlives this executor, whose destructor joins the worker. The guard keeps io_.run()
  // going until `finish` is posted, even when nothing else is left to do.
  auto guard = boost::asio::make_work_guard(io_);
  workers_.emplace(id, std::thread([&io = io_, work = std::move(work), finish = std::move(finish),
                                    guard = std::move(guard)]() mutable {
                     work();
                     boost::asio::post(io, std::move(finish));
                     guard.reset();
                   }));
}

void AsioExecutor::post_due() {
  if (due_posted_) return;
  due_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    due_posted_ = false;
    run_due();
  });
}

void AsioExecutor::rearm() {
  auto due = timers_.next_due();
  if (due && armed_for_ && *due == *armed_for_) return;  // the armed wait is the right one
  if (!due) {
    armed_for_.reset();
    timer_.cancel();
    return;
  }
  armed_for_ = *due;
  timer_.expires_at(*due);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or shut down; the newer wait owns the queue
    on_timer();
  });
}

void AsioExecutor::on_timer() {
  armed_for_.reset();
  run_due();
}

void AsioExecutor::run_due() {
  const TimePoint t = now();
  if (auto due = timers_.next_due()) check_stall(t, *due);
  while (auto task = timers_.pop_due(t))
    (*task)();
  // Timers the tasks made due at once wait for the next turn, behind the I/O already queued;
  // that turn arms the steady_timer for what is left.
  if (auto due = timers_.next_due(); due && *due <= t) return post_due();
  rearm();
}

}  // namespace pollux::runtime
