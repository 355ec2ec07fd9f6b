// History store benchmark (issue 20, "Performance"): what the SQLite store (and, given a URL, the
// PostgreSQL one) does with the writer's load and the API's queries.
//
//   (a) ingestion: records/s through Store::write in the writer's batches (20,000) for
//       `--points` points changing every second for `--seconds` s (double values), each run on
//       a new file; the median of `--runs` runs. Goal >= 250,000/s.
//   (b) bytes per record on disk: the file after a checkpoint (page_count * page_size, the key
//       index included; the table is the index) over the records of (a). Goal <= 40.
//   (c) one day of one point at 1 s (86,400 records, in a store that also holds a day of
//       `--others` other points) read raw with limit 100,000: median ms. Goal <= 100.
//   (d) the same day as 1-minute aggregates: median ms. Goal <= 50.
//   (f) the northbound's read-back (Store::read_window) of that store, every series in time
//       order, pages of 10,000: the whole day (all its records) and one hour; median ms. With
//       --pg-url, also every record of (e) on PostgreSQL.
//   (e) with --pg-url URL: (a) on PostgreSQL (its tables are dropped before each run, so use a
//       scratch database: tools/bench/history_pg_bench.py starts one). Goal >= 50,000/s.
//
//   history_bench [--points 1000] [--seconds 300] [--runs 5] [--batch 20000] [--others 10]
//                 [--queries 20] [--staging 200000] [--dir DIR] [--pg-url URL]
// --staging: SqliteOptions::staging_records (0: no staging table).
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "history/store.hpp"

namespace {

using namespace pollux::history;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int points = 1000;
  int seconds = 300;
  int runs = 5;
  std::size_t batch = 20'000;
  int others = 10;
  int queries = 20;
  std::size_t staging = SqliteOptions{}.staging_records;
  std::string dir;
  std::string pg_url;
};

constexpr Millis kStart = 1'700'006'400'000;  // a midnight (UTC)

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<SeriesRef> make_series(int n, const char* prefix) {
  std::vector<SeriesRef> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_shared<const Series>(
        Series{std::string(prefix) + std::to_string(i / 20), "P" + std::to_string(i % 20)}));
  }
  return out;
}

// What the writer hands the store: every point's change at each second, point after point, each
// with its poll's timestamp (spread over the second) and a value that moves every time.
std::vector<Record> changes(const std::vector<SeriesRef>& series, int seconds) {
  std::vector<Record> out;
  out.reserve(series.size() * static_cast<std::size_t>(seconds));
  for (int s = 0; s < seconds; ++s) {
    for (std::size_t p = 0; p < series.size(); ++p) {
      const double v = 100.0 + 25.0 * std::sin(0.001 * s + static_cast<double>(p)) +
                       0.001 * static_cast<double>((s * 7919 + p * 104729) % 1000);
      out.push_back({series[p], kStart + s * 1000LL + static_cast<Millis>((p * 37) % 1000), v,
                     Quality::good});
    }
  }
  return out;
}

double ingest(Store& store, const std::vector<Record>& records, std::size_t batch) {
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < records.size(); i += batch) {
    const std::size_t n = std::min(batch, records.size() - i);
    store.write(std::span<const Record>(records.data() + i, n));
  }
  return static_cast<double>(records.size()) / seconds_since(t0);
}

struct FileSize {
  std::uint64_t bytes = 0;  // page_count * page_size
  std::uint64_t free = 0;   // of which free pages (reused as the tables grow)
};

// Checkpoints the WAL into the file and measures it.
FileSize checkpointed_size(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  std::uint64_t pages = 0, page = 0, free = 0;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT page_count, page_size, freelist_count FROM pragma_page_count, "
                     "pragma_page_size, pragma_freelist_count",
                     -1, &s, nullptr);
  if (sqlite3_step(s) == SQLITE_ROW) {
    pages = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    page = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    free = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return {pages * page, free * page};
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"})
    fs::remove(path + suffix);
}

