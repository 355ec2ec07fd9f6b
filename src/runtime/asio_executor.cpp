#include "runtime/asio_executor.hpp"

#include <boost/asio/post.hpp>

namespace pollux::runtime {

AsioExecutor::AsioExecutor(boost::asio::io_context& io) : io_(io), timer_(io) {}

AsioExecutor::~AsioExecutor() {
  timer_.cancel();
}

TimerId AsioExecutor::schedule_at(TimePoint when, Task task) {
  TimerId id = timers_.add(when, std::move(task));
  if (!armed_for_ || when < *armed_for_) rearm();
  return id;
}

bool AsioExecutor::cancel(TimerId id) {
  return timers_.cancel(id);
}

void AsioExecutor::post(Task task) {
  boost::asio::post(io_, std::move(task));
}

void AsioExecutor::rearm() {
  auto due = timers_.next_due();
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
  const TimePoint t = now();
  while (auto task = timers_.pop_due(t))
    (*task)();
  rearm();
}

}  // namespace pollux::runtime
