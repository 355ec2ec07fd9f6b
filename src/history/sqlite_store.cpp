// The SQLite backend of history::Store (store.hpp; spec/history.md "Faults": a committed record
// survives kill -9, the file is never left unreadable; issue 20: WAL, prepared statements, a
// compact table keyed by (point, time), batched transactions).
//
// Schema (PRAGMA user_version 1):
//   series(id INTEGER PRIMARY KEY, device TEXT, point TEXT, UNIQUE(device, point))
//   history(series INTEGER, time INTEGER, value, flags INTEGER,
//           PRIMARY KEY(series, time)) WITHOUT ROWID
//   recent(...the same...)
// Writes go to `recent`, a small table, and every SqliteOptions::staging_records records move
// from there into `history` in key order, in one statement. A write of N points touches one
// page per point in the table it goes to; in a `history` of weeks that is one page per point
// per write, rewritten (in the WAL, then in the file) for a few new records each time, which
// limits ingestion at thousands of points to tens of thousands of records/s. `recent` has few
// pages, and the move touches each point's page in `history` once per staging_records.
// Reads merge both tables (a key in both: `recent`'s record replaced `history`'s).
// read_window (every series over a window, time first: the northbound store and forward reading
// an outage back) has no index on time: one would cost about 20 bytes per record and half the
// ingestion rate (history_bench). It reads the window in slices, each through the primary key
// of every series and sorted, the slices sized to hold about a page.
// `time` is milliseconds since the epoch. `value` has no declared type, so each value keeps its
// own storage class: an integer (int64; bool as 0/1; uint64 as its two's-complement int64), a
// REAL (double), TEXT (string) or NULL (no value). `flags` holds the quality in its two low bits
// (good 0, bad 1, uncertain 2) and above them the value's kind where the storage class alone
// does not tell it (kBool, kUnsigned, kNan): reading back returns the type that was written, and
// a good double, int64 or string record stores flags 0, which SQLite stores in no payload byte.
// A record then takes about 27 bytes of the file, its key included (history_bench, 1000 points
// of doubles changing every second).
//
// WAL with synchronous=NORMAL: a committed transaction survives the death of the process (only
// a power loss may take the last commits, never the file's integrity).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "history/series_names.hpp"
#include "history/store.hpp"
#include "history/window_pager.hpp"

