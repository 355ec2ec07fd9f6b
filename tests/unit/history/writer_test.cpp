// The history writer (src/history/writer.hpp; spec/history.md "Faults"): records reach the
// store in order, exactly once, through failed opens and writes; the queue's bound; queries
// answered on the executor's thread; stop()'s flush; retention's cutoff. The store is a fake
// that fails when told to. The writer's threads run on real time, so the options use
// millisecond intervals and every wait polls with a deadline of a few seconds.
#include "history/writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/manual_executor.hpp"

namespace pollux::history {
namespace {

using std::chrono::milliseconds;

// What the fake stores share with the test: failures to inject and what they got.
struct FakeBackend {
  std::mutex mutex;
  int fail_opens = 0;    // the next N opens throw; negative: every one
  int fail_writes = 0;   // likewise for writes
  int fail_queries = 0;  // likewise for read_raw and read_intervals
  int opens = 0;
  int open_now = 0;             // connections not yet closed
  std::vector<Record> written;  // committed, in order
  std::vector<Millis> cutoffs;  // delete_before calls

  static bool take(int& n) {
    if (n == 0) return false;
    if (n > 0) --n;
    return true;
  }
};

class FakeStore final : public Store {
 public:
  explicit FakeStore(std::shared_ptr<FakeBackend> b) : b_(std::move(b)) {}
  ~FakeStore() override {
    std::lock_guard lock(b_->mutex);
    --b_->open_now;
  }

  void write(std::span<const Record> records) override {
    std::lock_guard lock(b_->mutex);
    if (FakeBackend::take(b_->fail_writes)) throw StoreError("database or disk is full");
    b_->written.insert(b_->written.end(), records.begin(), records.end());
  }
  RawPage read_raw(const RawQuery& q) override {
    std::lock_guard lock(b_->mutex);
    if (FakeBackend::take(b_->fail_queries)) throw StoreError("connection lost");
    RawPage page;
    for (const Record& r : b_->written)
      if (r.series->device == q.device && r.series->point == q.point && r.time >= q.from &&
          r.time < q.to)
        page.records.push_back({r.time, r.value, r.quality});
    return page;
  }
  WindowPage read_window(const WindowQuery& q) override {
    std::lock_guard lock(b_->mutex);
    if (FakeBackend::take(b_->fail_queries)) throw StoreError("connection lost");
    WindowPage page;
    for (const Record& r : b_->written)
      if (r.time >= q.from && r.time < q.to) page.records.push_back(r);
    return page;
  }
  std::vector<Interval> read_intervals(const AggregateQuery& q) override {
    std::lock_guard lock(b_->mutex);
    if (FakeBackend::take(b_->fail_queries)) throw StoreError("connection lost");
    return {Interval{.start = q.from, .count = b_->written.size()}};
  }
  std::uint64_t delete_before(Millis cutoff) override {
    std::lock_guard lock(b_->mutex);
    b_->cutoffs.push_back(cutoff);
    return 0;
  }
  std::vector<Record> read_first(std::size_t) override { return {}; }
  void erase(std::span<const Record>) override {}
  std::uint64_t count() override { return 0; }

