// A node's point history: the change feed in, the recorder's decisions out to the writer, and
// the queries back (spec/history.md; DESIGN.md data flow "change feed -> history::Recorder ->
// Store").
//
// It reads the engine's change feed at its own pace (woken by the feed, a bounded slice per
// executor turn), offers each change of a recorded point to the Recorder and hands the records
// to the Writer, which writes off the I/O thread. Recorded points: every configured point
// whose `history:` is not false, with its own deadband/max_interval_s or the section's, and
// every other point the store holds for a configured device (the SYDEV* status points) with
// the section's. A timer offers the points with max_interval_s their unchanged state once a
// second.
//
// Only an active node records (set_recording): a standby's store holds what the active node
// sent, which the active node records. A standby's recorder still follows every change it
// receives, making the same decisions without writing, so a node that takes over records
// what changes after the handover, not again each point's last state (history.md: a change
// is the first value after start, not after each handover). Points that already hold a state
// when they are first tracked (the SYDEV* points set when their device loaded) are offered
// it then.
//
// Usage (the node, on the I/O thread):
//   History h(ex, engine.changes(), engine.store(), sqlite_store({...}), cfg);
//   h.configure(cfg);          // after start and after every reload or config sync
//   h.set_recording(active);
//   h.query(q, done);          // done(answer) later on the I/O thread
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.hpp"
#include "history/recorder.hpp"
#include "history/writer.hpp"
#include "points/change_feed.hpp"
#include "points/point_store.hpp"
#include "runtime/executor.hpp"

namespace pollux::history {

// The store the section names: SQLite at `path` (capped at max_size_mb) or PostgreSQL at `url`.
StoreFactory store_for(const config::HistorySettings& s);

// What a query asks (api.md-level validation of times and limit is the HTTP layer's).
struct Query {
  std::string device;
  std::string point;
  Millis from = 0;
  Millis to = 0;
  std::size_t limit = 10'000;
  std::optional<Millis> interval;  // set: aggregates
};

struct Answer {
  int status = 200;   // 200, 400 (non-numeric aggregate), 404, 503 (store error)
  std::string error;  // when not 200
  RawPage page;
  std::vector<Interval> intervals;
};

class History {
 public:
  // Keeps references to the executor, feed and store (all outlive it). Subscribes to the feed
  // and starts the writer; records nothing until configure() and set_recording(true).
  History(runtime::Executor& ex, points::ChangeFeed& feed, const points::PointStore& store,
          StoreFactory factory, WriterOptions options);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Which points are recorded and how, from the config (after every change of it). Points
  // already tracked keep their last record.
  void configure(const config::Config& cfg);
  void set_recording(bool on);
  bool recording() const { return recording_; }

  // Answers on the I/O thread, after the query ran on the writer's query thread.
  void query(const Query& q, std::function<void(Answer)> done);

  // Every series' records over a window (Store::read_window), on the query thread; `done` runs
  // on the I/O thread. The northbound store and forward reads an outage back with it.
  void read_window(WindowQuery q, std::function<void(WindowAnswer)> done) {
    writer_.query_window(q, std::move(done));
  }

  // Extra consumer of every record made (the pair's forwarding outbox on a backup).
  using RecordTap = std::function<void(const std::vector<Record>&)>;
  void set_tap(RecordTap tap) { tap_ = std::move(tap); }

  // A reload that changed the store: the records still waiting for this History's store, oldest
  // first (Writer::hand_over), for take_over() by the History of the new store. This History
  // records and writes nothing more.
  std::vector<Record> hand_over();
  // Before configure(): records handed over by the History this one replaces, written first.
  void take_over(std::vector<Record> records) { writer_.push(records); }

  WriterStatus status() const { return writer_.status(); }
  // Records the recorder made (handed to the writer) since start.
  std::uint64_t recorded() const { return recorded_; }

 private:
  struct Tracked {
    SeriesRef series;
    Rule rule;
    // Whether aggregates apply: a configured point's type decides; a status point (SYDEV*) is
    // numeric when its value is.
    enum class Kind : std::uint8_t { number, boolean, text, status } kind = Kind::status;
  };
  void drain();
  // One slice of the feed (or the store's current state after a lost one) taken; the number of
  // changes read.
  std::size_t read_slice();
  void take(const points::Change& c);
  void offer(points::PointId id, const Tracked& t, runtime::WallTime time,
             const points::Value& value, Quality quality);
  void flush();
  // Offers each point's current state (those that have one).
  void offer_current(const std::unordered_map<points::PointId, Tracked>& points);
  void sweep();
  void arm_sweep();
  // nullopt: recorded; else why a query cannot be answered (404/400).
  std::optional<Answer> refuse(const Query& q) const;

  runtime::Executor& ex_;
  points::ChangeFeed& feed_;
  const points::PointStore& store_;
  Writer writer_;
  points::Subscription sub_;
  Recorder recorder_;
  std::unordered_map<points::PointId, Tracked> tracked_;
  // Points offered by the sweep (max_interval_s > 0).
  std::vector<points::PointId> timed_;
  // Devices the config names (a query for another is 404).
  std::set<std::string, std::less<>> devices_;
  std::vector<Record> pending_;
  RecordTap tap_;
  bool recording_ = false;
  bool drain_posted_ = false;
  runtime::TimerId sweep_timer_;
  std::uint64_t recorded_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::history
