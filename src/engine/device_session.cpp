#include "engine/device_session.hpp"

#include <algorithm>

#include "device/read_blocks.hpp"
#include "device/refused_ranges.hpp"
#include "failover/ages.hpp"
#include "failover/status.hpp"
#include "modbus/error.hpp"
#include "points/register_codec.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"

namespace pollux::engine {

using device::MessageOutcome;
using device::Priority;

DeviceSession::DeviceSession(const config::Device& cfg, SessionContext& ctx,
                             points::PointStore& store, const failover::State* previous)
    : ctx_(ctx),
      store_(store),
      dev_(std::make_unique<device::RemoteDevice>(cfg)),
      settings_(failover::Settings::from_config(cfg.comm)) {
  const auto now = ctx_.now();
  if (previous) {
    state_ = *previous;
    reload_change_ = failover::on_reload(settings_, state_, now);
  } else {
    state_ = failover::initial_state(settings_, now);
  }
  dev_->last_success_wall = ctx_.wall_now();  // failover.md: set on load/reload
  for (auto& g : dev_->groups()) {
    g.point_ids.clear();
    for (const auto& p : g.config.points)
      g.point_ids.push_back(store_.add(cfg.id, p.name));
  }
  for (std::size_t i = 0; i < failover::kStatusPointNames.size(); ++i)
    status_points_[i] = store_.add(cfg.id, failover::kStatusPointNames[i]);
  sync.poll_done.resize(dev_->groups().size());
  dev_->context = this;
  dev_->active_line = dev_->line(state_.active_line) ? state_.active_line : 1;
  publish_status();
}

bool DeviceSession::uses_channel(std::string_view channel) const {
  for (int n = 1; n <= 3; ++n)
    if (const auto* l = dev_->line(n); l && l->path.channel == channel) return true;
  return false;
}

void DeviceSession::publish_status() {
  ctx_.state_changed(*this);
  const auto v = failover::status_values(settings_, state_);
  const auto t = ctx_.wall_now();
  store_.set_good(status_points_[0], std::string_view(v.sydevcomid), t);
  store_.set_good(status_points_[1], static_cast<std::int64_t>(v.sydevcomln), t);
  store_.set_good(status_points_[2], std::string_view(v.sydevpcom), t);
  store_.set_good(status_points_[3], static_cast<std::int64_t>(v.sydevprfo), t);
  store_.set_good(status_points_[4], std::string_view(v.sydevscom), t);
  store_.set_good(status_points_[5], std::string_view(v.sydevtcom), t);
}

void DeviceSession::apply_change(const failover::LineChange& change) {
  const std::string from_channel =
      dev_->line(change.from) ? dev_->line(change.from)->path.channel : std::string();
  dev_->active_line = dev_->line(state_.active_line) ? state_.active_line : 1;
  publish_status();
  ctx_.line_changed(*this, change, from_channel);
}

void DeviceSession::apply_pending_reload_change() {
  if (auto change = std::exchange(reload_change_, std::nullopt)) apply_change(*change);
}

void DeviceSession::on_channels() {
  if (auto change = failover::on_channels(settings_, state_, ctx_.usable(settings_), ctx_.now()))
    apply_change(*change);
}

std::string DeviceSession::select_line(int line) {
  auto sel = failover::select_line(settings_, state_, ctx_.usable(settings_), line, ctx_.now());
  if (!sel.accepted()) return sel.refusal;
  if (sel.change) apply_change(*sel.change);
  return {};
}

bool DeviceSession::import_runtime(const failover::StateAges& ages,
                                   const device::DeviceCounters& counters,
                                   std::optional<runtime::WallTime> last_success,
                                   bool comm_failed) {
  const int line_before = dev_->active_line;
  state_ = failover::import_ages(settings_, ages, ctx_.now());
  dev_->counters = counters;
  if (last_success) dev_->last_success_wall = last_success;
  dev_->comm_failed = comm_failed;
  dev_->active_line = dev_->line(state_.active_line) ? state_.active_line : 1;
  publish_status();
  return dev_->active_line != line_before;
}

// ------------------------------------------------------------------------ message path ---

void DeviceSession::before_cycle() {
  if (ctx_.decides_failover())
    if (auto change = failover::before_cycle(settings_, state_, ctx_.usable(settings_), ctx_.now()))
      apply_change(*change);
  device::mark_started(*dev_);
}

std::optional<device::Job> DeviceSession::on_outcome(const MessageOutcome& o) {
  if (o.kind == MessageOutcome::Kind::dropped) return device::settle(*dev_, o, {}).next;
  device::count_message(*dev_, o);
  if (o.kind != MessageOutcome::Kind::nothing_to_send) ctx_.state_changed(*this);
  if (o.answered()) {
    const bool prfo = state_.primary_failed_over;
    failover::on_success(state_, o.line, o.at);
    if (prfo != state_.primary_failed_over) publish_status();
    if (o.kind == MessageOutcome::Kind::ok) decode(o);
  } else if (o.kind == MessageOutcome::Kind::failed) {
    if (auto retry = fail_over(o)) return retry;
  }
  // "Now" is the answer's arrival when there is one (the runner read the clock for it); only a
  // failure, which may start a demotion, needs the clock read again.
  const auto settled = device::settle(*dev_, o, o.answered() ? o.at : ctx_.now());
  if (settled.poll_end)
    // A poll ends well only on an answer, whose arrival the outcome carries.
    poll_ended(*settled.poll_end,
               o.answered() && !settled.poll_end->error ? o.wall : ctx_.wall_now());
  return settled.next;
}

std::optional<device::Job> DeviceSession::fail_over(const MessageOutcome& o) {
  if (!ctx_.decides_failover()) return std::nullopt;
  failover::Usable u = ctx_.usable(settings_);
  // A link fails its message in flight before it reports its new status (port vanished or
  // disabled). The error already says the channel is unusable: decide rule 1a now, so the
  // message follows the device under rule 4 instead of failing just before the rule 2 move.
  if (o.error == make_error_code(transport::Errc::channel_down) ||
      o.error == make_error_code(transport::Errc::channel_disabled)) {
    if (const auto* failed = dev_->line(o.line))
      for (int n = 1; n <= 3; ++n)
        if (const auto* l = dev_->line(n); l && l->path.channel == failed->path.channel)
          u[static_cast<std::size_t>(n - 1)] = false;
  }
  auto change = failover::on_message_failed(settings_, state_, u, o.line, ctx_.now());
  if (!change) return std::nullopt;
  apply_change(*change);
  if (!failover::requeue_failed_message(settings_, o.job.master_mode())) return std::nullopt;
  // Rule 4: the failed message (and the rest of its poll attempt) goes first on the new line.
  device::Job retry = o.job;
  retry.priority = Priority::failover_retry;
  if (retry.kind == device::JobKind::poll && retry.group < dev_->groups().size())
    dev_->groups()[retry.group].in_progress = true;
  return retry;
}

void DeviceSession::decode(const MessageOutcome& o) {
  if (o.job.kind != device::JobKind::poll || !o.response || o.job.group >= dev_->groups().size())
    return;
  auto& g = dev_->groups()[o.job.group];
  const std::uint32_t block = o.job.next_block;
  if (block >= g.blocks.size()) return;
  device::PlanBlock* pb = g.plan.find(g.blocks[block].plan_id);
  if (!pb) return;
  if (device::refused_answered(g, block, *pb))
    runtime::device_logger(id())->info("group {}: refused range {} (+{}) answers again",
                                       g.config.name, pb->start, pb->count);
  device::for_each_value(g.config, *pb, *o.response, [&](std::uint32_t point, points::Value v) {
    if (point < g.point_ids.size()) store_.set_good(g.point_ids[point], v, o.wall);
  });
}

void DeviceSession::poll_ended(const device::PollEnd& end, runtime::WallTime t) {
  auto& g = dev_->groups()[end.group];
  if (end.group < sync.poll_done.size())
    sync.poll_done[end.group] = t;  // the standby moves the group's timestamps with one record
  ctx_.poll_ended(*this, end.group);
  if (end.error) {
    const auto now = ctx_.now();
    const std::string why = end.error.message();
    for (auto id : g.point_ids)
      store_.set_bad(id, why, t);
    if (end.error == modbus::ExceptionCode::illegal_data_address &&
        end.failed_block < g.blocks.size()) {
      // One bad address must not blank the group forever: the planner splits the block and
      // the next attempt asks for the halves.
      if (device::split_on_illegal_address(g.plan, g.blocks[end.failed_block].plan_id))
        runtime::device_logger(id())->info("group {}: block split after exception 02",
                                           g.config.name);
      else
        device::refused_found(g, dev_->config().refused_retry_s, now);
      device::rebuild_blocks(g);
    }
    if (device::refused_pending(g)) device::prepare_attempt(g, now);
    return;
  }
  if (device::refused_pending(g)) {
    const auto now = ctx_.now();
    if (g.asking_refused) device::refused_asked(g, dev_->config(), now);
    device::prepare_attempt(g, now);
  }
  // Points the device refuses (a single-range block answered exception 02) or that no request
  // can read stay bad.
  for (const auto& b : g.plan.blocks)
    if (b.illegal_address)
      for (const auto& p : b.points)
        store_.set_bad(g.point_ids[p.point], "illegal data address", t);
  for (auto p : g.plan.unplannable)
    store_.set_bad(g.point_ids[p], "too wide to read", t);
}

// ------------------------------------------------------------------------------- polls ---

bool DeviceSession::poll_due(std::uint32_t group) {
  device::RemoteDevice& d = *dev_;
  if (!d.enabled() || group >= d.groups().size()) return true;
  if (d.demoted_until && ctx_.now() < *d.demoted_until) {
    ++d.counters.polls_skipped;  // auto-demotion: not an overrun, a deliberate skip
    ctx_.state_changed(*this);
    return true;
  }
  auto& g = d.groups()[group];
  if (g.in_progress) return false;
  if (device::refused_pending(g)) device::prepare_attempt(g, ctx_.now());
  return d.enqueue_poll(group, Priority::scheduled);
}

void DeviceSession::poll_now() {
  const auto now = ctx_.now();
  for (std::uint32_t g = 0; g < dev_->groups().size(); ++g) {
    auto& group = dev_->groups()[g];
    // A poll-now asks the refused ranges too (api.md settled).
    device::ask_refused_now(group);
    if (!group.in_progress) device::prepare_attempt(group, now);
    dev_->enqueue_poll(g, Priority::on_demand);
  }
}

void DeviceSession::stop_polls() {
  dev_->fail_all(make_error_code(transport::Errc::stopped));
  for (auto& g : dev_->groups())
    g.in_progress = false;
}

}  // namespace pollux::engine