 private:
  std::shared_ptr<FakeBackend> b_;
};

StoreFactory fake_factory(std::shared_ptr<FakeBackend> b) {
  return [b]() -> std::unique_ptr<Store> {
    std::lock_guard lock(b->mutex);
    ++b->opens;
    if (FakeBackend::take(b->fail_opens))
      throw StoreError("unable to open database file: /nonexistent/history.db");
    ++b->open_now;
    return std::make_unique<FakeStore>(b);
  };
}

// Polls `done` until it holds or a few seconds pass.
template <class F>
bool eventually(F done, std::chrono::seconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

const SeriesRef kPressure = std::make_shared<const Series>(Series{"WELL_01", "PRESSURE"});

std::vector<Record> records(Millis from, std::size_t count) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < count; ++i) {
    const Millis t = from + static_cast<Millis>(i);
    out.push_back(Record{kPressure, t, points::Value{static_cast<double>(t)}, Quality::good});
  }
  return out;
}

WriterOptions fast() {
  WriterOptions o;
  o.queue.commit_interval = milliseconds(2);
  o.queue.batch_records = 50;
  o.queue.retry_min = milliseconds(1);
  o.queue.retry_max = milliseconds(4);
  o.open_retry = milliseconds(5);
  o.retention_days = 0;
  o.stop_flush_limit = std::chrono::seconds(2);
  return o;
}

class HistoryWriter : public ::testing::Test {
 protected:
  std::vector<Millis> written_times() {
    std::lock_guard lock(backend->mutex);
    std::vector<Millis> out;
    for (const Record& r : backend->written)
      out.push_back(r.time);
    return out;
  }
  std::size_t written_count() {
    std::lock_guard lock(backend->mutex);
    return backend->written.size();
  }
  template <class F>
  void with_backend(F f) {
    std::lock_guard lock(backend->mutex);
    f(*backend);
  }
  static std::vector<Millis> sequence(Millis from, std::size_t count) {
    std::vector<Millis> out;
    for (std::size_t i = 0; i < count; ++i)
      out.push_back(from + static_cast<Millis>(i));
    return out;
  }
  void push(Writer& w, Millis from, std::size_t count) {
    std::vector<Record> r = records(from, count);
    w.push(r);
    EXPECT_TRUE(r.empty());
  }

  std::shared_ptr<FakeBackend> backend = std::make_shared<FakeBackend>();
  runtime::ManualExecutor io;
};

TEST_F(HistoryWriter, RecordsArriveInOrder) {
  Writer w(fake_factory(backend), io, fast());
  w.start();
  for (Millis from = 0; from < 300; from += 30)
    push(w, from, 30);
  // The store holds a batch a moment before the writer counts it: wait for the count.
  ASSERT_TRUE(eventually([&] { return w.status().written == 300; }));
  EXPECT_EQ(written_times(), sequence(0, 300));
  const WriterStatus s = w.status();
  EXPECT_EQ(s.written, 300u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.write_errors, 0u);
  EXPECT_EQ(s.error, "");
  EXPECT_GE(s.write_seconds.count, 6u);  // batches of at most 50
  w.stop();
  EXPECT_EQ(written_count(), 300u);
}

// A failing store keeps the records queued and in order; the status shows why; once it
// recovers every record is written exactly once. Each failure drops the connection, so the
// retry opens a new one.
TEST_F(HistoryWriter, FailingWritesKeepRecordsQueuedInOrder) {
  with_backend([](FakeBackend& b) { b.fail_writes = -1; });
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 40);
  ASSERT_TRUE(eventually([&] { return w.status().write_errors >= 3; }));
  push(w, 40, 40);  // behind the failed batch
  WriterStatus s = w.status();
  EXPECT_EQ(s.error, "database or disk is full");
  EXPECT_EQ(s.queued, 80u);
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.dropped, 0u);
  with_backend([](FakeBackend& b) { b.fail_writes = 0; });
  ASSERT_TRUE(eventually([&] { return w.status().written == 80; }));
  EXPECT_EQ(written_times(), sequence(0, 80));
  s = w.status();
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.queued, 0u);
  with_backend([&](FakeBackend& b) {
    EXPECT_EQ(b.opens, static_cast<int>(s.write_errors) + 1);  // one per failure, and the first
    EXPECT_EQ(b.open_now, 1);
  });
}

TEST_F(HistoryWriter, CountsEachFailedWriteOnce) {
  with_backend([](FakeBackend& b) { b.fail_writes = 3; });
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 10);
  ASSERT_TRUE(eventually([&] { return w.status().written == 10; }));
  EXPECT_EQ(w.status().write_errors, 3u);
  EXPECT_EQ(written_times(), sequence(0, 10));
}

