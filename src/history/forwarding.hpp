// The pair's history forwarding, its pure parts (spec/history.md "Redundancy"): records on the
// peer link, and which records a `partial` backup forwards.
//
// A backup with redundancy.history full or partial keeps the records it makes while active in
// its cache file (cache_path) and, while the peer link is up, sends them to the master in
// batches (history_forward); the master writes each batch to its store and answers once it is
// committed (history_forwarded), with its coverage: when it started and when it was active
// since. `full` forwards every record; `partial` only those from times the master was not
// active (dead, i.e. before it started, or up but standby) and drops those from a split, when
// both were active. Records are identified by (device, point, time) and the store replaces a
// record with the same key, so a batch sent twice (its answer lost with the link) is still
// there once.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "history/record.hpp"

namespace pollux::history {

// {"d": device, "p": point, "t": ms, "v": value, "q": "good|bad|uncertain"}, and "u": true
// when the value is a uint64 (JSON writes it like an int64).
nlohmann::json record_json(const Record& r);
// nullopt when malformed (the batch is refused whole).
std::optional<std::vector<Record>> records_from_json(const nlohmann::json& records);

// When a master was active: from its start (wall ms) on, its active intervals.
struct Coverage {
  Millis started_at = 0;
  // [from, to); `to` unset while still active.
  std::vector<std::pair<Millis, std::optional<Millis>>> active;

  bool active_at(Millis t) const;
  nlohmann::json active_json() const;
  static std::optional<Coverage> from_json(Millis started_at, const nlohmann::json& active);
};

// Records a `partial` backup forwards: those at times the master was not active.
bool forward_partial(const Coverage& master, const Record& r);

}  // namespace pollux::history
