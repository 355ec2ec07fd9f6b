#include "app/node_history.hpp"

#include <spdlog/spdlog.h>

#include "api/prometheus.hpp"
#include "runtime/same_state.hpp"

namespace pollux::app {
namespace {

// Two sections that may share a store: the keys a running writer cannot change.
bool same_store(const config::HistorySettings& a, const config::HistorySettings& b) {
  return a.backend == b.backend && a.path == b.path && a.url == b.url &&
         a.max_size_mb == b.max_size_mb;
}

api::PointValue value_of(const points::Value& v) {
  return std::visit([](const auto& x) -> api::PointValue { return x; }, v);
}

}  // namespace

namespace rd = pollux::redundancy;

// Records per forwarded batch: a peer-link frame stays well under its size limit.
constexpr std::size_t kForwardBatch = 500;
constexpr auto kForwardPeriod = std::chrono::seconds(1);
// An unanswered batch (its answer lost with the link) is sent again after this long.
constexpr auto kForwardTimeout = std::chrono::seconds(10);

NodeHistory::NodeHistory(runtime::Executor& ex, engine::Engine& engine)
    : ex_(ex), engine_(engine), started_at_(history::to_millis(ex.wall_now())) {}

NodeHistory::~NodeHistory() {
  stop();
}

void NodeHistory::set_peer(config::RedundancyMode mode, Peer peer) {
  mode_ = mode;
  peer_ = std::move(peer);
}

history::StoreFactory NodeHistory::own_store(const config::HistorySettings& h) const {
  // A partial backup keeps what it records in its cache only (history.md "Redundancy").
  if (is_backup() && level_ == config::HistoryLevel::partial)
    return history::sqlite_store({.path = h.resolved_cache_path()});
  return history::store_for(h);
}

void NodeHistory::configure(const config::Config& cfg) {
  if (!cfg.history) {
    if (history_) spdlog::info("history: no 'history:' section any more: recording stops");
    stop();
    return;
  }
  if (!history_ || !settings_ || !same_store(*settings_, *cfg.history) ||
      level_ != cfg.redundancy.history) {
    // Records still waiting for the old store (one that is full or down) go to the new one:
    // neither dropped nor waited for here, on the I/O thread, while polls are due.
    std::vector<history::Record> waiting;
    if (history_) waiting = history_->hand_over();
    stop();
    level_ = cfg.redundancy.history;
    const auto& h = *cfg.history;
    spdlog::info("history: {} store {}", config::to_string(h.backend),
                 h.backend == config::HistoryBackend::sqlite ? h.path : std::string("(url)"));
    history::WriterOptions options;
    options.retention_days = h.retention_days;
    history_ = std::make_unique<history::History>(ex_, engine_.changes(), engine_.store(),
                                                  own_store(h), options);
    history_->take_over(std::move(waiting));
    if (is_backup()) {
      const std::string cache = h.resolved_cache_path();
      cache_ = std::make_shared<Connection>(Connection{history::sqlite_store({.path = cache}), {}});
      if (level_ == config::HistoryLevel::full) {
        // Forwarded records are deleted from the cache, never aged out by retention.
        history::WriterOptions outbox;
        outbox.retention_days = 0;
        outbox_ =
            std::make_unique<history::Writer>(history::sqlite_store({.path = cache}), ex_, outbox);
        outbox_->start();
        history_->set_tap([this](const std::vector<history::Record>& records) {
          std::vector<history::Record> copy = records;
          outbox_->push(copy);
        });
      }
      arm_forwarding();
    } else if (mode_ == config::RedundancyMode::master) {
      inbox_ = std::make_shared<Connection>(Connection{history::store_for(h), {}});
    }
  }
  settings_ = cfg.history;
  // Recording first, so that points offered their state by configure() are recorded on an
  // active node.
  history_->set_recording(active_);
  history_->configure(cfg);
}

void NodeHistory::set_active(bool active) {
  if (active != active_) {
    const history::Millis now = history::to_millis(ex_.wall_now());
    if (active)
      active_log_.emplace_back(now, std::nullopt);
    else if (!active_log_.empty())
      active_log_.back().second = now;
  }
  active_ = active;
  if (history_) history_->set_recording(active);
}

void NodeHistory::stop() {
  if (forward_timer_) ex_.cancel(forward_timer_);
  forward_timer_ = {};
  // A job still running off the I/O thread keeps its connection and finishes; what it would
  // do next on the I/O thread is dropped (its weak reference expires here).
  alive_ = std::make_shared<bool>(true);
  forwarding_ = false;
  awaiting_answer_ = false;
  counting_ = false;
  in_flight_.clear();
  held_back_.clear();
  inbox_busy_ = false;
  history_.reset();  // writes what it holds (and feeds the outbox) first
  outbox_.reset();
  cache_.reset();
  inbox_.reset();
  settings_.reset();
}

// ------------------------------------------------------------------ backup: forwarding ---

void NodeHistory::arm_forwarding() {
  forward_timer_ = ex_.schedule_after(kForwardPeriod, [this] {
    forward_timer_ = {};
    forward_next();
    arm_forwarding();
  });
}

// Records on their way to the cache: in the writer that feeds it (full: the outbox; partial:
// the node's own writer, whose store is the cache).
std::uint64_t NodeHistory::cache_queued() const {
  if (outbox_) return outbox_->status().queued;
  return history_ ? history_->status().queued : 0;
}

void NodeHistory::count_pending() {
  if (counting_ || forwarding_) return;
  counting_ = true;
  auto count = std::make_shared<std::optional<std::uint64_t>>();
  ex_.offload(
      [cache = cache_, count] {
        try {
          *count = cache->get().count();
        } catch (const history::StoreError&) {
          cache->store.reset();
        }
      },
      [this, alive = std::weak_ptr<bool>(alive_), count] {
        if (alive.expired()) return;
        counting_ = false;
        if (*count) pending_ = **count + cache_queued();
      });
}

void NodeHistory::forward_next() {
  if (!cache_ || !peer_.linked) return;
  if (!peer_.linked()) {
    // The master's coverage is asked for again on the next link: it may restart meanwhile.
    master_coverage_.reset();
    // A batch sent on the lost link is not answered: the next link sends it again at once.
    if (awaiting_answer_) {
      awaiting_answer_ = false;
      forwarding_ = false;
      ++forward_seq_;
    }
    // What the backup records while the link is down waits for it: `pending` shows it.
    count_pending();
    return;
  }
  if (forwarding_ && ex_.now() - forward_started_ < kForwardTimeout) return;
  forwarding_ = true;
  forward_started_ = ex_.now();
  struct Read {
    std::vector<history::Record> batch;
    std::uint64_t count = 0;
    std::string error;
  };
  auto read = std::make_shared<Read>();
  ex_.offload(
      [cache = cache_, read] {
        try {
          read->batch = cache->get().read_first(kForwardBatch);
          read->count = cache->get().count();
        } catch (const history::StoreError& e) {
          cache->store.reset();
          read->error = e.what();
        }
      },
      [this, alive = std::weak_ptr<bool>(alive_), read] {
        if (alive.expired()) return;
        if (!read->error.empty()) {
          forwarding_ = false;
          spdlog::warn("history: reading the forwarding cache failed: {}", read->error);
          return;
        }
        pending_ = read->count + cache_queued();
        send_batch(std::move(read->batch));
      });
}

void NodeHistory::send_batch(std::vector<history::Record> batch) {
  if (batch.empty() && announced_) {
    forwarding_ = false;
    return;
  }
  rd::HistoryForward m;
  m.seq = ++forward_seq_;
  m.level = std::string(config::to_string(level_));
  // partial: only what the master did not record itself; without its coverage yet, an empty
  // batch asks for it first.
  const bool partial = level_ == config::HistoryLevel::partial;
  if (partial && !master_coverage_) batch.clear();
  in_flight_.clear();
  held_back_.clear();
  for (auto& r : batch) {
    if (!partial || history::forward_partial(*master_coverage_, r)) {
      m.records.push_back(history::record_json(r));
      in_flight_.push_back(std::move(r));
    } else {
      held_back_.push_back(std::move(r));
    }
  }
  if (!peer_.linked()) {
    forwarding_ = false;
    return;
  }
  awaiting_answer_ = true;
  peer_.send(m);
}

void NodeHistory::on_forwarded(const rd::HistoryForwarded& m) {
  if (!forwarding_ || m.seq != forward_seq_) return;  // an answer to a batch given up on
  awaiting_answer_ = false;
  announced_ = true;
  const auto coverage = history::Coverage::from_json(m.started_at, m.active);
  if (coverage) master_coverage_ = *coverage;
  if (!m.error.empty()) {
    // Tried again every second: said once per reason, not once per try.
    if (m.error != refusal_)
      spdlog::warn("history: the master could not take forwarded records: {}", m.error);
    refusal_ = m.error;
    forwarding_ = false;
    return;
  }
  refusal_.clear();
  const std::size_t sent = in_flight_.size();
  const bool full_batch = sent + held_back_.size() == kForwardBatch;
  auto done = std::make_shared<std::vector<history::Record>>(std::move(in_flight_));
  in_flight_.clear();
  // Held back by the coverage the batch was sent with: dropped only if the master's coverage as
  // it is now still covers them (a split), else kept for the next batch.
  if (coverage)
    for (auto& r : held_back_)
      if (!history::forward_partial(*coverage, r)) done->push_back(std::move(r));
  held_back_.clear();
  auto error = std::make_shared<std::string>();
  ex_.offload(
      [cache = cache_, done, error] {
        try {
          if (!done->empty()) cache->get().erase(*done);
        } catch (const history::StoreError& e) {
          cache->store.reset();
          *error = e.what();
        }
      },
      [this, alive = std::weak_ptr<bool>(alive_), done, sent, full_batch, error] {
        if (alive.expired()) return;
        forwarding_ = false;
        if (!error->empty()) {
          // Sent again later: the master replaces records it already holds.
          spdlog::warn("history: clearing forwarded records from the cache failed: {}", *error);
          return;
        }
        forwarded_ += sent;
        pending_ -= std::min<std::uint64_t>(pending_, done->size());
        if (full_batch) forward_next();
      });
}

// ------------------------------------------------------------------- master: receiving ---

history::Coverage NodeHistory::coverage() const {
  history::Coverage c;
  c.started_at = started_at_;
  c.active = active_log_;
  return c;
}

void NodeHistory::on_forward(const rd::HistoryForward& m) {
  if (m.level == "full") announced_level_ = config::HistoryLevel::full;
  if (m.level == "partial") announced_level_ = config::HistoryLevel::partial;
  rd::HistoryForwarded answer;
  answer.seq = m.seq;
  answer.started_at = started_at_;
  answer.active = coverage().active_json();
  const auto reply = [this](rd::HistoryForwarded a) {
    if (peer_.send) peer_.send(a);
  };
  if (!inbox_) {
    answer.error = "the master keeps no history";
    return reply(std::move(answer));
  }
  auto records = history::records_from_json(m.records);
  if (!records) {
    answer.error = "malformed records";
    return reply(std::move(answer));
  }
  if (records->empty()) return reply(std::move(answer));
  if (inbox_busy_) {
    answer.error = "busy with an earlier batch";
    return reply(std::move(answer));
  }
  inbox_busy_ = true;
  auto batch = std::make_shared<std::vector<history::Record>>(std::move(*records));
  auto error = std::make_shared<std::string>();
  ex_.offload(
      [inbox = inbox_, batch, error] {
        try {
          inbox->get().write(*batch);
        } catch (const history::StoreError& e) {
          inbox->store.reset();
          *error = e.what();
        }
      },
      [this, alive = std::weak_ptr<bool>(alive_), batch, error, answer, reply]() mutable {
        if (alive.expired()) return;
        inbox_busy_ = false;
        answer.error = *error;
        if (error->empty()) {
          answer.written = batch->size();
          received_ += batch->size();
        }
        answer.active = coverage().active_json();
        reply(std::move(answer));
      });
}

void NodeHistory::on_message(const rd::Message& m) {
  if (const auto* f = std::get_if<rd::HistoryForward>(&m)) return on_forward(*f);
  if (const auto* a = std::get_if<rd::HistoryForwarded>(&m)) return on_forwarded(*a);
}

std::optional<api::RedundancyView::History> NodeHistory::redundancy_view() const {
  if (!history_ || mode_ == config::RedundancyMode::independent) return std::nullopt;
  api::RedundancyView::History v;
  if (is_backup()) {
    v.level = std::string(config::to_string(level_));
    v.pending = pending_;
    v.forwarded = forwarded_;
  } else {
    v.level = std::string(config::to_string(announced_level_.value_or(level_)));
    v.forwarded = received_;
  }
  return v;
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
      out.records.push_back({history::from_millis(s.time), value_of(s.value),
                             runtime::same_state<api::Quality>(s.quality)});
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
