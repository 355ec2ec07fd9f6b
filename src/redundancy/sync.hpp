// Runtime-state sequencing on the receiving side (redundancy.md "Synchronization"): the active
// node sends state_delta messages numbered seq, seq + 1, ...; the standby applies them in order
// and, on first connect or when it sees a gap, asks once for a full transfer and ignores deltas
// until that state_full arrives. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>

namespace pollux::redundancy {

class StateReceiver {
 public:
  enum class Verdict {
    apply,         // apply this message
    ignore,        // stale, duplicate, or waiting for the full transfer already asked for
    request_full,  // send state_request{last_seq} and ignore this delta
  };

  Verdict on_full(std::uint64_t seq);
  Verdict on_delta(std::uint64_t seq);
  // A new connection: whatever arrives next must start from a full transfer.
  void reset();

  // `state_seq` of a standby node: the last sequence applied.
  std::optional<std::uint64_t> applied() const { return applied_; }
  bool awaiting_full() const { return awaiting_full_; }

 private:
  std::optional<std::uint64_t> applied_;
  bool synced_ = false;  // a full transfer was applied on this connection
  bool awaiting_full_ = false;
};

}  // namespace pollux::redundancy
