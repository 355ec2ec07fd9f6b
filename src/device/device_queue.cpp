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
  // After every job of the same or a more urgent priority.
  auto it = jobs_.begin();
  while (it != jobs_.end() && it->priority <= job.priority)
    ++it;
  jobs_.insert(it, job);
  ++size_;
}

void DeviceQueue::push_front(const Job& job) {
  // Before every job of the same or a less urgent priority.
  auto it = jobs_.begin();
  while (it != jobs_.end() && it->priority < job.priority)
    ++it;
  jobs_.insert(it, job);
  ++size_;
}

std::size_t DeviceQueue::size(Priority p) const {
  std::size_t n = 0;
  for (const Job& j : jobs_)
    n += j.priority == p ? 1 : 0;
  return n;
}

Job& DeviceQueue::front() {
  return jobs_.front();  // precondition: !empty(), as for std::vector::front
}

void DeviceQueue::pop_front() {
  if (jobs_.empty()) return;
  jobs_.erase(jobs_.begin());
  --size_;
}

bool DeviceQueue::has_poll(std::uint32_t group) const {
  for (const Job& j : jobs_)
    if (j.kind == JobKind::poll && j.group == group) return true;
  return false;
}

void DeviceQueue::drain(const std::function<void(const Job&)>& f) {
  // One at a time from the front: `f` may look at the queue (its size shrinks as it goes).
  while (!jobs_.empty()) {
    Job j = jobs_.front();
    jobs_.erase(jobs_.begin());
    --size_;
    f(j);
  }
}

}  // namespace pollux::device