// The store cannot be opened: records wait, the error shows, the open is retried.
TEST_F(HistoryWriter, OpenFailureRetried) {
  with_backend([](FakeBackend& b) { b.fail_opens = -1; });
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 20);
  ASSERT_TRUE(eventually([&] { return w.status().write_errors >= 2; }));
  WriterStatus s = w.status();
  EXPECT_EQ(s.error, "unable to open database file: /nonexistent/history.db");
  EXPECT_EQ(s.queued, 20u);
  EXPECT_EQ(s.written, 0u);
  with_backend([](FakeBackend& b) { b.fail_opens = 0; });
  ASSERT_TRUE(eventually([&] { return w.status().written == 20; }));
  EXPECT_EQ(written_times(), sequence(0, 20));
  s = w.status();
  EXPECT_EQ(s.error, "");
  with_backend([&](FakeBackend& b) { EXPECT_EQ(b.opens, static_cast<int>(s.write_errors) + 1); });
}

// The open retry waits open_retry: with a long one, a failed open is not retried at once.
TEST_F(HistoryWriter, OpenRetryWaitsItsInterval) {
  with_backend([](FakeBackend& b) { b.fail_opens = 1; });
  WriterOptions o = fast();
  o.open_retry = std::chrono::seconds(60);
  o.stop_flush_limit = milliseconds(1);
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 5);
  ASSERT_TRUE(eventually([&] { return w.status().write_errors == 1; }));
  std::this_thread::sleep_for(milliseconds(50));  // many commit intervals and retry_max
  with_backend([](FakeBackend& b) { EXPECT_EQ(b.opens, 1); });
  EXPECT_EQ(w.status().queued, 5u);
}

// Records wait, bounded, while the store is down; past the bound the oldest go and are counted.
TEST_F(HistoryWriter, QueueBoundDropsOldestWhileStoreIsDown) {
  with_backend([](FakeBackend& b) { b.fail_opens = -1; });
  WriterOptions o = fast();
  o.queue.max_records = 25;
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 20);
  push(w, 20, 20);
  WriterStatus s = w.status();
  EXPECT_EQ(s.queued, 25u);
  EXPECT_EQ(s.dropped, 15u);
  with_backend([](FakeBackend& b) { b.fail_opens = 0; });
  ASSERT_TRUE(eventually([&] { return w.status().written == 25; }));
  EXPECT_EQ(written_times(), sequence(15, 25));
  EXPECT_EQ(w.status().dropped, 15u);
}

TEST_F(HistoryWriter, QueryAnswersArePostedToTheExecutor) {
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 10);
  ASSERT_TRUE(eventually([&] { return written_count() == 10; }));
  const auto test_thread = std::this_thread::get_id();
  std::optional<RawAnswer> raw;
  std::optional<IntervalsAnswer> agg;
  std::optional<WindowAnswer> window;
  w.query_window({.from = 7, .to = 9}, [&](WindowAnswer a) {
    EXPECT_EQ(std::this_thread::get_id(), test_thread);
    window = std::move(a);
  });
  w.query_raw({.device = "WELL_01", .point = "PRESSURE", .from = 2, .to = 5}, [&](RawAnswer a) {
    EXPECT_EQ(std::this_thread::get_id(), test_thread);
    raw = std::move(a);
  });
  w.query_intervals({.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 10},
                    [&](IntervalsAnswer a) {
                      EXPECT_EQ(std::this_thread::get_id(), test_thread);
                      agg = std::move(a);
                    });
  // Nothing runs `done` but the executor.
  ASSERT_TRUE(eventually([&] {
    io.run_pending();
    return raw && agg && window;
  }));
  ASSERT_TRUE(window->page);
  ASSERT_EQ(window->page->records.size(), 2u);
  EXPECT_EQ(window->page->records[0].time, 7);
  EXPECT_EQ(window->page->records[0].series->point, "PRESSURE");
  ASSERT_TRUE(raw->page);
  EXPECT_EQ(raw->error, "");
  ASSERT_EQ(raw->page->records.size(), 3u);
  EXPECT_EQ(raw->page->records[0].time, 2);
  EXPECT_EQ(raw->page->records[2].value, points::Value{4.0});
  ASSERT_TRUE(agg->intervals);
  ASSERT_EQ(agg->intervals->size(), 1u);
  EXPECT_EQ((*agg->intervals)[0].count, 10u);
}

