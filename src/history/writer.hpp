// The history writer: a thread that owns the writing connection and another that answers
// queries, both off the I/O thread (spec/history.md "Faults"; DESIGN.md principle 7: a slow
// disk never delays a poll).
//
// The I/O thread hands records over with push() (a short lock, never a wait on the store).
// The writer thread opens the store (retrying every `open_retry` while it fails; records wait
// meanwhile, bounded by the queue), writes batches per write_queue.hpp, retries failed writes
// with backoff, and once a `retention_every` deletes records older than retention_days. Query
// calls run on the query thread, each on a connection it opens when it has none (a query that
// fails on a connection kept from before is asked once more on a fresh one); their answer is
// posted to the executor, so `done` runs on the I/O thread.
//
// Usage:
//   Writer w(sqlite_store({.path = p}), ex, {});
//   w.start();
//   w.push(records);                              // I/O thread
//   w.query_raw(q, [](RawAnswer a) { ... });      // runs later on the I/O thread
//   WriterStatus s = w.status();                  // health and /metrics
//   w.stop();                                     // writes what waits (bounded), joins
//
// Threads and time: push(), set_retention_days(), the queries, status() and stop() may be
// called from any thread (the engine calls them from the I/O thread). The writer's two threads
// wait on a condition variable, outside the executor, so they time themselves with the steady
// clock; tests give them millisecond intervals. Answers reach the executor through
// Executor::post, the one call it allows from another thread; the executor must outlive the
// Writer (or its stop()). Wall time (retention's cutoff) comes from WriterOptions::wall_now,
// called on the writer thread, not from the executor, whose wall_now() belongs to its thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "history/store.hpp"
#include "history/write_queue.hpp"
#include "runtime/executor.hpp"
#include "runtime/histogram.hpp"

namespace pollux::history {

// Seconds a write transaction took, for pollux_history_write_seconds (bounds in ms).
inline constexpr std::array<double, 10> kWriteBoundsMs = {1,  2,   5,   10,   25,
                                                          50, 100, 250, 1000, 5000};
using WriteHistogram = runtime::Histogram<kWriteBoundsMs>;

struct WriterOptions {
  QueueLimits queue;
  runtime::Duration open_retry = std::chrono::seconds(10);
  int retention_days = 30;  // 0: keep forever
  runtime::Duration retention_every = std::chrono::hours(1);
  // stop() writes what waits for at most this long, then gives up (the rest is lost, as with
  // any stop).
  runtime::Duration stop_flush_limit = std::chrono::seconds(5);
  // Wall time for retention's cutoff; called on the writer thread, so it must be thread-safe.
  std::function<runtime::WallTime()> wall_now = [] { return std::chrono::system_clock::now(); };
};

struct WriterStatus {
  // Empty when the store works (opened, last write succeeded); else why not.
  std::string error;
  std::size_t queued = 0;
  std::uint64_t written = 0;       // records committed
  std::uint64_t write_errors = 0;  // failed opens and writes
  std::uint64_t dropped = 0;       // oldest records dropped past the queue bound
  WriteHistogram write_seconds;
};

struct RawAnswer {
  std::optional<RawPage> page;  // none: error says why
  std::string error;
};
struct WindowAnswer {
  std::optional<WindowPage> page;  // none: error says why
  std::string error;
};
struct IntervalsAnswer {
  std::optional<std::vector<Interval>> intervals;
  std::string error;
};

class Writer {
 public:
  Writer(StoreFactory factory, runtime::Executor& io, WriterOptions options = {});
  ~Writer();  // stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  // Ends both threads: a query under way finishes and is answered, the writer writes what
  // waits for at most stop_flush_limit, and queries still queued are answered (posted) with
  // the error "history stopped", as is any query asked later. Records pushed later are
  // dropped. Safe to call twice; the destructor calls it.
  void stop();
  // Ends both threads like stop(), but writes nothing more: the records still waiting are
  // returned, oldest first, for the writer of another store (a reload that changed the store).
  // Nothing is lost, and the caller waits at most for an open or write under way, never for
  // the retries of a store that fails.
  std::vector<Record> hand_over();

  // From the I/O thread; moves the records out of `records` (left empty, capacity kept).
  void push(std::vector<Record>& records);
  // A reload's new retention; a positive one runs at once (on the writer thread), then every
  // retention_every.
  void set_retention_days(int days);

  void query_raw(RawQuery q, std::function<void(RawAnswer)> done);
  void query_intervals(AggregateQuery q, std::function<void(IntervalsAnswer)> done);
  void query_window(WindowQuery q, std::function<void(WindowAnswer)> done);

  WriterStatus status() const;

 private:
  struct Shared;
  // Ends the threads; the writer writes what waits until `flush_limit` has passed.
  void end(runtime::Duration flush_limit);
  std::shared_ptr<Shared> shared_;
  std::thread writer_;
  std::thread querier_;
};

}  // namespace pollux::history
