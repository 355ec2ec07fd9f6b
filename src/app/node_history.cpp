#include "app/node_history.hpp"

#include <spdlog/spdlog.h>

#include "api/prometheus.hpp"

namespace pollux::app {
namespace {

// Two sections that may share a store: the keys a running writer cannot change.
bool same_store(const config::HistorySettings& a, const config::HistorySettings& b) {
  return a.backend == b.backend && a.path == b.path && a.url == b.url &&
         a.max_size_mb == b.max_size_mb;
}

api::Quality quality_of(points::PointQuality q) {
  switch (q) {
    case points::PointQuality::good:
      return api::Quality::good;
    case points::PointQuality::uncertain:
      return api::Quality::uncertain;
    case points::PointQuality::bad:
      break;
  }
  return api::Quality::bad;
}

api::PointValue value_of(const points::Value& v) {
  return std::visit([](const auto& x) -> api::PointValue { return x; }, v);
}

}  // namespace

NodeHistory::NodeHistory(runtime::Executor& ex, engine::Engine& engine)
    : ex_(ex), engine_(engine) {}

void NodeHistory::configure(const config::Config& cfg) {
  if (!cfg.history) {
    if (history_) spdlog::info("history: no 'history:' section any more: recording stops");
    stop();
    return;
  }
  if (!history_ || !settings_ || !same_store(*settings_, *cfg.history)) {
    stop();
    const auto& h = *cfg.history;
    spdlog::info("history: {} store {}", config::to_string(h.backend),
                 h.backend == config::HistoryBackend::sqlite ? h.path : std::string("(url)"));
    history::WriterOptions options;
    options.retention_days = h.retention_days;
    history_ = std::make_unique<history::History>(ex_, engine_.changes(), engine_.store(),
                                                  history::store_for(h), options);
  }
  settings_ = cfg.history;
  history_->configure(cfg);
  history_->set_recording(active_);
}

void NodeHistory::set_active(bool active) {
  active_ = active;
  if (history_) history_->set_recording(active);
}

void NodeHistory::stop() {
  history_.reset();
  settings_.reset();
}

std::optional<std::string> NodeHistory::health() const {
  if (!history_) return std::nullopt;
  const history::WriterStatus s = history_->status();
  return s.error.empty() ? std::string("ok") : "error: " + s.error;
}

void NodeHistory::query(const api::HistoryRequest& request,
                        std::function<void(api::HistoryAnswer)> done) {
  if (!history_) {
    api::HistoryAnswer a;
    a.outcome = api::Outcome::failure(
        404, "no history for " + request.device + "." + request.point + " (no 'history:' section)");
    return done(std::move(a));
  }
  history::Query q;
  q.device = request.device;
  q.point = request.point;
  q.from = history::to_millis(request.from);
  q.to = history::to_millis(request.to);
  q.limit = request.limit;
  q.interval = request.interval_ms;
  history_->query(q, [done = std::move(done)](history::Answer a) {
    api::HistoryAnswer out;
    out.outcome =
        a.status == 200 ? api::Outcome::success() : api::Outcome::failure(a.status, a.error);
    out.records.reserve(a.page.records.size());
    for (const auto& s : a.page.records)
      out.records.push_back(
          {history::from_millis(s.time), value_of(s.value), quality_of(s.quality)});
    if (a.page.next) out.next = history::from_millis(*a.page.next);
    for (const auto& i : a.intervals)
      out.intervals.push_back(
          {history::from_millis(i.start), i.min, i.max, i.avg, i.last, i.count});
    done(std::move(out));
  });
}

std::string NodeHistory::metrics_text() const {
  if (!history_) return {};
  const history::WriterStatus s = history_->status();
  api::prometheus::MetricsWriter w;
  w.counter("pollux_history_records_total", "History records committed to the store", {},
            s.written);
  w.gauge("pollux_history_queue_records", "History records waiting to be written", {},
          static_cast<double>(s.queued));
  w.counter("pollux_history_write_errors_total", "Failed opens and writes of the history store", {},
            s.write_errors);
  w.counter("pollux_history_dropped_total",
            "Oldest waiting history records dropped past the queue bound", {}, s.dropped);
  w.gauge("pollux_history_store_up", "1 while the history store works", {},
          s.error.empty() ? 1.0 : 0.0);
  w.histogram("pollux_history_write_seconds", "Time one history write transaction took", {},
              s.write_seconds, 1.0 / 1000);
  return w.text();
}

}  // namespace pollux::app