TEST_F(HistoryWriter, AnswersWaitForTheExecutor) {
  Writer w(fake_factory(backend), io, fast());
  w.start();
  bool answered = false;
  w.query_raw({.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 1},
              [&](RawAnswer) { answered = true; });
  // The query thread posts its answer (opening its connection on the way); only
  // run_pending() delivers it.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(backend->mutex);
    return backend->opens >= 1;
  }));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(answered);
  ASSERT_TRUE(eventually([&] {
    io.run_pending();
    return answered;
  }));
}

// A failing query answers with the error and drops its connection; the next one reopens.
TEST_F(HistoryWriter, FailingQueryAnswersWithErrorAndReopens) {
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 3);
  ASSERT_TRUE(eventually([&] { return written_count() == 3; }));
  const int opens_before = [&] {
    std::lock_guard lock(backend->mutex);
    return backend->opens;
  }();
  with_backend([](FakeBackend& b) { b.fail_queries = 1; });
  std::vector<RawAnswer> answers;
  const RawQuery q{.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 100};
  w.query_raw(q, [&](RawAnswer a) { answers.push_back(std::move(a)); });
  w.query_raw(q, [&](RawAnswer a) { answers.push_back(std::move(a)); });
  ASSERT_TRUE(eventually([&] {
    io.run_pending();
    return answers.size() == 2;
  }));
  EXPECT_FALSE(answers[0].page);
  EXPECT_EQ(answers[0].error, "connection lost");
  ASSERT_TRUE(answers[1].page);
  EXPECT_EQ(answers[1].page->records.size(), 3u);
  with_backend([&](FakeBackend& b) { EXPECT_EQ(b.opens - opens_before, 2); });
}

// A connection that served a query and died since (a restarted server) costs no failed
// answer: the query is asked again on a fresh connection. When that fails too, the error is
// the answer.
TEST_F(HistoryWriter, QueryOnADeadKeptConnectionIsAskedAgainOnAFreshOne) {
  Writer w(fake_factory(backend), io, fast());
  w.start();
  push(w, 0, 3);
  ASSERT_TRUE(eventually([&] { return written_count() == 3; }));
  std::vector<RawAnswer> answers;
  const RawQuery q{.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 100};
  const auto ask = [&] {
    w.query_raw(q, [&](RawAnswer a) { answers.push_back(std::move(a)); });
    const std::size_t n = answers.size() + 1;
    return eventually([&] {
      io.run_pending();
      return answers.size() == n;
    });
  };
  ASSERT_TRUE(ask());  // opens the query connection, which is kept
  ASSERT_TRUE(answers[0].page);
  const int opens_before = [&] {
    std::lock_guard lock(backend->mutex);
    return backend->opens;
  }();
  with_backend([](FakeBackend& b) { b.fail_queries = 1; });
  ASSERT_TRUE(ask());
  ASSERT_TRUE(answers[1].page) << answers[1].error;
  EXPECT_EQ(answers[1].page->records.size(), 3u);
  with_backend([&](FakeBackend& b) { EXPECT_EQ(b.opens - opens_before, 1); });
  with_backend([](FakeBackend& b) { b.fail_queries = 2; });
  ASSERT_TRUE(ask());
  EXPECT_FALSE(answers[2].page);
  EXPECT_EQ(answers[2].error, "connection lost");
  ASSERT_TRUE(ask());
  EXPECT_TRUE(answers[3].page);
}

TEST_F(HistoryWriter, QueryWhenTheStoreCannotOpen) {
  with_backend([](FakeBackend& b) { b.fail_opens = -1; });
  Writer w(fake_factory(backend), io, fast());
  w.start();
  std::optional<IntervalsAnswer> a;
  w.query_intervals({.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 1},
                    [&](IntervalsAnswer x) { a = std::move(x); });
  ASSERT_TRUE(eventually([&] {
    io.run_pending();
    return a.has_value();
  }));
  EXPECT_FALSE(a->intervals);
  EXPECT_EQ(a->error, "unable to open database file: /nonexistent/history.db");
}