bool pg_reset(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c,
                         "SET client_min_messages=warning;"
                         "DROP TABLE IF EXISTS pollux_history, pollux_series");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) std::fprintf(stderr, "history_bench: %s", PQerrorMessage(c));
    PQclear(r);
  } else {
    std::fprintf(stderr, "history_bench: %s", PQerrorMessage(c));
  }
  PQfinish(c);
  return ok;
}

int usage() {
  std::fprintf(stderr,
               "usage: history_bench [--points N] [--seconds N] [--runs N] [--batch N] "
               "[--others N] [--queries N] [--staging N] [--dir DIR] [--pg-url URL]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (k == "--points")
      a.points = std::atoi(v);
    else if (k == "--seconds")
      a.seconds = std::atoi(v);
    else if (k == "--runs")
      a.runs = std::atoi(v);
    else if (k == "--batch")
      a.batch = static_cast<std::size_t>(std::atol(v));
    else if (k == "--others")
      a.others = std::atoi(v);
    else if (k == "--queries")
      a.queries = std::atoi(v);
    else if (k == "--staging")
      a.staging = static_cast<std::size_t>(std::atol(v));
    else if (k == "--dir")
      a.dir = v;
    else if (k == "--pg-url")
      a.pg_url = v;
    else
      return usage();
  }
  if (a.points < 1 || a.seconds < 1 || a.runs < 1 || a.batch < 1 || a.queries < 1) return usage();

  std::string dir = a.dir;
  bool own_dir = false;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "pollux-history-bench.XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
    own_dir = true;
  }
  std::printf(
      "reproduce: tools/build.sh release && build/release/tools/bench/history_bench --points %d "
      "--seconds %d --runs %d --batch %zu --others %d --queries %d --staging %zu%s\n",
      a.points, a.seconds, a.runs, a.batch, a.others, a.queries, a.staging,
      a.pg_url.empty() ? "" : " --pg-url URL (tools/bench/history_pg_bench.py)");
  std::fflush(stdout);

  int rc = 0;
  try {
    // (a) and (b)
    const auto series = make_series(a.points, "DEV_");
    const std::vector<Record> records = changes(series, a.seconds);
    std::vector<double> rates;
    double bytes_per_record = 0;
    FileSize size;
    for (int run = 0; run < a.runs; ++run) {
      const std::string path = dir + "/ingest.db";
      remove_db(path);
      {
        auto store = sqlite_store({.path = path, .staging_records = a.staging})();
        rates.push_back(ingest(*store, records, a.batch));
      }
      size = checkpointed_size(path);
      bytes_per_record = static_cast<double>(size.bytes) / static_cast<double>(records.size());
      remove_db(path);
    }

    // (c) and (d)
    const std::string qpath = dir + "/query.db";
    remove_db(qpath);
    const auto day = make_series(1 + a.others, "DAY_");
    std::vector<double> raw_ms, agg_ms;
    std::vector<double> window_ms, hour_ms;
    std::size_t raw_count = 0, intervals = 0, window_count = 0, hour_count = 0;
    // Every page of the window, as the northbound reads it.
    const auto read_all = [](Store& s, Millis from, Millis to) {
      std::size_t n = 0;
      std::optional<Millis> at = from;
      while (at) {
        const WindowPage p = s.read_window({*at, to, 10'000});
        n += p.records.size();
        at = p.next;
      }
      return n;
    };
    {
      auto store = sqlite_store({.path = qpath, .staging_records = a.staging})();
      const std::vector<Record> one_day = changes(day, 86'400);
      ingest(*store, one_day, a.batch);
      const RawQuery rq{day[0]->device, day[0]->point, kStart, kStart + 86'400'000, 100'000};
      const AggregateQuery aq{day[0]->device, day[0]->point, kStart, kStart + 86'400'000, 60'000};
      auto reader = sqlite_store({.path = qpath, .staging_records = a.staging})();
      for (int i = 0; i < a.queries; ++i) {
        auto t0 = Clock::now();
        raw_count = reader->read_raw(rq).records.size();
        raw_ms.push_back(seconds_since(t0) * 1e3);
        t0 = Clock::now();
        intervals = reader->read_intervals(aq).size();
        agg_ms.push_back(seconds_since(t0) * 1e3);
      }
      for (int i = 0; i < std::max(1, a.queries / 4); ++i) {
        auto t0 = Clock::now();
        window_count = read_all(*reader, kStart, kStart + 86'400'000);
        window_ms.push_back(seconds_since(t0) * 1e3);
        t0 = Clock::now();
        hour_count = read_all(*reader, kStart + 43'200'000, kStart + 46'800'000);
        hour_ms.push_back(seconds_since(t0) * 1e3);
      }
    }
    remove_db(qpath);

    std::printf("\nSQLite %s (%d points x %d s, batches of %zu, staging %zu, %d runs)\n",
                sqlite3_libversion(), a.points, a.seconds, a.batch, a.staging, a.runs);
    std::printf("  %-50s %12s %10s\n", "figure", "measured", "goal");
    std::printf("  %-50s %12.0f %10s\n", "(a) ingestion, records/s (median)", median(rates),
                ">= 250000");
    std::printf("  %-50s %12.1f %10s\n", "(b) bytes per record on disk", bytes_per_record, "<= 40");
    std::printf("  %-50s %12.1f\n", "    of which free pages (staging's, reused)",
                static_cast<double>(size.free) / static_cast<double>(records.size()));
    char what[80];
    std::snprintf(what, sizeof what, "(c) one day raw, %zu records, ms (median)", raw_count);
    std::printf("  %-50s %12.1f %10s\n", what, median(raw_ms), "<= 100");
    std::printf("  %-50s %12.1f\n", "    the first, on a new connection, ms", raw_ms[0]);
    std::snprintf(what, sizeof what, "(d) one day as %zu 1-min intervals, ms (median)", intervals);
    std::printf("  %-50s %12.1f %10s\n", what, median(agg_ms), "<= 50");
    std::printf("  %-50s %12.1f\n", "    the first, ms", agg_ms[0]);
    std::snprintf(what, sizeof what, "(f) read_window, day, %zu records, ms (median)",
                  window_count);
    std::printf("  %-50s %12.1f\n", what, median(window_ms));
    std::snprintf(what, sizeof what, "(f) read_window, an hour, %zu records, ms", hour_count);
    std::printf("  %-50s %12.1f\n", what, median(hour_ms));

    // (e)
    if (!a.pg_url.empty()) {
      std::vector<double> pg_rates;
      double pg_window_ms = 0;
      std::size_t pg_window = 0;
      for (int run = 0; run < a.runs; ++run) {
        if (!pg_reset(a.pg_url)) return 1;
        auto store = postgres_store({.url = a.pg_url})();
        pg_rates.push_back(ingest(*store, records, a.batch));
        if (run + 1 == a.runs) {
          const auto t0 = Clock::now();
          pg_window = read_all(*store, kStart - 86'400'000, kStart + 86'400'000);
          pg_window_ms = seconds_since(t0) * 1e3;
        }
      }
      std::printf("\nPostgreSQL (%d points x %d s, batches of %zu, %d runs)\n", a.points, a.seconds,
                  a.batch, a.runs);
      std::printf("  %-50s %12.0f %10s\n", "(e) ingestion, records/s (median)", median(pg_rates),
                  ">= 50000");
      char pg_what[80];
      std::snprintf(pg_what, sizeof pg_what, "(f) read_window of (e), %zu records, ms", pg_window);
      std::printf("  %-50s %12.1f\n", pg_what, pg_window_ms);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "history_bench: %s\n", e.what());
    rc = 1;
  }
  if (own_dir) fs::remove_all(dir);
  return rc;
}
