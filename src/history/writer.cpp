#include "history/writer.hpp"

#include <deque>
#include <exception>
#include <utility>

namespace pollux::history {
namespace {

using SteadyClock = std::chrono::steady_clock;
using runtime::Task;
using runtime::TimePoint;

// Milliseconds since the epoch, as to_millis (record.hpp) counts them.
Millis millis_since_epoch(runtime::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Opens a connection; a factory that returns none is an error like one that throws.
std::unique_ptr<Store> open_store(const StoreFactory& open) {
  std::unique_ptr<Store> store = open();
  if (!store) throw StoreError("the history store could not be opened");
  return store;
}

// Runs `f`; returns its error message, empty when it succeeded. A store reports StoreError,
// but anything it throws must end as a status, never as std::terminate on a thread.
template <class F>
std::string try_store(F&& f) {
  try {
    f();
    return {};
  } catch (const std::exception& e) {
    std::string what = e.what();
    return what.empty() ? std::string("history store error") : what;
  } catch (...) {
    return "history store error";
  }
}

double milliseconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One query waiting for the query thread. `done` moves into the answer task, so it is
// destroyed on the executor's thread with it, never on the query thread.
class QueryJob {
 public:
  virtual ~QueryJob() = default;
  // The answer from `store`; throws as the store does (the job is then still whole).
  virtual Task answer(Store& store) = 0;
  virtual Task answer_error(std::string error) = 0;
};

template <class Query, class Answer>
class QueryJobOf final : public QueryJob {
 public:
  using Read = void (*)(Store&, const Query&, Answer&);
  QueryJobOf(Query query, std::function<void(Answer)> done, Read read)
      : query_(std::move(query)), done_(std::move(done)), read_(read) {}

  Task answer(Store& store) override {
    Answer a;
    read_(store, query_, a);
    return deliver(std::move(a));
  }
  Task answer_error(std::string error) override {
    Answer a;
    a.error = std::move(error);
    return deliver(std::move(a));
  }

 private:
  Task deliver(Answer a) {
    return [done = std::move(done_), a = std::move(a)]() mutable {
      if (done) done(std::move(a));
    };
  }

  Query query_;
  std::function<void(Answer)> done_;
  Read read_;
};

void read_raw(Store& s, const RawQuery& q, RawAnswer& a) {
  a.page = s.read_raw(q);
}
void read_window(Store& s, const WindowQuery& q, WindowAnswer& a) {
  a.page = s.read_window(q);
}
void read_intervals(Store& s, const AggregateQuery& q, IntervalsAnswer& a) {
  a.intervals = s.read_intervals(q);
}

constexpr const char* kStopped = "history stopped";

WriterOptions with_defaults(WriterOptions o) {
  if (!o.wall_now) o.wall_now = [] { return std::chrono::system_clock::now(); };
  return o;
}

}  // namespace

// What the caller's thread and the two threads share; every member below `mutex` is guarded
// by it. Held by shared_ptr so the threads never outlive what they use.
struct Writer::Shared {
  Shared(StoreFactory f, runtime::Executor& executor, WriterOptions o)
      : factory(std::move(f)),
        io(executor),
        options(with_defaults(std::move(o))),
        queue(options.queue),
        retention_days(options.retention_days) {}

  const StoreFactory factory;
  runtime::Executor& io;
  const WriterOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake_writer;
  std::condition_variable wake_querier;
  WriteQueue queue;
  WriterStatus status;  // queued and dropped come from the queue
  int retention_days;
  bool retention_now = false;  // set_retention_days asked for a run
  bool started = false;
  bool stopping = false;
  bool finished = false;  // the threads are gone: later records are dropped
  TimePoint flush_deadline{};
  std::deque<std::unique_ptr<QueryJob>> jobs;

