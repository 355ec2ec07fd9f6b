#include "scheduler/channel_runner.hpp"

#include "modbus/error.hpp"
#include "transport/errors.hpp"

namespace pollux::scheduler {

using device::Job;
using device::JobKind;
using device::RemoteDevice;

void Histogram::observe(double ms) {
  std::size_t i = 0;
  while (i < kBoundsMs.size() && ms > kBoundsMs[i])
    ++i;
  ++buckets[i];
  sum_ms += ms;
  ++count;
}

void count_failure_cause(device::DeviceCounters& c, std::error_code error) {
  if (transport::counts_as_timeout(error)) {
    ++c.timeouts;
  } else if (error.category() == modbus::modbus_category() &&
             modbus::classify(error) == modbus::FailureKind::crc) {
    ++c.crc_errors;
  } else {
    ++c.framing_errors;
  }
}

ChannelRunner::ChannelRunner(runtime::Executor& ex, config::Channel cfg,
                             std::unique_ptr<transport::Link> link, RunnerHandler& handler)
    : ex_(ex), cfg_(std::move(cfg)), link_(std::move(link)), handler_(handler) {
  link_->set_listener(this);
}

ChannelRunner::~ChannelRunner() {
  stop();
  link_->set_listener(nullptr);
}

void ChannelRunner::attach(RemoteDevice* d) {
  for (auto* x : devices_)
    if (x == d) return;
  devices_.push_back(d);
  kick();
}

void ChannelRunner::detach(RemoteDevice* d) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.active && s.dev == d) {
      if (s.delay_timer) ex_.cancel(s.delay_timer);
      s.active = false;
      ++s.generation;
      d->busy = false;
      if (s.job.kind == JobKind::write) {
        d->finish_write(s.job.write_id, {make_error_code(transport::Errc::stopped)});
      } else if (s.job.group < d->groups().size()) {
        d->groups()[s.job.group].in_progress = false;
      }
    }
  }
  std::erase(devices_, d);
  if (rr_ >= devices_.size()) rr_ = 0;
}

void ChannelRunner::start() {
  running_ = true;
  link_->start();
  kick();
}

void ChannelRunner::stop() {
  if (kick_timer_) ex_.cancel(kick_timer_);
  kick_timer_ = {};
  if (!running_) return;
  running_ = false;
  link_->stop();
  for (Slot& s : slots_) {
    if (!s.active) continue;
    if (s.delay_timer) ex_.cancel(s.delay_timer);
    s.active = false;
    ++s.generation;
    s.dev->busy = false;
    if (s.job.kind == JobKind::write) {
      s.dev->finish_write(s.job.write_id, {make_error_code(transport::Errc::stopped)});
    } else if (s.job.group < s.dev->groups().size()) {
      s.dev->groups()[s.job.group].in_progress = false;
    }
  }
}

void ChannelRunner::set_enabled(bool enabled) {
  cfg_.enabled = enabled;
  link_->set_enabled(enabled);
  kick();
}

void ChannelRunner::kick() {
  if (kick_timer_ || !running_) return;
  kick_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
    kick_timer_ = {};
    pump();
  });
}

std::size_t ChannelRunner::in_flight() const {
  std::size_t n = 0;
  for (const Slot& s : slots_)
    n += s.active ? 1 : 0;
  return n;
}

std::size_t ChannelRunner::queued() const {
  std::size_t n = 0;
  for (const auto* d : devices_)
    if (serves(*d)) n += d->queue().size();
  return n;
}

bool ChannelRunner::serves(const RemoteDevice& d) const {
  return d.enabled() && d.line(d.active_line) && d.active().path.channel == cfg_.id;
}

bool ChannelRunner::ready(RemoteDevice& d) const {
  return !d.busy && !d.queue().empty() && serves(d);
}

std::uint64_t ChannelRunner::tag_of(std::size_t slot) const {
  return (static_cast<std::uint64_t>(slots_[slot].generation) << 32) | slot;
}

const modbus::Request* ChannelRunner::request_of(RemoteDevice& d, const Job& job) {
  if (job.kind == JobKind::write) {
    auto* w = d.pending_write(job.write_id);
    return w ? &w->request : nullptr;
  }
  if (job.group >= d.groups().size()) return nullptr;
  auto& g = d.groups()[job.group];
  if (job.next_block >= g.blocks.size()) return nullptr;
  return &g.blocks[job.next_block].request;
}

