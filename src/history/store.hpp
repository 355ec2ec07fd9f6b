// The history store interface (spec/history.md; DESIGN.md src/history "store interface, SQLite
// and PostgreSQL backends").
//
// One Store is one connection, used by one thread at a time: the writer thread has its own and
// the query thread its own (a WAL SQLite file and a PostgreSQL server both serve a reader
// beside a writer). Every call either completes or throws StoreError with a message an
// operator can act on ("unable to open database file: /var/lib/pollux/history.db"), which the
// health view shows as "error: ...".
//
// Usage:
//   StoreFactory open = sqlite_store({.path = "/var/lib/pollux/history.db"});
//   std::unique_ptr<Store> s = open();           // throws StoreError
//   s->write(records);                           // one transaction, all or nothing
//   RawPage p = s->read_raw({.device = "WELL_01", .point = "PRESSURE", .from = a, .to = b});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "history/record.hpp"

namespace pollux::history {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // Writes `records` in one transaction: all of them or, when it throws, none. A record whose
  // (device, point, time) is already stored replaces it; so does a later record of the same
  // key in the same call.
  virtual void write(std::span<const Record> records) = 0;

  // Raw records per RawQuery; an unknown series is an empty page. Every value comes back with
  // the type it was written with (bool, int64, uint64, double, NaN included, string, null).
  virtual RawPage read_raw(const RawQuery& q) = 0;
  // Every series' records per WindowQuery (record.hpp), time first.
  virtual WindowPage read_window(const WindowQuery& q) = 0;
  // Aggregates per AggregateQuery; records whose value is not numeric (bool, string, null) are
  // left out, as are bad and uncertain ones.
  virtual std::vector<Interval> read_intervals(const AggregateQuery& q) = 0;

  // Deletes every record with time < cutoff (retention); returns how many went.
  virtual std::uint64_t delete_before(Millis cutoff) = 0;

  // The pair's forwarding (redundancy level partial/full) reads a backup's cache in batches:
  // up to `limit` records of any series, in the store's key order (series, then time), with
  // their names; then deletes exactly those keys once the master has them.
  virtual std::vector<Record> read_first(std::size_t limit) = 0;
  virtual void erase(std::span<const Record> records) = 0;
  // Records held (the forwarding's "pending").
  virtual std::uint64_t count() = 0;
};

// Opens a new connection; throws StoreError.
using StoreFactory = std::function<std::unique_ptr<Store>()>;

struct SqliteOptions {
  std::string path;
  // Caps the file (SQLite max_page_count); 0: no cap. A write past it throws StoreError
  // ("database or disk is full") and is retried like any failed write.
  std::uint64_t max_size_bytes = 0;
  // Writes are staged in a small table and move into the main one, in key order, every this
  // many records (sqlite_store.cpp says why); 0: writes go straight to the main table.
  std::size_t staging_records = 200'000;
};
// The directory of `path` must exist (it is never created); the file and its tables are
// created when missing.
StoreFactory sqlite_store(SqliteOptions options);

struct PostgresOptions {
  std::string url;  // a libpq connection string or URI
};
// The tables are created when missing, in the database's default schema.
StoreFactory postgres_store(PostgresOptions options);

}  // namespace pollux::history
