#include "history/history.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace pollux::history {
namespace {

// Changes read per executor turn: a burst of 160,000 changes never holds the I/O thread for long.
constexpr std::size_t kSlice = 4096;
constexpr auto kSweepPeriod = std::chrono::seconds(1);

bool numeric(const points::Value& v) {
  return std::holds_alternative<std::int64_t>(v) || std::holds_alternative<std::uint64_t>(v) ||
         std::holds_alternative<double>(v);
}

// Failing at every open: a PostgreSQL store without a url is a store that cannot be opened,
// shown in health like any other (a backup's own file may lack the node-local url).
std::unique_ptr<Store> no_url() {
  throw StoreError(
      "history.url is empty: set the PostgreSQL connection string in this node's file");
}

}  // namespace

StoreFactory store_for(const config::HistorySettings& s) {
  if (s.backend == config::HistoryBackend::postgresql) {
    if (s.url.empty()) return no_url;
    return postgres_store({.url = s.url});
  }
  return sqlite_store(
      {.path = s.path, .max_size_bytes = static_cast<std::uint64_t>(s.max_size_mb) << 20});
}

History::History(runtime::Executor& ex, points::ChangeFeed& feed, const points::PointStore& store,
                 StoreFactory factory, WriterOptions options)
    : ex_(ex), feed_(feed), store_(store), writer_(std::move(factory), ex, std::move(options)) {
  writer_.start();
  sub_ = feed_.subscribe([this] { drain(); });
  arm_sweep();
}

History::~History() {
  feed_.unsubscribe(sub_);
  *alive_ = false;
  if (sweep_timer_) ex_.cancel(sweep_timer_);
  flush();
  writer_.stop();
}

std::vector<Record> History::hand_over() {
  flush();
  recording_ = false;
  return writer_.hand_over();
}

void History::configure(const config::Config& cfg) {
  const config::HistorySettings h = cfg.history.value_or(config::HistorySettings{});
  const Rule defaults{h.deadband, h.max_interval_s};
  std::unordered_map<points::PointId, Tracked> next;
  devices_.clear();
  timed_.clear();
  for (const auto& d : cfg.devices) {
    devices_.insert(d.id);
    std::unordered_map<std::string_view, const config::Point*> own;
    for (const auto& g : d.polls)
      for (const auto& p : g.points)
        own.emplace(p.name, &p);
    for (points::PointId id : store_.device_points(d.id)) {
      const points::PointRecord& r = store_.get(id);
      Tracked t;
      t.rule = defaults;
      if (auto it = own.find(r.name); it != own.end()) {
        const config::PointHistory& ph = it->second->history;
        if (!ph.enabled) continue;
        t.rule = {ph.deadband.value_or(h.deadband), ph.max_interval_s.value_or(h.max_interval_s)};
        const config::PointType type = it->second->type;
        t.kind = type == config::PointType::boolean  ? Tracked::Kind::boolean
                 : type == config::PointType::string ? Tracked::Kind::text
                                                     : Tracked::Kind::number;
      }
      if (auto old = tracked_.find(id); old != tracked_.end())
        t.series = old->second.series;
      else
        t.series = std::make_shared<const Series>(Series{d.id, r.name});
      if (t.rule.max_interval_s > 0) timed_.push_back(id);
      next.emplace(id, std::move(t));
    }
  }
  std::unordered_map<points::PointId, Tracked> added;
  for (const auto& [id, t] : next)
    if (!tracked_.contains(id)) added.emplace(id, t);
  for (const auto& [id, t] : tracked_)
    if (!next.contains(id)) recorder_.forget(id);
  tracked_ = std::move(next);
  writer_.set_retention_days(h.retention_days);
  offer_current(added);
}

void History::set_recording(bool on) {
  if (on == recording_) return;
  // What the feed holds happened under the old activity, so it is taken under it. Going
  // standby: the last answers polled here are recorded here, since the peer records only what
  // it polls itself (soak seed 11: a value published just before a handover was in neither
  // node's history). Becoming active: a change the peer recorded and sent by state sync just
  // before the handover is followed, not recorded a second time.
  while (read_slice() == kSlice) {
  }
  flush();
  recording_ = on;
}

