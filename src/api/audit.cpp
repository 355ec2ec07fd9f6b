#include "api/audit.hpp"

#include <nlohmann/json.hpp>

#include "api/time_format.hpp"

namespace pollux::api {

using nlohmann::json;

const AuditEntry& AuditLog::record(AuditEntry entry) {
  entry.seq = next_seq_++;
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_)
    entries_.pop_front();
  return entries_.back();
}

std::vector<AuditEntry> AuditLog::since(std::uint64_t since) const {
  if (entries_.empty()) return {};
  // Kept seqs are consecutive: the first one wanted is found by arithmetic.
  const std::uint64_t first = entries_.front().seq;
  const std::uint64_t skip = since >= first ? since - first + 1 : 0;
  if (skip >= entries_.size()) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(skip), entries_.end()};
}

json to_json(const AuditEntry& e) {
  return {{"seq", e.seq},        {"time", format_rfc3339(e.time)},
          {"who", e.who},        {"client", e.client},
          {"action", e.action},  {"target", e.target},
          {"outcome", e.outcome}};
}

std::string audit_line(const AuditEntry& e) {
  const auto quoted = [](const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  return "audit: who=" + quoted(e.who) + " client=" + e.client + " action=" + e.action +
         " target=" + quoted(e.target) + " outcome=" + std::to_string(e.outcome);
}

}  // namespace pollux::api
