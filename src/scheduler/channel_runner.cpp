#include "scheduler/channel_runner.hpp"

#include <atomic>

#include "modbus/error.hpp"
#include "transport/errors.hpp"

namespace pollux::scheduler {

using device::Job;
using device::JobKind;
using device::MessageOutcome;
using device::RemoteDevice;

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

namespace {
std::uint64_t next_runner_uid() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

ChannelRunner::ChannelRunner(runtime::Executor& ex, config::Channel cfg,
                             std::unique_ptr<transport::Link> link, RunnerHandler& handler,
                             ChannelStatusObserver on_status)
    : ex_(ex),
      cfg_(std::move(cfg)),
      link_(std::move(link)),
      handler_(handler),
      on_status_(std::move(on_status)),
      uid_(next_runner_uid()) {
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
  kick(*d);
}

void ChannelRunner::detach(RemoteDevice* d) {
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].active && slots_[i].dev == d) drop(i);
  std::erase_if(ready_, [d](const ReadyEntry& e) { return e.dev == d; });
  if (d->ready_in == uid_) d->ready_in = 0;
  std::erase(devices_, d);
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
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].active) drop(i);
}

void ChannelRunner::drop(std::size_t idx) {
  // No answer will come for it: its writes complete with `stopped`, its poll is no longer in
  // progress; nothing is counted and no failover decided.
  finish_message(idx, MessageOutcome::Kind::dropped, make_error_code(transport::Errc::stopped));
}

void ChannelRunner::set_enabled(bool enabled) {
  cfg_.enabled = enabled;
  link_->set_enabled(enabled);
  kick();
}

void ChannelRunner::kick() {
  // Looked at when the pump runs, so work queued before then without a kick(device) is seen.
  rescan_ = true;
  schedule_pump();
}

void ChannelRunner::kick(RemoteDevice& d) {
  mark_ready(d);
  schedule_pump();
}

void ChannelRunner::schedule_pump() {
  if (kick_timer_ || !running_) return;
  kick_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
    kick_timer_ = {};
    pump();
  });
}

void ChannelRunner::mark_ready(RemoteDevice& d) {
  if (d.ready_in == uid_ || !ready(d)) return;
  d.ready_in = uid_;
  ready_.push_back({&d, ++d.ready_ticket});
}

void ChannelRunner::pop_ready() {
  const ReadyEntry e = ready_.front();
  ready_.pop_front();
  if (valid(e)) e.dev->ready_in = 0;
}

std::size_t ChannelRunner::take_slot() {
  std::size_t idx;
  if (!free_slots_.empty()) {
    idx = free_slots_.back();
    free_slots_.pop_back();
  } else {
    idx = slots_.size();
    slots_.emplace_back();
  }
  slots_[idx].active = true;
  ++slots_[idx].generation;
  ++in_flight_;
  return idx;
}