void ChannelRunner::pump() {
  if (!running_ || devices_.empty()) return;
  if (link_->status() != transport::LinkStatus::ok) {
    // Nothing can be sent: every queued job fails now (its points turn bad, writes answer
    // 504), which is also failover rule 1a's trigger. Devices stay attached and resume when
    // the link comes back.
    const auto error = make_error_code(link_->status() == transport::LinkStatus::disabled
                                           ? transport::Errc::channel_disabled
                                           : transport::Errc::channel_down);
    for (std::size_t k = 0; k < devices_.size(); ++k) {
      RemoteDevice* d = devices_[k];
      std::size_t guard = d->queue().size();  // jobs queued by handlers wait for the next pump
      while (guard-- > 0 && ready(*d))
        fail_unsent(*d, error);
    }
    return;
  }
  const bool concurrent = link_->concurrent();
  const std::string_view preferred = link_->preferred_wire();
  bool preferred_has_work = false;
  if (!preferred.empty()) {
    for (auto* d : devices_)
      if (ready(*d) && d->active().target.wire_key() == preferred) preferred_has_work = true;
  }
  const std::size_t n = devices_.size();
  const std::size_t start = rr_ % n;
  for (std::size_t k = 0; k < n; ++k) {
    if (!concurrent && in_flight() > 0) return;
    RemoteDevice* d = devices_[(start + k) % n];
    if (!ready(*d)) continue;
    handler_.before_cycle(*d);
    if (!ready(*d)) continue;  // failback moved it to another channel
    if (preferred_has_work && d->active().target.wire_key() != preferred) continue;
    if (!link_->can_start(d->active().target)) continue;
    rr_ = (start + k + 1) % n;
    begin(*d);
  }
}

void ChannelRunner::begin(RemoteDevice& d) {
  Job job = d.queue().front();
  d.queue().pop_front();
  const modbus::Request* req = request_of(d, job);
  if (job.kind == JobKind::poll && job.group < d.groups().size())
    d.groups()[job.group].in_progress = true;
  if (!req) {  // empty poll group or a write that was completed meanwhile
    advance_job(d, job, {}, d.active_line);
    return;
  }
  std::size_t idx = 0;
  while (idx < slots_.size() && slots_[idx].active)
    ++idx;
  if (idx == slots_.size()) slots_.emplace_back();
  Slot& s = slots_[idx];
  s.active = true;
  ++s.generation;
  s.dev = &d;
  s.job = job;
  s.line = d.active_line;
  const config::Path& path = d.active().path;
  s.tries_left = job.kind == JobKind::write ? std::max(1, path.timing.write_attempts)
                                            : std::max(1, path.timing.poll_attempts);
  s.exchange.target = &d.active().target;
  s.exchange.request = req;
  s.exchange.timeout = runtime::milliseconds(path.timing.message_timeout_ms);
  d.busy = true;
  send_try(idx);
}

void ChannelRunner::send_try(std::size_t idx) {
  Slot& s = slots_[idx];
  const int delay_ms = s.dev->line(s.line) ? s.dev->line(s.line)->path.timing.message_delay_ms : 0;
  if (delay_ms <= 0) {
    do_send(idx);
    return;
  }
  const std::uint64_t tag = tag_of(idx);
  s.delay_timer = ex_.schedule_after(runtime::milliseconds(delay_ms), [this, tag] {
    const std::size_t i = tag & 0xFFFFFFFFu;
    if (i >= slots_.size() || !slots_[i].active || tag_of(i) != tag) return;
    slots_[i].delay_timer = {};
    do_send(i);
  });
}

void ChannelRunner::do_send(std::size_t idx) {
  Slot& s = slots_[idx];
  s.sent_at = ex_.now();
  ++counters_.messages;
  link_->start_exchange(s.exchange, tag_of(idx));
}

