// What the API shows and does on the engine (spec/api.md): device, point, channel and event
// views, and the operator's commands (line selection, poll-now, writes, channel enable). The
// node (app/node.hpp) implements api::NodeApi and adds the redundancy parts.
#include <algorithm>

#include "engine/engine.hpp"
#include "failover/status.hpp"
#include "modbus/error.hpp"
#include "points/register_codec.hpp"
#include "runtime/logging.hpp"
#include "runtime/same_state.hpp"
#include "transport/errors.hpp"

namespace pollux::engine {

namespace {

// The API spells point quality and channel status with the engine's states, in the same order.
using runtime::same_order;
using runtime::same_state;
static_assert(same_order(api::Quality::good, points::PointQuality::good) &&
              same_order(api::Quality::bad, points::PointQuality::bad) &&
              same_order(api::Quality::uncertain, points::PointQuality::uncertain));
static_assert(same_order(api::ChannelStatus::ok, transport::LinkStatus::ok) &&
              same_order(api::ChannelStatus::down, transport::LinkStatus::down) &&
              same_order(api::ChannelStatus::disabled, transport::LinkStatus::disabled));

// api.md: 504 when the device never answered, 502 when it answered with an exception or a bad
// frame.
api::Outcome write_outcome(std::error_code ec) {
  if (!ec) return api::Outcome::success(200);
  std::string why = ec.message();
  if (ec.category() == modbus::exception_category()) return api::Outcome::failure(502, why);
  if (transport::counts_as_timeout(ec) || ec == modbus::Errc::connection_reset ||
      ec == transport::Errc::stopped || ec == transport::Errc::connect_failed ||
      ec == transport::Errc::max_connections)
    return api::Outcome::failure(504, why);
  return api::Outcome::failure(502, why);
}

points::Value to_value(const api::WriteValue& v) {
  return std::visit([](const auto& x) { return points::Value{x}; }, v);
}

}  // namespace

// A standby has no channel runners (its channels stay closed), so there the configuration says
// whether a channel is switched on; its devices then show the comm state received from the
// active node instead of all looking disabled (issue 23: the standby shows what it received).
bool Engine::channel_switched_on(std::string_view channel) const {
  if (const auto st = channel_status(channel)) return *st != transport::LinkStatus::disabled;
  for (const auto& c : cfg_.channels)
    if (c.id == channel) return c.enabled;
  return false;
}

api::CommStatus Engine::comm_of(const DeviceSession& s) const {
  const device::RemoteDevice& d = s.device();
  bool switched_on_line = false;
  for (int n = 1; n <= 3; ++n)
    if (const auto* l = d.line(n))
      switched_on_line = switched_on_line || channel_switched_on(l->path.channel);
  if (!d.enabled() || !switched_on_line) return api::CommStatus::disabled;
  return d.comm_failed ? api::CommStatus::failed : api::CommStatus::ok;
}

api::HealthView Engine::health() {
  api::HealthView h;
  h.node = cfg_.node.name;
  h.role = std::string(config::to_string(cfg_.redundancy.mode));
  h.activity = "active";
  return h;
}

api::DeviceView Engine::view(const DeviceSession& s) const {
  const device::RemoteDevice& d = s.device();
  api::DeviceView v;
  v.id = d.id();
  v.enabled = d.enabled();
  v.unit = d.config().unit;
  v.auto_failover = s.settings().auto_failover;
  v.active_line = d.active_line;
  v.active_channel = d.active().path.channel;
  v.writable = d.config().writable;
  for (int n = 1; n <= 3; ++n) {
    const auto* l = d.line(n);
    if (!l) continue;
    v.lines.push_back({n, l->path.channel, s.settings().eligible(n),
                       channel_usable(l->path.channel), l->path.retry_primary_s});
  }
  v.primary_failed_over = s.state().primary_failed_over;
  v.last_success = d.last_success_wall;
  v.last_good_line = s.state().last_good_line;
  v.comm = comm_of(s);
  const auto& c = d.counters;
  v.stats.messages_ok = c.messages_ok;
  v.stats.messages_failed = c.messages_failed;
  v.stats.exceptions = c.exceptions;
  v.stats.timeouts = c.timeouts;
  v.stats.crc_errors = c.crc_errors;
  v.stats.framing_errors = c.framing_errors;
  v.stats.polls_ok = c.polls_ok;
  v.stats.polls_failed = c.polls_failed;
  v.stats.demoted = d.demoted_until && ex_.now() < *d.demoted_until;
  v.stats.polls_skipped = c.polls_skipped;
  v.stats.overruns = overruns_of(s);
  return v;
}

std::uint64_t Engine::overruns_of(const DeviceSession& s) const {
  std::uint64_t n = s.past_overruns;
  for (auto h : s.schedule)
    n += scheduler_.overruns(h);
  return n;
}

std::vector<std::string> Engine::device_ids() {
  std::vector<std::string> out;
  out.reserve(sessions_.size());
  for (const auto& s : sessions_)
    out.push_back(s->id());
  return out;
}

std::optional<api::DeviceView> Engine::device(const std::string& id) {
  if (auto* s = find(id)) return view(*s);
  return std::nullopt;
}

void Engine::for_each_device_status(
    const std::function<void(const std::string& id, const DeviceStatus& status)>& fn) const {
  for (const auto& s : sessions_)
    fn(s->id(), {comm_of(*s), s->device().active_line, s->device().enabled()});
}

api::PointView Engine::point_view(points::PointId id) const {
  const auto& r = store_.get(id);
  api::PointView p;
  p.device = r.device;
  p.name = r.name;
  p.value = r.value;
  p.quality = same_state<api::Quality>(r.quality);
  p.timestamp = r.timestamp;
  if (r.quality != points::PointQuality::good) p.error = r.error;
  return p;
}

std::optional<std::vector<api::PointView>> Engine::points(const std::string& device) {
  if (!find(device)) return std::nullopt;
  std::vector<api::PointView> out;
  for (auto id : store_.device_points(device))
    out.push_back(point_view(id));
  return out;
}

std::vector<api::ChannelView> Engine::channels() {
  std::vector<api::ChannelView> out;
  for (const auto& c : cfg_.channels) {
    auto* r = runner(c.id);
    api::ChannelView v;
    v.id = c.id;
    v.type = std::string(config::to_string(c.type));
    v.protocol = std::string(config::to_string(c.protocol));
    if (!r) {  // closed on a standby node
      v.enabled = c.enabled;
      v.status = api::ChannelStatus::down;
      out.push_back(std::move(v));
      continue;
    }
    v.enabled = r->config().enabled;
    v.status = same_state<api::ChannelStatus>(r->link().status());
    const auto& k = r->counters();
    v.stats = {{"messages", k.messages},
               {"answers", k.answers},
               {"failures", k.failures},
               {"queued", r->queued()},
               {"in_flight", r->in_flight()}};
    for (auto& s : r->link().stats())
      v.stats.push_back(std::move(s));
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<api::EventView> Engine::events(std::uint64_t since) {
  std::vector<api::EventView> out;
  for (const auto& e : events_.since(since))
    out.push_back(
        {e.seq, e.time, e.device, e.from, e.to, std::string(failover::to_string(e.reason))});
  return out;
}

api::Outcome Engine::select_line(const std::string& id, int line) {
  DeviceSession* s = find(id);
  if (!s) return api::Outcome::failure(404, "unknown device " + id);
  if (line < 1 || line > 3) return api::Outcome::failure(400, "line must be 1..3");
  if (auto refusal = s->select_line(line); !refusal.empty())
    return api::Outcome::failure(409, refusal);
  return api::Outcome::success(200);
}

api::Outcome Engine::poll_now(const std::string& id) {
  DeviceSession* s = find(id);
  if (!s) return api::Outcome::failure(404, "unknown device " + id);
  if (!s->device().enabled()) return api::Outcome::failure(409, "device is disabled");
  s->poll_now();
  kick(*s);
  return api::Outcome::success(202);
}

void Engine::write(const std::string& id, const std::string& point, const api::WriteValue& value,
                   std::function<void(api::Outcome)> done) {
  DeviceSession* s = find(id);
  if (!s) return done(api::Outcome::failure(404, "unknown device " + id));
  device::RemoteDevice& d = s->device();
  const config::Point* cfg_point = nullptr;
  std::optional<std::uint32_t> group;
  for (std::uint32_t g = 0; g < d.groups().size() && !cfg_point; ++g)
    for (const auto& p : d.groups()[g].config.points)
      if (p.name == point) {
        cfg_point = &p;
        group = g;
        break;
      }
  // Refusals say why in words, naming the point and the value (api.md "Settled details").
  if (!cfg_point) {
    const auto& status = failover::kStatusPointNames;
    if (std::find(status.begin(), status.end(), point) != status.end())
      return done(api::Outcome::failure(400, point + " is a status point"));
    return done(api::Outcome::failure(404, "unknown point " + point));
  }
  const auto& w = d.config().writable;
  if (std::find(w.begin(), w.end(), point) == w.end())
    return done(api::Outcome::failure(
        400, point + " is not writable: it is not in the 'writable' list of " + id));
  if (!d.enabled()) return done(api::Outcome::failure(409, "device is disabled"));
  modbus::Request req;
  if (auto ec = device::plan_write(*cfg_point, to_value(value), req))
    return done(
        api::Outcome::failure(400, points::describe_refusal(*cfg_point, to_value(value), ec)));
  auto log = runtime::device_logger(id);
  log->info("write {} = {}", point, points::to_string(to_value(value)));
  d.enqueue_write(
      req, [this, id, g = *group, log, done = std::move(done)](const device::WriteResult& r) {
        if (r.error) {
          log->warn("write failed: {}", r.error.message());
        } else if (DeviceSession* s2 = find(id)) {
          // Read the point back soon so its shown value reflects the write.
          s2->device().enqueue_poll(g, device::Priority::on_demand);
          kick(*s2);
        }
        done(write_outcome(r.error));
      });
  kick(*s);
}

api::Outcome Engine::set_channel_enabled(const std::string& id, bool enabled) {
  auto* r = runner(id);
  if (!r) return api::Outcome::failure(404, "unknown channel " + id);
  runtime::channel_logger(id)->info("{} by operator", enabled ? "enabled" : "disabled");
  r->set_enabled(enabled);
  return api::Outcome::success(200);
}

api::RedundancyView Engine::redundancy() {
  api::RedundancyView v;
  v.mode = std::string(config::to_string(cfg_.redundancy.mode));
  v.activity = "active";
  v.config_version = version_;
  return v;
}

api::Outcome Engine::force_failover() {
  return api::Outcome::failure(409, "no redundancy peer on this node");
}

api::Outcome Engine::recover() {
  return api::Outcome::failure(409, "no redundancy peer on this node");
}

}  // namespace pollux::engine