void History::offer_current(const std::unordered_map<points::PointId, Tracked>& points) {
  for (const auto& [id, t] : points) {
    const points::PointRecord& r = store_.get(id);
    if (!r.removed && r.timestamp) offer(id, t, *r.timestamp, r.value, r.quality);
  }
  flush();
}

std::size_t History::read_slice() {
  const points::ReadResult r =
      feed_.read(sub_, kSlice, [this](const points::Change& c) { take(c); });
  if (r.lost) {
    spdlog::warn(
        "history fell a change-feed ring behind: recording the current state of every point");
    feed_.for_each_current(store_, [this](const points::Change& c) { take(c); });
  }
  return r.count;
}

void History::drain() {
  const std::size_t count = read_slice();
  flush();
  // The feed wakes a subscriber only once it has read everything: go on next turn.
  if (count == kSlice && !drain_posted_) {
    drain_posted_ = true;
    ex_.post([this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired()) return;
      drain_posted_ = false;
      drain();
    });
  }
}

void History::take(const points::Change& c) {
  if (c.kind == points::ChangeKind::removed) {
    recorder_.forget(c.point);
    tracked_.erase(c.point);
    return;
  }
  auto it = tracked_.find(c.point);
  if (it == tracked_.end()) return;
  offer(c.point, it->second, c.time, c.value, c.quality);
}

void History::offer(points::PointId id, const Tracked& t, runtime::WallTime time,
                    const points::Value& value, Quality quality) {
  const Millis ms = to_millis(time);
  // A standby's recorder follows what it receives, so the state the active node recorded
  // last is not recorded again when this node takes over.
  if (recorder_.observe(id, t.rule, ms, value, quality) && recording_)
    pending_.push_back(Record{t.series, ms, value, quality});
}

void History::flush() {
  if (pending_.empty()) return;
  recorded_ += pending_.size();
  if (tap_) tap_(pending_);
  writer_.push(pending_);
  pending_.clear();
}

void History::arm_sweep() {
  sweep_timer_ = ex_.schedule_after(kSweepPeriod, [this] {
    sweep_timer_ = {};
    sweep();
    arm_sweep();
  });
}

void History::sweep() {
  if (!recording_) return;
  for (points::PointId id : timed_) {
    const points::PointRecord& r = store_.get(id);
    auto it = tracked_.find(id);
    if (r.removed || !r.timestamp || it == tracked_.end()) continue;
    offer(id, it->second, *r.timestamp, r.value, r.quality);
  }
  flush();
}

std::optional<Answer> History::refuse(const Query& q) const {
  const auto fail = [](int status, std::string why) {
    Answer a;
    a.status = status;
    a.error = std::move(why);
    return a;
  };
  if (!devices_.contains(q.device)) return fail(404, "unknown device '" + q.device + "'");
  const auto id = store_.find(q.device, q.point);
  if (!id) return fail(404, "unknown point '" + q.point + "' of device '" + q.device + "'");
  auto it = tracked_.find(*id);
  if (it == tracked_.end()) return fail(404, "no history for " + q.device + "." + q.point);
  const Tracked::Kind kind = it->second.kind;
  const bool is_numeric = kind == Tracked::Kind::number ||
                          (kind == Tracked::Kind::status && numeric(store_.get(*id).value));
  if (q.interval && !is_numeric)
    return fail(400, q.device + "." + q.point + " is not numeric: ask without interval_s");
  return std::nullopt;
}

void History::query(const Query& q, std::function<void(Answer)> done) {
  if (auto refusal = refuse(q)) return done(std::move(*refusal));
  if (q.interval) {
    writer_.query_intervals({q.device, q.point, q.from, q.to, *q.interval},
                            [done = std::move(done)](IntervalsAnswer a) {
                              Answer out;
                              if (!a.intervals) {
                                out.status = 503;
                                out.error = "history store: " + a.error;
                              } else {
                                out.intervals = std::move(*a.intervals);
                              }
                              done(std::move(out));
                            });
    return;
  }
  writer_.query_raw({q.device, q.point, q.from, q.to, q.limit},
                    [done = std::move(done)](RawAnswer a) {
                      Answer out;
                      if (a.page) {
                        out.page = std::move(*a.page);
                      } else {
                        out.status = 503;
                        out.error = "history store: " + a.error;
                      }
                      done(std::move(out));
                    });
}

}  // namespace pollux::history