void ChannelRunner::release_slot(std::size_t idx) {
  Slot& s = slots_[idx];
  s.active = false;
  ++s.generation;
  --in_flight_;
  free_slots_.push_back(idx);
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

void ChannelRunner::fail_ready(std::error_code error) {
  // Nothing can be sent: every queued job fails now (its points turn bad, writes answer 504),
  // which is also failover rule 1a's trigger. Devices stay attached and resume when the link
  // comes back. Jobs queued by handlers meanwhile wait for the next pump.
  for (std::size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
    const ReadyEntry e = ready_.front();
    const bool ok = valid(e);
    pop_ready();
    if (!ok) continue;
    RemoteDevice& d = *e.dev;
    std::size_t guard = d.queue().size();
    while (guard-- > 0 && ready(d))
      fail_unsent(d, error);
    mark_ready(d);
  }
}

void ChannelRunner::pump() {
  if (!running_) return;
  if (rescan_) {
    // Entries already listed keep their place; devices missing join in attach order.
    rescan_ = false;
    for (auto* d : devices_)
      mark_ready(*d);
  }
  if (ready_.empty()) return;
  if (link_->status() != transport::LinkStatus::ok) {
    fail_ready(make_error_code(link_->status() == transport::LinkStatus::disabled
                                   ? transport::Errc::channel_disabled
                                   : transport::Errc::channel_down));
    return;
  }
  const bool concurrent = link_->concurrent();
  const std::string_view preferred = link_->preferred_wire();
  bool preferred_has_work = false;
  if (!preferred.empty()) {  // a modem call in progress: few devices, a scan is fine
    for (const auto& e : ready_)
      if (valid(e) && ready(*e.dev) && e.dev->active().target.wire_key() == preferred)
        preferred_has_work = true;
  }
  // Entries that cannot start now keep their place ahead of later arrivals (round-robin order
  // is arrival order); each entry present at the start is looked at once per pump.
  std::vector<ReadyEntry> skipped;
  std::size_t budget = kBeginsPerTurn;
  for (std::size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
    if (!concurrent && in_flight_ > 0) break;
    if (budget == 0) {
      // Yield: due poll timers and answers already in run before the rest (a 10,000-device
      // scan due at once would otherwise hold the I/O thread for one long turn).
      schedule_pump();
      break;
    }
    const ReadyEntry e = ready_.front();
    if (!valid(e)) {
      ready_.pop_front();
      continue;
    }
    RemoteDevice& d = *e.dev;
    if (!ready(d)) {
      pop_ready();
      continue;
    }
    handler_.before_cycle(d);
    if (!valid(e) || !ready(d)) {  // failback moved it to another channel
      if (!ready_.empty() && ready_.front().dev == e.dev && ready_.front().ticket == e.ticket)
        pop_ready();
      continue;
    }
    if ((preferred_has_work && d.active().target.wire_key() != preferred) ||
        !link_->can_start(d.active().target)) {
      skipped.push_back(e);
      ready_.pop_front();
      continue;
    }
    pop_ready();
    begin(d);
    --budget;
  }
  for (auto it = skipped.rbegin(); it != skipped.rend(); ++it)
    ready_.push_front(*it);
}

void ChannelRunner::begin(RemoteDevice& d) {
  Job job = d.queue().front();
  d.queue().pop_front();
  const modbus::Request* req = request_of(d, job);
  if (!req) {  // empty poll group or a write that was completed meanwhile
    auto outcome = outcome_of(d, job, d.active_line, MessageOutcome::Kind::nothing_to_send, {});
    report(outcome);
    kick(d);
    return;
  }
  const std::size_t idx = take_slot();
  Slot& s = slots_[idx];
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
  std::error_code error = r.error;
  if (!error && !r.response) error = make_error_code(modbus::Errc::framing_error);
  const bool answered = !error || error.category() == modbus::exception_category();
  if (answered) {
    ++counters_.answers;
    // One clock read per answer: the handler takes the outcome's stamps as "now".
    const auto now = ex_.now();
    counters_.response_ms.observe(
        std::chrono::duration<double, std::milli>(now - s.sent_at).count());
    finish_message(idx, error ? MessageOutcome::Kind::exception : MessageOutcome::Kind::ok, error,
                   r.response, now, ex_.wall_now());
    return;
  }
  ++counters_.failures;
  count_failure_cause(s.dev->counters, error);
  if (--s.tries_left > 0 && running_ && link_->status() == transport::LinkStatus::ok) {
    send_try(idx);
    return;
  }
  finish_message(idx, MessageOutcome::Kind::failed, error);
}

MessageOutcome ChannelRunner::outcome_of(RemoteDevice& d, const Job& job, int line,
                                         MessageOutcome::Kind kind, std::error_code error) const {
  return MessageOutcome{.device = d,
                        .job = job,
                        .line = line,
                        .kind = kind,
                        .error = error,
                        .response = nullptr,
                        .at = {},
                        .wall = {},
                        .channel = cfg_.id,
                        .demotion = {cfg_.demote_after_failed_polls, cfg_.demote_for_ms}};
}

void ChannelRunner::finish_message(std::size_t idx, MessageOutcome::Kind kind,
                                   std::error_code error, const modbus::ResponseView* response,
                                   runtime::TimePoint at, runtime::WallTime wall) {
  Slot& s = slots_[idx];
  RemoteDevice& d = *s.dev;
  auto outcome = outcome_of(d, s.job, s.line, kind, error);
  outcome.response = response;
  outcome.at = at;
  outcome.wall = wall;
  if (s.delay_timer) ex_.cancel(s.delay_timer);
  s.delay_timer = {};
  release_slot(idx);
  d.busy = false;
  report(outcome);
  // A dropped message's device is forgotten or its channel stopped: nothing to serve here.
  if (kind != MessageOutcome::Kind::dropped)
    kick(d);  // also serves the line-mates waiting on a serial or modem line
}

void ChannelRunner::report(MessageOutcome& outcome) {
  if (auto next = handler_.on_outcome(outcome)) outcome.device.queue().push_front(*next);
}

void ChannelRunner::fail_unsent(RemoteDevice& d, std::error_code error) {
  Job job = d.queue().front();
  d.queue().pop_front();
  count_failure_cause(d.counters, error);
  auto outcome = outcome_of(d, job, d.active_line, MessageOutcome::Kind::failed, error);
  report(outcome);
}

void ChannelRunner::on_link_status(transport::LinkStatus s) {
  if (on_status_) on_status_(cfg_.id, s);
  kick();
}

}  // namespace pollux::scheduler
