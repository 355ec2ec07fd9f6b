// Point history records, queries and their time unit (spec/history.md "What is recorded",
// "Reading it back").
//
// A record is one point's state at one time: (device, point, time, value, quality). Times are
// whole milliseconds since the Unix epoch, the resolution of every timestamp the API shows
// (api.md), so a record read back prints exactly as the point did. A record is identified by
// (device, point, time): writing one whose key is already stored replaces it, which makes a
// replayed or forwarded batch harmless (redundancy: "none is there twice").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "points/point_store.hpp"
#include "points/value.hpp"
#include "runtime/clock.hpp"

namespace pollux::history {

// Milliseconds since 1970-01-01T00:00:00Z.
using Millis = std::int64_t;
Millis to_millis(runtime::WallTime t);
runtime::WallTime from_millis(Millis ms);

using Quality = points::PointQuality;

// A point's name in history. Shared by every record of the point, so a record costs no string
// copies; the names never change once made.
struct Series {
  std::string device;
  std::string point;
};
using SeriesRef = std::shared_ptr<const Series>;

struct Record {
  SeriesRef series;
  Millis time = 0;
  // null (monostate) for a point that was never read (a first poll that failed); bool,
  // int64, uint64, double or string otherwise.
  points::Value value;
  Quality quality = Quality::bad;
};

// One record as a query returns it.
struct Sample {
  Millis time = 0;
  points::Value value;
  Quality quality = Quality::bad;
  friend bool operator==(const Sample&, const Sample&) = default;
};

// Raw records of one point with from <= time < to, oldest first, at most `limit`.
struct RawQuery {
  std::string device;
  std::string point;
  Millis from = 0;
  Millis to = 0;
  std::size_t limit = 10'000;
};
struct RawPage {
  std::vector<Sample> records;
  // The time of the first record after the page (the `from` to ask with next); none when no
  // record remains before `to`.
  std::optional<Millis> next;
};

// Records of every series with from <= time < to, in time order (records of one millisecond
// in the store's series order), with their names: the northbound store and forward reads an
// outage back with it (spec/northbound.md "Sessions, outages and the pair"). A page holds at
// most `limit` records and never splits a millisecond, so `next` is a time to ask from again;
// only a millisecond that alone holds more than `limit` records makes a larger page.
struct WindowQuery {
  Millis from = 0;
  Millis to = 0;
  std::size_t limit = 10'000;
};
struct WindowPage {
  std::vector<Record> records;
  // The time of the first record after the page; none when no record remains before `to`.
  std::optional<Millis> next;
};

// Per-interval aggregates of one point's good numeric records with from <= time < to.
// Intervals start at multiples of `interval` since the epoch; an interval without a good
// record is left out (history.md "Settled details").
struct AggregateQuery {
  std::string device;
  std::string point;
  Millis from = 0;
  Millis to = 0;
  Millis interval = 60'000;
};
struct Interval {
  Millis start = 0;
  double min = 0;
  double max = 0;
  double avg = 0;   // plain mean of the good records
  double last = 0;  // the good record latest in the interval
  std::uint64_t count = 0;
  friend bool operator==(const Interval&, const Interval&) = default;
};

}  // namespace pollux::history