  void write_main();
  void query_main();
  void enqueue(std::unique_ptr<QueryJob> job);
};

// The writer thread. It holds the lock except while it opens, writes or deletes, so push()
// never waits on the store.
void Writer::Shared::write_main() {
  const StoreFactory open = factory;  // a copy of its own: the query thread calls the other
  std::unique_ptr<Store> store;
  TimePoint open_at = SteadyClock::now();
  TimePoint retention_at = open_at;  // the first run follows the first open
  std::unique_lock lock(mutex);
  for (;;) {
    TimePoint now = SteadyClock::now();
    if (stopping && (queue.size() == 0 || now >= flush_deadline)) break;
    if (retention_now) {
      retention_now = false;
      retention_at = now;
    }

    if (!store && now >= open_at) {
      lock.unlock();
      const std::string error = try_store([&] { store = open_store(open); });
      lock.lock();
      if (!error.empty()) {
        status.error = error;
        ++status.write_errors;
        open_at = SteadyClock::now() + options.open_retry;
      } else if (queue.consecutive_failures() == 0) {
        status.error.clear();  // a failed write's error stays until a write succeeds
      }
      continue;
    }

    if (store && !stopping && retention_days > 0 && now >= retention_at) {
      const Millis cutoff =
          millis_since_epoch(options.wall_now() - std::chrono::hours(24) * retention_days);
      lock.unlock();
      std::string error = try_store([&] { store->delete_before(cutoff); });
      if (!error.empty()) store.reset();  // reopened at once; the next run waits its turn
      lock.lock();
      retention_at = SteadyClock::now() + options.retention_every;
      if (!error.empty()) {
        status.error = std::move(error);
        ++status.write_errors;
        open_at = SteadyClock::now();
      }
      continue;
    }

    const std::optional<TimePoint> due = queue.due();
    if (store && due && *due <= now) {
      const std::span<const Record> batch = queue.batch();
      lock.unlock();
      const TimePoint start = SteadyClock::now();
      std::string error = try_store([&] { store->write(batch); });
      const TimePoint end = SteadyClock::now();
      // A store that failed is dropped and opened again for the retry, so a lost connection or
      // a file whose directory came back recovers; closing it happens outside the lock.
      if (!error.empty()) store.reset();
      lock.lock();
      // Failed attempts are timed too: a store that takes seconds to fail is worth seeing.
      status.write_seconds.observe(milliseconds_between(start, end));
      if (error.empty()) {
        status.written += batch.size();
        status.error.clear();
        queue.written(batch.size(), end);
      } else {
        status.error = std::move(error);
        ++status.write_errors;
        queue.failed(end);
        open_at = queue.due().value_or(end);
      }
      continue;
    }

    // Sleep until the next thing to do; push(), set_retention_days() and stop() wake it early.
    std::optional<TimePoint> wake;
    const auto earliest = [&](TimePoint t) { wake = wake ? std::min(*wake, t) : t; };
    if (!store) {
      earliest(open_at);
    } else {
      if (due) earliest(*due);
      if (!stopping && retention_days > 0) earliest(retention_at);
    }
    if (stopping) earliest(flush_deadline);
    if (wake) {
      wake_writer.wait_until(lock, *wake);
    } else {
      wake_writer.wait(lock);
    }
  }
  lock.unlock();
  store.reset();
}

// The query thread: one job at a time on a connection of its own, opened when it has none and
// dropped when a query fails, so the next query opens a fresh one.
void Writer::Shared::query_main() {
  const StoreFactory open = factory;
  std::unique_ptr<Store> store;
  for (;;) {
    std::unique_ptr<QueryJob> job;
    {
      std::unique_lock lock(mutex);
      wake_querier.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (stopping) break;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    Task answer;
    const auto ask = [&] {
      if (!store) store = open_store(open);
      answer = job->answer(*store);
    };
    // A connection kept from an earlier query may have died meanwhile (a PostgreSQL server
    // that restarted): a query that fails on one is asked once more on a fresh connection
    // before its error is the answer.
    const bool kept = store != nullptr;
    std::string error = try_store(ask);
    if (!error.empty() && kept) {
      store.reset();
      error = try_store(ask);
    }
    if (!error.empty()) {
      store.reset();
      answer = job->answer_error(error);
    }
    job.reset();
    io.post(std::move(answer));
  }
}

void Writer::Shared::enqueue(std::unique_ptr<QueryJob> job) {
  {
    std::lock_guard lock(mutex);
    if (!stopping) {
      jobs.push_back(std::move(job));
      wake_querier.notify_one();
      return;
    }
  }
  io.post(job->answer_error(kStopped));
}

Writer::Writer(StoreFactory factory, runtime::Executor& io, WriterOptions options)
    : shared_(std::make_shared<Shared>(std::move(factory), io, std::move(options))) {}

Writer::~Writer() {
  stop();
}

void Writer::start() {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->started || shared_->stopping) return;
    shared_->started = true;
  }
  writer_ = std::thread([s = shared_] { s->write_main(); });
  querier_ = std::thread([s = shared_] { s->query_main(); });
}

void Writer::stop() {
  end(shared_->options.stop_flush_limit);
}

std::vector<Record> Writer::hand_over() {
  end(runtime::Duration::zero());
  std::lock_guard lock(shared_->mutex);
  return shared_->queue.take_all();
}

void Writer::end(runtime::Duration flush_limit) {
  std::deque<std::unique_ptr<QueryJob>> unanswered;
  {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->stopping) {
      shared_->stopping = true;
      const TimePoint now = SteadyClock::now();
      shared_->flush_deadline = now + flush_limit;
      if (flush_limit > runtime::Duration::zero()) shared_->queue.flush_now(now);
    }
    unanswered.swap(shared_->jobs);
  }
  shared_->wake_writer.notify_all();
  shared_->wake_querier.notify_all();
  if (writer_.joinable()) writer_.join();
  if (querier_.joinable()) querier_.join();
  {
    std::lock_guard lock(shared_->mutex);
    shared_->finished = true;
  }
  for (auto& job : unanswered)
    shared_->io.post(job->answer_error(kStopped));
}

void Writer::push(std::vector<Record>& records) {
  if (records.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->finished) {
      records.clear();
      return;
    }
    const std::optional<TimePoint> before = shared_->queue.due();
    shared_->queue.push(records, SteadyClock::now());
    const std::optional<TimePoint> after = shared_->queue.due();
    wake = after && (!before || *after < *before);
  }
  if (wake) shared_->wake_writer.notify_one();
}

void Writer::set_retention_days(int days) {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->retention_days = days;
    shared_->retention_now = days > 0;
  }
  shared_->wake_writer.notify_one();
}

void Writer::query_raw(RawQuery q, std::function<void(RawAnswer)> done) {
  shared_->enqueue(
      std::make_unique<QueryJobOf<RawQuery, RawAnswer>>(std::move(q), std::move(done), &read_raw));
}

void Writer::query_intervals(AggregateQuery q, std::function<void(IntervalsAnswer)> done) {
  shared_->enqueue(std::make_unique<QueryJobOf<AggregateQuery, IntervalsAnswer>>(
      std::move(q), std::move(done), &read_intervals));
}

void Writer::query_window(WindowQuery q, std::function<void(WindowAnswer)> done) {
  shared_->enqueue(
      std::make_unique<QueryJobOf<WindowQuery, WindowAnswer>>(q, std::move(done), &read_window));
}

WriterStatus Writer::status() const {
  std::lock_guard lock(shared_->mutex);
  WriterStatus s = shared_->status;
  s.queued = shared_->queue.size();
  s.dropped = shared_->queue.dropped();
  return s;
}

}  // namespace pollux::history
