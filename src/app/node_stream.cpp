#include "app/node_stream.hpp"

#include <spdlog/spdlog.h>

#include "api/api_json.hpp"
#include "runtime/same_state.hpp"

namespace pollux::app {
namespace {

// Changes taken from the feed per executor turn: the rest on the next turn, so a burst never
// holds the I/O thread.
constexpr std::size_t kSlice = 2048;

std::uint64_t first_id(runtime::WallTime now) {
  // Ids grow across restarts: a client's Last-Event-ID from an earlier run is older than any id
  // of this one (1000 ids per millisecond of wall time before the start; 2^53 is decades away).
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return ms > 0 ? static_cast<std::uint64_t>(ms) * 1000 : 1;
}

}  // namespace

NodeStream::NodeStream(runtime::Executor& ex, engine::Engine& engine, RedundancyEvents redundancy,
                       Options options)
    : ex_(ex),
      engine_(engine),
      redundancy_(std::move(redundancy)),
      options_(options),
      journal_(options.capacity, first_id(ex.wall_now())) {
  journal_.on_attach([this] {
    unattended_since_.reset();
    if (timer_ && !sub_) begin();
  });
}

NodeStream::~NodeStream() {
  stop();
}

void NodeStream::start() {
  if (timer_) return;
  timer_ = ex_.schedule_after(options_.tick, [this] { tick(); });
}

void NodeStream::stop() {
  if (timer_) ex_.cancel(std::exchange(timer_, {}));
  end();
  // Waiting connections hear of it (their next read finds nothing and the server is closing).
  journal_.notify();
}

void NodeStream::tick() {
  timer_ = ex_.schedule_after(options_.tick, [this] { tick(); });
  const auto now = ex_.now();
  if (journal_.readers() > 0) {
    unattended_since_.reset();
    if (!sub_) begin();
  } else if (sub_) {
    if (!unattended_since_) unattended_since_ = now;
    if (now - *unattended_since_ >= options_.linger) end();
  }
  if (sub_) {
    // A line change's event before the device's new state: the cause, then what it changed.
    read_failover_events();
    scan_devices(false);
    read_redundancy_events();
  }
  if (appended_ || now - last_notify_ >= options_.heartbeat) notify();
}

void NodeStream::begin() {
  sub_ = engine_.changes().subscribe([this] { drain_feed(); });
  // What is already there is the clients' listings, not news: the scans start from it.
  scan_devices(true);
  const auto events = engine_.events(0);
  failover_seq_ = events.empty() ? 0 : events.back().seq;
  const auto red = redundancy_();
  redundancy_seq_ = red.empty() ? 0 : red.back().seq;
}

void NodeStream::end() {
  if (!sub_) return;
  engine_.changes().unsubscribe(std::exchange(sub_, {}));
  statuses_.clear();
  journal_.interrupt();
}

void NodeStream::drain_feed() {
  if (!sub_) return;
  const points::ReadResult r =
      engine_.changes().read(sub_, kSlice, [this](const points::Change& c) {
        if (c.kind != points::ChangeKind::update) return;
        const auto& rec = engine_.store().get(c.point);
        api::PointView p;
        p.device = rec.device;
        p.name = rec.name;
        p.value = c.value;
        p.quality = runtime::same_state<api::Quality>(c.quality);
        p.timestamp = c.time;
        if (c.quality != points::PointQuality::good) p.error = c.error;
        append(api::StreamEventKind::point, rec.device, api::to_json(p).dump());
      });
  if (r.lost) {
    spdlog::warn("live stream fell a change-feed ring behind: clients are told to resync");
    append(api::StreamEventKind::resync, {}, "{}");
  }
  if (r.count == kSlice && !drain_posted_) {
    drain_posted_ = true;
    ex_.post([this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired()) return;
      drain_posted_ = false;
      drain_feed();
    });
  }
  // Points go out as they come, not on the next tick: a client sees a change within a turn.
  notify();
}

void NodeStream::scan_devices(bool baseline) {
  engine_.for_each_device_status(
      [&](const std::string& id, const engine::Engine::DeviceStatus& status) {
        auto [it, added] = statuses_.try_emplace(id, status);
        if (!added && it->second == status) return;
        it->second = status;
        if (baseline) return;
        if (auto view = engine_.device(id))
          append(api::StreamEventKind::device, id, api::to_json(*view).dump());
      });
}

void NodeStream::read_failover_events() {
  for (const auto& e : engine_.events(failover_seq_)) {
    failover_seq_ = e.seq;
    append(api::StreamEventKind::failover, e.device, api::to_json(e).dump());
  }
}

void NodeStream::read_redundancy_events() {
  for (const auto& e : redundancy_()) {
    if (e.seq <= redundancy_seq_) continue;
    redundancy_seq_ = e.seq;
    append(api::StreamEventKind::redundancy, {}, api::to_json(e).dump());
  }
}

void NodeStream::append(api::StreamEventKind kind, std::string device, std::string data) {
  journal_.append(kind, std::move(device), std::move(data));
  appended_ = true;
}

void NodeStream::notify() {
  appended_ = false;
  last_notify_ = ex_.now();
  journal_.notify();
}

}  // namespace pollux::app
