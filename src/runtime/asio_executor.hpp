// The production executor: the seam's timers and posts on a Boost.Asio io_context.
//
// All timers share one asio::steady_timer armed for the earliest due time, so scheduling a
// timer costs a heap push rather than a kernel timer; a timer already due when scheduled runs
// from an asio::post instead, so it costs no kernel timer either. The io_context is driven by one
// thread (the engine's I/O thread); that thread is the "one logical thread" of Executor's contract.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <thread>

#include "runtime/executor.hpp"
#include "runtime/timer_queue.hpp"

namespace pollux::runtime {

class AsioExecutor final : public Executor {
 public:
  explicit AsioExecutor(boost::asio::io_context& io);
  ~AsioExecutor() override;

  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  TimerId schedule_at(TimePoint when, Task task) override;
  bool cancel(TimerId id) override;
  void post(Task task) override;
  // `work` runs on a thread of its own, joined when `then` runs or when the executor goes.
  void offload(Task work, Task then) override;

  boost::asio::io_context& io() { return io_; }

 private:
  void rearm();
  void on_timer();
  void run_due();
  void post_due();

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  TimerQueue timers_;
  std::optional<TimePoint> armed_for_;
  bool due_posted_ = false;
  std::map<std::uint64_t, std::thread> workers_;
  std::uint64_t next_worker_ = 0;
  // A posted run_due() may outlive the executor in the io_context's queue.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::runtime
