#include "device/remote_device.hpp"

#include "device/read_blocks.hpp"

namespace pollux::device {

transport::Target make_target(const config::Path& path, int device_unit) {
  transport::Target t;
  t.unit = static_cast<std::uint8_t>(path.unit.value_or(device_unit));
  t.host = path.host;
  t.port = static_cast<std::uint16_t>(path.port);
  t.phone = path.phone;
  t.init = path.init;
  return t;
}

RemoteDevice::RemoteDevice(config::Device cfg) : cfg_(std::move(cfg)) {
  // The lines' paths and the poll groups are moved out of cfg_, not copied: the engine keeps the
  // whole Config too, and a third copy of every point cost ~1 KB per device (10 MB at 10,000).
  for (int i = 0; i < 3; ++i) {
    if (!cfg_.comm.lines[i]) continue;
    auto l = std::make_unique<Line>();
    l->path = std::move(*cfg_.comm.lines[i]);
    l->target = make_target(l->path, cfg_.unit);
    lines_[i] = std::move(l);
  }
  cfg_.comm.lines = {};
  active_line = eligible(cfg_.comm.active) ? cfg_.comm.active : 1;
  groups_.reserve(cfg_.polls.size());
  for (auto& g : cfg_.polls) {
    GroupRuntime rt;
    rt.config = std::move(g);
    rt.plan = plan_reads(rt.config, cfg_.max_gap_registers, cfg_.max_gap_bits);
    rebuild_blocks(rt);
    groups_.push_back(std::move(rt));
  }
  cfg_.polls = {};
}

bool RemoteDevice::eligible(int n) const {
  const Line* l = line(n);
  if (!l) return false;
  return n == 1 || l->path.available;
}

bool RemoteDevice::enqueue_poll(std::uint32_t group, Priority p) {
  if (queue_.has_poll(group)) return false;
  Job j;
  j.kind = JobKind::poll;
  j.priority = p;
  j.origin = p;
  j.group = group;
  queue_.push(j);
  return true;
}

void RemoteDevice::enqueue_write(const modbus::Request& req, WriteDone done) {
  const std::uint64_t id = next_write_id_++;
  PendingWrite& w = writes_[id];
  w.request = req;
  w.done = std::move(done);
  if (auto ec = modbus::validate(w.request)) {
    finish_write(id, WriteResult{ec});
    return;
  }
  Job j;
  j.kind = JobKind::write;
  j.priority = Priority::write;
  j.origin = Priority::write;
  j.write_id = id;
  queue_.push(j);
}

PendingWrite* RemoteDevice::pending_write(std::uint64_t id) {
  auto it = writes_.find(id);
  return it == writes_.end() ? nullptr : &it->second;
}

void RemoteDevice::finish_write(std::uint64_t id, const WriteResult& r) {
  auto it = writes_.find(id);
  if (it == writes_.end()) return;
  WriteDone done = std::move(it->second.done);
  writes_.erase(it);
  if (done) done(r);
}

void RemoteDevice::fail_all(std::error_code error) {
  queue_.drain([&](const Job& j) {
    if (j.kind == JobKind::write) finish_write(j.write_id, WriteResult{error});
  });
  while (!writes_.empty())
    finish_write(writes_.begin()->first, WriteResult{error});
  for (auto& g : groups_)
    g.in_progress = false;
  busy = false;
}

}  // namespace pollux::device
