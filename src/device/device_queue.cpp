#include "device/device_queue.hpp"

namespace pollux::device {

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::failover_retry:
      return "failover_retry";
    case Priority::write:
      return "write";
    case Priority::on_demand:
      return "on_demand";
    case Priority::scheduled:
      return "scheduled";
  }
  return "?";
}

void DeviceQueue::push(const Job& job) {
  fifo_[static_cast<int>(job.priority)].push_back(job);
  ++size_;
}

void DeviceQueue::push_front(const Job& job) {
  fifo_[static_cast<int>(job.priority)].push_front(job);
  ++size_;
}

Job& DeviceQueue::front() {
  for (auto& f : fifo_)
    if (!f.empty()) return f.front();
  return fifo_[0].front();  // precondition violated; undefined like std::deque::front
}

void DeviceQueue::pop_front() {
  for (auto& f : fifo_) {
    if (!f.empty()) {
      f.pop_front();
      --size_;
      return;
    }
  }
}

bool DeviceQueue::has_poll(std::uint32_t group) const {
  for (const auto& f : fifo_)
    for (const Job& j : f)
      if (j.kind == JobKind::poll && j.group == group) return true;
  return false;
}

void DeviceQueue::drain(const std::function<void(const Job&)>& f) {
  for (auto& fifo : fifo_) {
    while (!fifo.empty()) {
      Job j = fifo.front();
      fifo.pop_front();
      --size_;
      f(j);
    }
  }
}

}  // namespace pollux::device