// stop() writes what waits, without waiting for the commit interval.
TEST_F(HistoryWriter, StopFlushes) {
  WriterOptions o = fast();
  o.queue.commit_interval = std::chrono::seconds(60);
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 7);
  w.stop();
  EXPECT_EQ(written_times(), sequence(0, 7));
  EXPECT_EQ(w.status().queued, 0u);
  with_backend([](FakeBackend& b) { EXPECT_EQ(b.open_now, 0); });  // closed at the end
}

// With the store failing, stop() gives up after stop_flush_limit.
TEST_F(HistoryWriter, StopGivesUpAfterFlushLimit) {
  with_backend([](FakeBackend& b) { b.fail_writes = -1; });
  WriterOptions o = fast();
  o.stop_flush_limit = milliseconds(50);
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 5);
  ASSERT_TRUE(eventually([&] { return w.status().write_errors >= 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(written_count(), 0u);
  EXPECT_EQ(w.status().queued, 5u);
}

// hand_over() (a reload that changed the store) returns what waits for a failing store at once,
// in order, instead of trying it until stop_flush_limit; later pushes are dropped.
TEST_F(HistoryWriter, HandOverReturnsWaitingRecordsWithoutWaitingForTheStore) {
  with_backend([](FakeBackend& b) { b.fail_writes = -1; });
  WriterOptions o = fast();
  o.stop_flush_limit = std::chrono::seconds(30);
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 5);
  ASSERT_TRUE(eventually([&] { return w.status().write_errors >= 1; }));
  push(w, 5, 2);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Record> waiting = w.hand_over();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  std::vector<Millis> times;
  for (const Record& r : waiting)
    times.push_back(r.time);
  EXPECT_EQ(times, sequence(0, 7));
  EXPECT_EQ(written_count(), 0u);
  EXPECT_EQ(w.status().queued, 0u);
  std::vector<Record> later = records(7, 1);
  w.push(later);
  EXPECT_EQ(w.status().queued, 0u);
  w.stop();
  with_backend([](FakeBackend& b) { EXPECT_EQ(b.open_now, 0); });
}

// Queries still queued at stop() (here: never started) and later ones answer "history
// stopped", through the executor; records pushed after stop() are dropped.
TEST_F(HistoryWriter, StopAnswersPendingQueries) {
  Writer w(fake_factory(backend), io, fast());
  std::vector<std::string> errors;
  const RawQuery q{.device = "WELL_01", .point = "PRESSURE", .from = 0, .to = 1};
  w.query_raw(q, [&](RawAnswer a) { errors.push_back(a.error); });
  w.stop();
  w.query_raw(q, [&](RawAnswer a) { errors.push_back(a.error); });
  EXPECT_TRUE(errors.empty());  // posted, not run inline
  io.run_pending();
  EXPECT_EQ(errors, (std::vector<std::string>{"history stopped", "history stopped"}));
  std::vector<Record> r = records(0, 3);
  w.push(r);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(w.status().queued, 0u);
}

TEST_F(HistoryWriter, StopTwiceThenDestructor) {
  auto w = std::make_unique<Writer>(fake_factory(backend), io, fast());
  w->start();
  push(*w, 0, 3);
  w->stop();
  w->stop();
  w.reset();
  EXPECT_EQ(written_count(), 3u);
}

TEST_F(HistoryWriter, DestructorStopsAndFlushes) {
  {
    WriterOptions o = fast();
    o.queue.commit_interval = std::chrono::seconds(60);
    Writer w(fake_factory(backend), io, o);
    w.start();
    push(w, 0, 4);
  }
  EXPECT_EQ(written_count(), 4u);
}

// Retention: at open, then every retention_every, deleting before now_wall - days.
TEST_F(HistoryWriter, RetentionDeletesBeforeTheCutoff) {
  const runtime::WallTime wall{std::chrono::sys_days{std::chrono::year{2026} / 3 / 31}};
  WriterOptions o = fast();
  o.retention_days = 30;
  o.retention_every = milliseconds(5);
  o.wall_now = [wall] { return wall; };
  Writer w(fake_factory(backend), io, o);
  w.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(backend->mutex);
    return backend->cutoffs.size() >= 3;
  }));
  const Millis expected = 1'772'323'200'000;  // 2026-03-01T00:00:00Z
  with_backend([&](FakeBackend& b) {
    for (Millis c : b.cutoffs)
      EXPECT_EQ(c, expected);
  });
}