namespace pollux::history {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;
// The writer's working set is the last leaf page of each series plus the inner pages: 32 MiB
// holds it for about 8,000 points; beyond that a batch, written in key order, reads each of
// those pages once.
constexpr const char* kCacheSize = "PRAGMA cache_size=-32768";
constexpr std::uint64_t kLogPages = 16384;

// flags = quality | kind
constexpr std::int64_t kQualityMask = 3;
constexpr std::int64_t kBool = 4;
constexpr std::int64_t kUnsigned = 8;
constexpr std::int64_t kNan = 12;  // SQLite stores a NaN REAL as NULL; this tells it from null
constexpr std::int64_t kKindMask = 12;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS series("
    " id INTEGER PRIMARY KEY, device TEXT NOT NULL, point TEXT NOT NULL, UNIQUE(device, point));"
    "CREATE TABLE IF NOT EXISTS history("
    " series INTEGER NOT NULL, time INTEGER NOT NULL, value, flags INTEGER NOT NULL,"
    " PRIMARY KEY(series, time)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS recent("
    " series INTEGER NOT NULL, time INTEGER NOT NULL, value, flags INTEGER NOT NULL,"
    " PRIMARY KEY(series, time)) WITHOUT ROWID;";

// Resets a prepared statement when a use of it ends, also by an exception, so that no statement
// keeps a read transaction open (which would stop WAL checkpoints) and the next call finds it
// ready.
class Use {
 public:
  explicit Use(sqlite3_stmt* s) : s_(s) {}
  ~Use() { sqlite3_reset(s_); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* operator*() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  const std::int64_t m = a % b;
  return m < 0 ? m + b : m;
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteOptions& o) : path_(o.path), staging_(o.staging_records) {
    const int rc =
        sqlite3_open_v2(path_.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw StoreError(why + ": " + path_);
    }
    try {
      open(o.max_size_bytes);
    } catch (...) {
      close();
      throw;
    }
  }

  ~SqliteStore() override { close(); }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void write(std::span<const Record> records) override {
    if (records.empty()) return;
    transaction([&] {
      // In key order: the records of one series go to the same few pages one after another,
      // which the cache and the descent through the tree like far better than the writer's
      // order (every series once per second). Stable, so a later record of a key still
      // replaces an earlier one.
      order_.clear();
      order_.reserve(records.size());
      for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        if (!r.series) throw StoreError("a history record without a series: " + path_);
        order_.push_back({series_for_write(*r.series), r.time, i});
      }
      std::stable_sort(order_.begin(), order_.end(), [](const Keyed& a, const Keyed& b) {
        return a.series != b.series ? a.series < b.series : a.time < b.time;
      });
      for (const Keyed& k : order_) {
        const Record& r = records[k.index];
        Use u(insert_);
        sqlite3_bind_int64(*u, 1, k.series);
        sqlite3_bind_int64(*u, 2, r.time);
        const std::int64_t kind = bind_value(*u, 3, r.value);
        sqlite3_bind_int64(*u, 4, static_cast<std::int64_t>(r.quality) | kind);
        done(*u);
      }
    });
    if (staging_ == 0) return;
    recent_count_ += records.size();
    if (recent_count_ >= staging_) move_recent();
  }

  // Values come back as written: bool, int64, uint64, double (NaN too), string or null.
  RawPage read_raw(const RawQuery& q) override {
    RawPage page;
    const auto id = find_series(q.device, q.point);
    if (!id || q.from >= q.to) return page;
    // One row more than the page: its time is `next`.
    const std::int64_t ask =
        q.limit >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
            ? -1
            : static_cast<std::int64_t>(q.limit) + 1;
    Use main(bind_range(range_[0], *id, q.from, q.to, ask));
    Use recent(bind_range(range_[1], *id, q.from, q.to, ask));
    // Virtual memory until used: a large page is filled without moving its records.
    page.records.reserve(std::min<std::size_t>(q.limit, 100'000));
    merged(*main, *recent, by_time, [&](sqlite3_stmt* s) {
      const Millis t = sqlite3_column_int64(s, 0);
      if (page.records.size() == q.limit) {
        page.next = t;
        return false;
      }
      const std::int64_t flags = sqlite3_column_int64(s, 2);
      page.records.push_back({t, column_value(s, 1, flags), quality_of(flags)});
      return true;
    });
    return page;
  }

  // One ordered scan of the range, aggregated here: a day at 1 s (86,400 rows) takes a few
  // milliseconds, and the kind of each value (bool, NaN) is known only from `flags`.
  std::vector<Interval> read_intervals(const AggregateQuery& q) override {
    if (q.interval <= 0) throw StoreError("history interval must be positive: " + path_);
    std::vector<Interval> out;
    const auto id = find_series(q.device, q.point);
    if (!id || q.from >= q.to) return out;
    Use main(bind_range(range_[0], *id, q.from, q.to, -1));
    Use recent(bind_range(range_[1], *id, q.from, q.to, -1));
    double sum = 0;
    const auto finish = [&] {
      if (!out.empty()) out.back().avg = sum / static_cast<double>(out.back().count);
    };
    merged(*main, *recent, by_time, [&](sqlite3_stmt* s) {
      const std::int64_t flags = sqlite3_column_int64(s, 2);
      if ((flags & kQualityMask) != 0) return true;
      double v = 0;
      switch (sqlite3_column_type(s, 1)) {
        case SQLITE_INTEGER:
          if ((flags & kKindMask) == kBool) return true;
          v = (flags & kKindMask) == kUnsigned
                  ? static_cast<double>(static_cast<std::uint64_t>(sqlite3_column_int64(s, 1)))
                  : static_cast<double>(sqlite3_column_int64(s, 1));
          break;
        case SQLITE_FLOAT:
          v = sqlite3_column_double(s, 1);
          break;
        default:
          return true;  // string, null, NaN
      }
      const Millis t = sqlite3_column_int64(s, 0);
      const Millis start = t - floor_mod(t, q.interval);
      if (out.empty() || out.back().start != start) {
        finish();
        out.push_back({.start = start, .min = v, .max = v, .avg = 0, .last = v, .count = 0});
        sum = 0;
      }
      Interval& i = out.back();
      i.min = std::min(i.min, v);
      i.max = std::max(i.max, v);
      i.last = v;
      sum += v;
      ++i.count;
      return true;
    });
    finish();
    return out;
  }

  WindowPage read_window(const WindowQuery& q) override {
    WindowPager pager(q);
    std::unordered_map<std::int64_t, SeriesRef> names;
    const auto by_key = [](sqlite3_stmt* s) {
      return std::pair(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
    };
    auto& out = pager.page().records;
    const auto take = [&](sqlite3_stmt* s) {
      const Millis t = sqlite3_column_int64(s, 0);
      if (!pager.admit(t)) return false;
      const std::int64_t id = sqlite3_column_int64(s, 1);
      SeriesRef& series = names[id];
      if (!series) series = std::make_shared<const Series>(Series{text(s, 2), text(s, 3)});
      const std::int64_t flags = sqlite3_column_int64(s, 5);
      out.push_back({series, t, column_value(s, 4, flags), quality_of(flags)});
      return true;
    };
    while (!pager.done()) {
      std::size_t rows = 0;
      {
        Use main(window_[0]);
        Use recent(window_[1]);
        for (sqlite3_stmt* s : {*main, *recent}) {
          sqlite3_bind_int64(s, 1, pager.at());
          sqlite3_bind_int64(s, 2, pager.end());
        }
        // Each slice is sorted whole; a millisecond larger than a page is taken whole by admit.
        merged(*main, *recent, by_key, [&](sqlite3_stmt* s) {
          ++rows;
          return take(s);
        });
      }
      pager.advance(rows, [&](Millis from) { return first_from(from, q.to); });
    }
    return std::move(pager.page());
  }

  // The time of the first record of any series with from <= time < to.
  std::optional<Millis> first_from(Millis from, Millis to) {
    std::optional<Millis> first;
    for (sqlite3_stmt* s : first_from_) {
      Use u(s);
      sqlite3_bind_int64(*u, 1, from);
      sqlite3_bind_int64(*u, 2, to);
      if (row(*u) && sqlite3_column_type(*u, 0) != SQLITE_NULL) {
        const Millis t = sqlite3_column_int64(*u, 0);
        if (!first || t < *first) first = t;
      }
    }
    return first;
  }

  std::uint64_t delete_before(Millis cutoff) override {
    std::uint64_t n = 0;
    transaction([&] {
      for (sqlite3_stmt* s : delete_before_) {
        Use u(s);
        sqlite3_bind_int64(*u, 1, cutoff);
        done(*u);
        n += static_cast<std::uint64_t>(sqlite3_changes64(db_));
      }
    });
    return n;
  }

  std::vector<Record> read_first(std::size_t limit) override {
    std::vector<Record> out;
    if (limit == 0) return out;
    const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, 1ULL << 62));
    Use main(first_[0]);
    Use recent(first_[1]);
    sqlite3_bind_int64(*main, 1, n);
    sqlite3_bind_int64(*recent, 1, n);
    std::int64_t last_id = -1;
    SeriesRef series;
    const auto by_key = [](sqlite3_stmt* s) {
      return std::pair(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 3));
    };
    merged(*main, *recent, by_key, [&](sqlite3_stmt* s) {
      const std::int64_t id = sqlite3_column_int64(s, 0);
      if (id != last_id) {
        series = std::make_shared<const Series>(Series{text(s, 1), text(s, 2)});
        last_id = id;
      }
      const std::int64_t flags = sqlite3_column_int64(s, 5);
      out.push_back(
          {series, sqlite3_column_int64(s, 3), column_value(s, 4, flags), quality_of(flags)});
      return out.size() < limit;
    });
    return out;
  }

  std::uint64_t count() override {
    // A key staged again after it moved to history is in both tables: counted once.
    return std::strtoull(query_text("SELECT count(*) FROM (SELECT series, time FROM history "
                                    "UNION SELECT series, time FROM recent)")
                             .c_str(),
                         nullptr, 10);
  }

  void erase(std::span<const Record> records) override {
    if (records.empty()) return;
    transaction([&] {
      for (const Record& r : records) {
        if (!r.series) continue;
        const auto id = find_series(r.series->device, r.series->point);
        if (!id) continue;
        for (sqlite3_stmt* s : erase_) {
          Use u(s);
          sqlite3_bind_int64(*u, 1, *id);
          sqlite3_bind_int64(*u, 2, r.time);
          done(*u);
        }
      }
    });
  }

 private:
  void open(std::uint64_t max_size_bytes) {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // The first read of the file: garbage fails here ("file is not a database"), at open.
    const std::string mode = retry_busy([&] { return query_text("PRAGMA journal_mode=WAL"); });
    if (mode != "wal") throw StoreError("cannot use write-ahead logging (" + mode + "): " + path_);
    if (sqlite3_db_readonly(db_, "main") == 1)
      throw StoreError("attempt to write a readonly database: " + path_);
    exec("PRAGMA synchronous=NORMAL");
    exec(kCacheSize);
    // The log is copied into the file once it holds 64 MiB (not SQLite's 4 MiB): a leaf page
    // the writer rewrote many times meanwhile is copied once, which more than doubles
    // sustained ingestion (history_bench). After a checkpoint the log is cut back to that size,
    // so one large transaction (a retention delete) does not leave a large file behind.
    const std::uint64_t page = std::stoull(query_text("PRAGMA page_size"));
    std::uint64_t log_pages = kLogPages;
    if (max_size_bytes > 0) {
      // Not stored in the file: every connection sets it, so reopening with a larger cap (or
      // none) lifts it. The log, outside the cap, is checkpointed at a quarter of it.
      const std::uint64_t pages = std::max<std::uint64_t>(1, max_size_bytes / page);
      exec(("PRAGMA max_page_count=" + std::to_string(pages)).c_str());
      log_pages = std::clamp<std::uint64_t>(pages / 4, 16, kLogPages);
      // Moving the staged records needs room for a copy of them until `recent` is emptied.
      if (staging_ > 0)
        staging_ =
            std::min<std::size_t>(staging_, std::max<std::uint64_t>(1, max_size_bytes / 512));
    }
    exec(("PRAGMA wal_autocheckpoint=" + std::to_string(log_pages)).c_str());
    exec(("PRAGMA journal_size_limit=" + std::to_string(log_pages * page)).c_str());
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    retry_busy([&] { create_schema(); });
    find_series_ = prepare("SELECT id FROM series WHERE device=? AND point=?");
    add_series_ = prepare("INSERT OR IGNORE INTO series(device, point) VALUES(?,?)");
    const char* tables[] = {"history", "recent"};
    for (int t = 0; t < 2; ++t) {
      const std::string table = tables[t];
      range_[t] = prepare("SELECT time, value, flags FROM " + table +
                          " WHERE series=? AND time>=? AND time<? ORDER BY time LIMIT ?");
      // Per series, a range of its key: the primary key serves it without a full scan.
      delete_before_[t] =
          prepare("DELETE FROM " + table + " WHERE series IN (SELECT id FROM series) AND time<?");
      first_[t] =
          prepare("SELECT h.series, s.device, s.point, h.time, h.value, h.flags FROM " + table +
                  " AS h JOIN series AS s ON s.id=h.series ORDER BY h.series, h.time "
                  "LIMIT ?");
      erase_[t] = prepare("DELETE FROM " + table + " WHERE series=? AND time=?");
      first_from_[t] = prepare("SELECT min((SELECT time FROM " + table +
                               " WHERE series=s.id AND time>=?1 AND time<?2 ORDER BY time LIMIT "
                               "1)) FROM series AS s");
      // A range of each series' key, then sorted (CROSS JOIN keeps `series` the outer loop).
      window_[t] = prepare(
          "SELECT h.time, h.series, s.device, s.point, h.value, h.flags FROM series AS s "
          "CROSS JOIN " +
          table + " AS h ON h.series=s.id WHERE h.time>=? AND h.time<? ORDER BY h.time, h.series");
    }
    insert_ = prepare(std::string("INSERT OR REPLACE INTO ") + (staging_ ? "recent" : "history") +
                      "(series, time, value, flags) VALUES(?,?,?,?)");
    move_ = prepare("INSERT OR REPLACE INTO history SELECT series, time, value, flags FROM recent");
    clear_ = prepare("DELETE FROM recent");
    recent_count_ = std::stoull(query_text("SELECT count(*) FROM recent"));
    if (staging_ > 0 && recent_count_ >= staging_) move_recent();
  }

  void create_schema() {
    transaction([&] {
      const std::string version = query_text("PRAGMA user_version");
      if (version == "0") {
        exec(kSchema);
        exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
      } else if (version != std::to_string(kSchemaVersion)) {
        throw StoreError("unknown history schema version " + version + ": " + path_);
      }
    });
  }

  // Two connections opening a new file at once (the forwarding cache's writer and its reader)
  // can be told "database is locked" without the busy handler being asked: SQLite refuses at
  // once where waiting could deadlock, as while the other switches the file to WAL. The steps of
  // open() this wraps are safe to repeat, so they are, as the busy timeout would have waited.
  template <class F>
  auto retry_busy(F&& step) -> decltype(step()) {
    const std::string_view locked = sqlite3_errstr(SQLITE_BUSY);
    for (int waited_ms = 0;; waited_ms += 10) {
      try {
        return step();
      } catch (const StoreError& e) {
        if (!std::string_view(e.what()).starts_with(locked) || waited_ms >= kBusyTimeoutMs) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Moves the staged records into `history`, in key order, in a transaction of their own. When
  // that fails (a full disk), the records stay in `recent`, where they are read as well; a
  // later write tries again.
  void move_recent() {
    try {
      transaction([&] {
        for (sqlite3_stmt* s : {move_, clear_}) {
          Use u(s);
          done(*u);
        }
      });
      recent_count_ = 0;
    } catch (const StoreError&) {
    }
  }

  sqlite3_stmt* bind_range(sqlite3_stmt* s, std::int64_t id, Millis from, Millis to,
                           std::int64_t limit) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_int64(s, 4, limit);
    return s;
  }

  static std::int64_t by_time(sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); }

  // Steps two statements whose rows come in the same key order, history's and recent's, as
  // one: `each(statement)` sees every row in key order until it returns false. Where both hold
  // a key, recent's row is the record (it replaced the older one) and history's is skipped.
  template <typename Key, typename Each>
  void merged(sqlite3_stmt* older, sqlite3_stmt* newer, Key key, Each each) {
    bool has_older = row(older);
    bool has_newer = row(newer);
    while (has_older || has_newer) {
      sqlite3_stmt* s = has_older ? older : newer;
      if (has_older && has_newer) {
        const auto k_older = key(older);
        const auto k_newer = key(newer);
        if (!(k_older < k_newer)) {
          if (k_older == k_newer) has_older = row(older);
          s = newer;
        }
      }
      if (!each(s)) return;
      if (s == older) {
        has_older = row(older);
      } else {
        has_newer = row(newer);
      }
    }
  }

  void close() {
    for (sqlite3_stmt* s :
         {insert_, move_, clear_, find_series_, add_series_, begin_, commit_, range_[0], range_[1],
          delete_before_[0], delete_before_[1], first_[0], first_[1], erase_[0], erase_[1],
          window_[0], window_[1], first_from_[0], first_from_[1]})
      sqlite3_finalize(s);
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  [[noreturn]] void fail() const {
    throw StoreError(std::string(sqlite3_errmsg(db_)) + ": " + path_);
  }

  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
        SQLITE_OK)
      fail();
    return s;
  }

  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail();
  }

