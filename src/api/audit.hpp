// The audit trail of the HTTP API (spec/security.md "Requests", "Settled details"): every
// request that changes something (write, line, poll, channel enable/disable, reload,
// force-failover, recover), allowed or refused, becomes one entry: who (token name or
// "anonymous"), from where (IP:port), what (action and target) and the HTTP status answered.
// The last 1000 entries are kept for GET /api/v1/audit?since=N; each is also logged at info
// level as one line by the server.
//
// Pure data: the server supplies the time. Entries carry a token's name, never the token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/clock.hpp"

namespace pollux::api {

struct AuditEntry {
  std::uint64_t seq = 0;  // from 1, one more per entry
  runtime::WallTime time;
  std::string who;
  std::string client;  // IP:port
  std::string action;  // write, line, poll, channel.enable, ... (security.md)
  std::string target;  // device or channel id; empty when the action has none
  int outcome = 0;     // the HTTP status answered
};

class AuditLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 1000;
  explicit AuditLog(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Appends an entry (its seq filled in), dropping the oldest beyond the capacity.
  const AuditEntry& record(AuditEntry entry);
  // Kept entries with seq > `since`, oldest first.
  std::vector<AuditEntry> since(std::uint64_t since) const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::size_t capacity_;
  std::uint64_t next_seq_ = 1;
  std::deque<AuditEntry> entries_;
};

// {"seq","time","who","client","action","target","outcome"}; time as RFC 3339 (time_format).
nlohmann::json to_json(const AuditEntry& e);
// The log line: who="..." client=... action=... target="..." outcome=N. Strings from the
// request (the target) are JSON-quoted so a crafted id cannot forge a line.
std::string audit_line(const AuditEntry& e);

}  // namespace pollux::api