// A reload's new retention runs at once, not a retention_every later.
TEST_F(HistoryWriter, RetentionChangeRunsAtOnce) {
  const runtime::WallTime wall{std::chrono::sys_days{std::chrono::year{2026} / 3 / 31}};
  WriterOptions o = fast();
  o.retention_days = 30;
  o.retention_every = std::chrono::hours(1);
  o.wall_now = [wall] { return wall; };
  Writer w(fake_factory(backend), io, o);
  w.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(backend->mutex);
    return backend->cutoffs.size() == 1;
  }));
  w.set_retention_days(1);
  const Millis expected = 1'774'828'800'000;  // 2026-03-30T00:00:00Z
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(backend->mutex);
    return backend->cutoffs.size() == 2;
  }));
  with_backend([&](FakeBackend& b) { EXPECT_EQ(b.cutoffs.back(), expected); });
}

TEST_F(HistoryWriter, RetentionZeroKeepsForever) {
  WriterOptions o = fast();
  o.retention_days = 0;
  o.retention_every = milliseconds(1);
  Writer w(fake_factory(backend), io, o);
  w.start();
  push(w, 0, 3);
  ASSERT_TRUE(eventually([&] { return written_count() == 3; }));
  std::this_thread::sleep_for(milliseconds(20));
  with_backend([](FakeBackend& b) { EXPECT_TRUE(b.cutoffs.empty()); });
  // Switched on by a reload: it runs at once.
  w.set_retention_days(10);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(backend->mutex);
    return !backend->cutoffs.empty();
  }));
}

// push() from the I/O thread never waits for a write: a write that blocks in the store does
// not block push().
TEST_F(HistoryWriter, PushDoesNotWaitForTheStore) {
  struct BlockingStore final : Store {
    std::mutex& gate;
    std::atomic<bool>& entered;
    std::shared_ptr<FakeBackend> b;
    BlockingStore(std::mutex& g, std::atomic<bool>& e, std::shared_ptr<FakeBackend> be)
        : gate(g), entered(e), b(std::move(be)) {}
    void write(std::span<const Record> records) override {
      entered = true;
      std::lock_guard wait(gate);
      std::lock_guard lock(b->mutex);
      b->written.insert(b->written.end(), records.begin(), records.end());
    }
    RawPage read_raw(const RawQuery&) override { return {}; }
    WindowPage read_window(const WindowQuery&) override { return {}; }
    std::vector<Interval> read_intervals(const AggregateQuery&) override { return {}; }
    std::uint64_t delete_before(Millis) override { return 0; }
    std::vector<Record> read_first(std::size_t) override { return {}; }
    void erase(std::span<const Record>) override {}
    std::uint64_t count() override { return 0; }
  };
  std::mutex gate;
  std::unique_lock hold(gate);
  std::atomic<bool> entered{false};
  StoreFactory f = [&]() -> std::unique_ptr<Store> {
    return std::make_unique<BlockingStore>(gate, entered, backend);
  };
  Writer w(f, io, fast());
  w.start();
  push(w, 0, 5);
  ASSERT_TRUE(eventually([&] { return entered.load(); }));  // the writer waits inside write()
  for (Millis from = 5; from < 500; from += 5)
    push(w, from, 5);  // would hang here if push() waited for the store
  EXPECT_EQ(written_count(), 0u);
  EXPECT_EQ(w.status().queued, 500u);  // status() does not wait either
  hold.unlock();
  ASSERT_TRUE(eventually([&] { return written_count() == 500; }));
  EXPECT_EQ(written_times(), sequence(0, 500));
}

}  // namespace
}  // namespace pollux::history
