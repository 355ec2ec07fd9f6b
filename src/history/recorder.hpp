// The recorder: decides which point states become history records (spec/history.md "What is
// recorded"). Pure: it takes a point's state (its timestamp, value and quality) and answers
// whether that state is recorded, remembering what it recorded; no clock, no I/O. The caller
// offers it every change of a point (from the change feed) and, for points with a
// max_interval, the unchanged current state on a timer.
//
// Rules (one function each in recorder.cpp, each with its named test):
// - first: the first state offered for a point is recorded (also a bad one with a null value);
// - quality: a quality different from the last record's is recorded;
// - deadband: a numeric value (int64, uint64, double; the engineering value) that moved from
//   the last recorded value by strictly more than the deadband is recorded (deadband 0: any
//   change); integers compare exactly, a double on either side as doubles; a NaN after a NaN
//   is unchanged (a point reading NaN is not recorded at every poll), a NaN after a number or
//   a number after a NaN is a change whatever the deadband;
// - other types: any change of a bool or string, or of the value's type (null -> number), is
//   recorded;
// - max_interval: with max_interval_s > 0, a state whose time is at least max_interval_s after
//   the last record's is recorded even when nothing changed;
// - time: a state whose time is not after the last record's is recorded only when it differs
//   from it (it then replaces that record, same key) and never by max_interval.
// SYDEV* points are points like any other here.
//
// Usage:
//   Recorder r;
//   if (r.observe(id, {.deadband = 0.5}, to_millis(c.time), c.value, c.quality)) write(...);
#pragma once

#include <cstdint>
#include <unordered_map>

#include "history/record.hpp"

namespace pollux::history {

// A point's recording settings: its own `history:` values, else the section's defaults.
struct Rule {
  double deadband = 0;
  double max_interval_s = 0;
  friend bool operator==(const Rule&, const Rule&) = default;
};

class Recorder {
 public:
  using Key = std::uint32_t;

  // True when (time, value, quality) is a record for point `key`; it is then remembered as the
  // point's last record.
  bool observe(Key key, const Rule& rule, Millis time, const points::Value& value, Quality quality);
  // Forgets a point (removed by a reload): its next state is a first value again.
  void forget(Key key);
  // Forgets every point (the node stopped recording; its next records start afresh).
  void clear();
  std::size_t tracked() const;

 private:
  struct Last {
    Millis time = 0;
    points::Value value;
    Quality quality = Quality::bad;
  };
  std::unordered_map<Key, Last> last_;
};

}  // namespace pollux::history