  std::string query_text(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail();
    const int rc = sqlite3_step(s);
    std::string out = rc == SQLITE_ROW ? text(s, 0) : std::string();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      const std::string why = sqlite3_errmsg(db_);
      sqlite3_finalize(s);
      throw StoreError(why + ": " + path_);
    }
    sqlite3_finalize(s);
    return out;
  }

  // One write transaction around `body`: committed when it returns, rolled back when anything
  // throws (then no series it added stays in the cache either).
  template <typename F>
  void transaction(F&& body) {
    try {
      {
        Use u(begin_);
        done(*u);
      }
      body();
      {
        Use u(commit_);
        done(*u);
      }
      added_.clear();
    } catch (...) {
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (const auto& k : added_)
        series_.erase(k);
      added_.clear();
      throw;
    }
  }

  void done(sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE) fail();
  }
  bool row(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail();
    return false;
  }

  static std::string text(sqlite3_stmt* s, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col)))
             : std::string();
  }

  static Quality quality_of(std::int64_t flags) {
    switch (flags & kQualityMask) {
      case 0:
        return Quality::good;
      case 2:
        return Quality::uncertain;
      default:
        return Quality::bad;
    }
  }

  // Binds `v`; returns its kind bits for `flags`.
  static std::int64_t bind_value(sqlite3_stmt* s, int col, const points::Value& v) {
    if (const auto* d = std::get_if<double>(&v)) {
      if (std::isnan(*d)) {
        sqlite3_bind_null(s, col);
        return kNan;
      }
      sqlite3_bind_double(s, col, *d);
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      sqlite3_bind_int64(s, col, *i);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      sqlite3_bind_int64(s, col, *b ? 1 : 0);
      return kBool;
    } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
      sqlite3_bind_int64(s, col, static_cast<std::int64_t>(*u));
      return kUnsigned;
    } else if (const auto* str = std::get_if<std::string>(&v)) {
      sqlite3_bind_text64(s, col, str->data(), str->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      sqlite3_bind_null(s, col);
    }
    return 0;
  }

  static points::Value column_value(sqlite3_stmt* s, int col, std::int64_t flags) {
    const std::int64_t kind = flags & kKindMask;
    switch (sqlite3_column_type(s, col)) {
      case SQLITE_INTEGER: {
        const std::int64_t i = sqlite3_column_int64(s, col);
        if (kind == kBool) return i != 0;
        if (kind == kUnsigned) return static_cast<std::uint64_t>(i);
        return i;
      }
      case SQLITE_FLOAT:
        return sqlite3_column_double(s, col);
      case SQLITE_NULL:
        if (kind == kNan) return std::numeric_limits<double>::quiet_NaN();
        return std::monostate{};
      default:
        return text(s, col);
    }
  }

  // A series' id when it is stored (ids never change and series are never deleted, so a found
  // id is cached; an unknown one is asked again next time, as another connection may add it).
  std::optional<std::int64_t> find_series(std::string_view device, std::string_view point) {
    if (auto it = series_.find(Names{device, point}); it != series_.end()) return it->second;
    Use u(find_series_);
    sqlite3_bind_text64(*u, 1, device.data(), device.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_text64(*u, 2, point.data(), point.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (!row(*u)) return std::nullopt;
    const std::int64_t id = sqlite3_column_int64(*u, 0);
    series_.emplace(std::pair<std::string, std::string>(device, point), id);
    return id;
  }

  // Inside a write transaction: the series' id, added when missing.
  std::int64_t series_for_write(const Series& s) {
    if (auto it = series_.find(Names{s.device, s.point}); it != series_.end()) return it->second;
    {
      Use u(add_series_);
      sqlite3_bind_text64(*u, 1, s.device.data(), s.device.size(), SQLITE_STATIC, SQLITE_UTF8);
      sqlite3_bind_text64(*u, 2, s.point.data(), s.point.size(), SQLITE_STATIC, SQLITE_UTF8);
      done(*u);
    }
    const auto id = find_series(s.device, s.point);
    if (!id) fail();
    added_.emplace_back(s.device, s.point);
    return *id;
  }

  struct Keyed {
    std::int64_t series;
    Millis time;
    std::size_t index;
  };

  std::string path_;
  sqlite3* db_ = nullptr;
  std::vector<Keyed> order_;
  std::size_t staging_ = 0;
  std::size_t recent_count_ = 0;  // records written to `recent` since it was last emptied
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* move_ = nullptr;
  sqlite3_stmt* clear_ = nullptr;
  sqlite3_stmt* find_series_ = nullptr;
  sqlite3_stmt* add_series_ = nullptr;
  // [0]: history, [1]: recent
  sqlite3_stmt* range_[2] = {};
  sqlite3_stmt* delete_before_[2] = {};
  sqlite3_stmt* first_[2] = {};
  sqlite3_stmt* erase_[2] = {};
  sqlite3_stmt* window_[2] = {};
  sqlite3_stmt* first_from_[2] = {};
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  ByNames<std::int64_t> series_;
  // Series this transaction added to the cache: forgotten when it rolls back.
  std::vector<std::pair<std::string, std::string>> added_;
};

}  // namespace

StoreFactory sqlite_store(SqliteOptions options) {
  return [options]() -> std::unique_ptr<Store> { return std::make_unique<SqliteStore>(options); };
}

}  // namespace pollux::history