void ChannelRunner::on_exchange_done(std::uint64_t tag, const transport::ExchangeResult& r) {
  const std::size_t idx = tag & 0xFFFFFFFFu;
  if (idx >= slots_.size() || !slots_[idx].active || tag_of(idx) != tag) return;
  Slot& s = slots_[idx];
  RemoteDevice& d = *s.dev;
  std::error_code error = r.error;
  if (!error && !r.response) error = make_error_code(modbus::Errc::framing_error);
  const bool answered = !error || error.category() == modbus::exception_category();
  if (answered) {
    ++counters_.answers;
    counters_.response_ms.observe(
        std::chrono::duration<double, std::milli>(ex_.now() - s.sent_at).count());
    if (auto* l = d.line(s.line)) ++l->counters.ok;
    d.last_success_at = ex_.now();
    d.last_success_wall = ex_.wall_now();
    d.last_good_line = s.line;
    handler_.on_io_success(d, s.line);
    if (!error) {
      ++d.counters.messages_ok;
      if (s.job.kind == JobKind::poll)
        handler_.on_block_ok(d, s.job.group, s.job.next_block, *r.response);
    } else {
      ++d.counters.exceptions;
    }
    finish_message(idx, error);
    return;
  }
  ++counters_.failures;
  count_failure_cause(d.counters, error);
  if (--s.tries_left > 0 && running_ && link_->status() == transport::LinkStatus::ok) {
    send_try(idx);
    return;
  }
  ++d.counters.messages_failed;
  if (auto* l = d.line(s.line)) ++l->counters.failed;
  finish_message(idx, error);
}

void ChannelRunner::finish_message(std::size_t idx, std::error_code error) {
  Slot& s = slots_[idx];
  RemoteDevice& d = *s.dev;
  const Job job = s.job;
  const int line = s.line;
  if (s.delay_timer) ex_.cancel(s.delay_timer);
  s.delay_timer = {};
  s.active = false;
  ++s.generation;
  d.busy = false;
  advance_job(d, job, error, line);
  // The device moved to another channel while this message was in flight: its new runner
  // skipped it as busy, so it must hear that the device is free now.
  if (!serves(d)) handler_.on_device_free(d);
  kick();
}

void ChannelRunner::fail_unsent(RemoteDevice& d, std::error_code error) {
  Job job = d.queue().front();
  d.queue().pop_front();
  if (job.kind == JobKind::poll && job.group < d.groups().size())
    d.groups()[job.group].in_progress = true;
  count_failure_cause(d.counters, error);
  ++d.counters.messages_failed;
  if (auto* l = d.line(d.active_line)) ++l->counters.failed;
  advance_job(d, job, error, d.active_line);
}

void ChannelRunner::advance_job(RemoteDevice& d, Job job, std::error_code error, int line) {
  if (!error) {
    if (job.kind == JobKind::write) {
      d.finish_write(job.write_id, {});
      return;
    }
    auto& g = d.groups()[job.group];
    if (++job.next_block < g.blocks.size()) {
      d.queue().push_front(job);  // the rest of the attempt, ahead of same-priority work
      return;
    }
    g.in_progress = false;
    ++d.counters.polls_ok;
    d.consecutive_failed_polls = 0;
    d.demoted_until.reset();
    handler_.on_poll_done(d, job.group, {}, 0);
    return;
  }
  // An exception answer fails the message for its caller but the device is reachable: no
  // failover (failover.md vocabulary). Any other failure goes to the failover hook first.
  if (error.category() != modbus::exception_category() &&
      handler_.on_message_failed(d, job, error, line)) {
    kick();
    return;
  }
  if (job.kind == JobKind::write) {
    d.finish_write(job.write_id, {error});
    return;
  }
  auto& g = d.groups()[job.group];
  g.in_progress = false;
  ++d.counters.polls_failed;
  ++d.consecutive_failed_polls;
  if (cfg_.demote_after_failed_polls > 0 &&
      d.consecutive_failed_polls >= cfg_.demote_after_failed_polls) {
    d.demoted_until = ex_.now() + runtime::milliseconds(cfg_.demote_for_ms);
  }
  handler_.on_poll_done(d, job.group, error, job.next_block);
}

void ChannelRunner::on_link_status(transport::LinkStatus s) {
  handler_.on_channel_status(cfg_.id, s);
  kick();
}

}  // namespace pollux::scheduler
