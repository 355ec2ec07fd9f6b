// api::AuditLog (spec/security.md "Settled details"): seq from 1, `since` filtering, the ring of
// the last 1000, the JSON shape of GET /api/v1/audit and a log line a crafted id cannot forge.
#include "api/audit.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pollux::api {
namespace {

AuditEntry entry(std::string target, int outcome = 200) {
  AuditEntry e;
  e.time = runtime::WallTime(std::chrono::milliseconds(1'795'000'000'123));
  e.who = "scada-host";
  e.client = "127.0.0.1:40000";
  e.action = "write";
  e.target = std::move(target);
  e.outcome = outcome;
  return e;
}

TEST(AuditLog, SeqStartsAtOneAndSinceReturnsLaterEntriesOldestFirst) {
  AuditLog log;
  EXPECT_TRUE(log.since(0).empty());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(log.record(entry("D" + std::to_string(i))).seq, static_cast<std::uint64_t>(i + 1));
  const auto all = log.since(0);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().target, "D0");
  const auto later = log.since(3);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].seq, 4u);
  EXPECT_EQ(later[1].seq, 5u);
  EXPECT_TRUE(log.since(5).empty());
  EXPECT_TRUE(log.since(1000).empty());
}

TEST(AuditLog, KeepsTheLastThousand) {
  AuditLog log;
  for (int i = 0; i < 1005; ++i)
    log.record(entry("D"));
  EXPECT_EQ(log.size(), 1000u);
  const auto all = log.since(0);
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.front().seq, 6u);
  EXPECT_EQ(all.back().seq, 1005u);
  EXPECT_EQ(log.since(1000).size(), 5u);
}

TEST(AuditLog, JsonShape) {
  AuditEntry e = entry("PUMP_01", 403);
  e.seq = 7;
  EXPECT_EQ(to_json(e), nlohmann::json::parse(R"({"seq":7,"time":"2026-11-18T11:06:40.123Z",
      "who":"scada-host","client":"127.0.0.1:40000","action":"write","target":"PUMP_01",
      "outcome":403})"));
}

TEST(AuditLog, LineQuotesWhatTheClientChose) {
  AuditEntry e = entry("X\naudit: who=\"engineer\"");
  e.seq = 1;
  const std::string line = audit_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line,
            "audit: who=\"scada-host\" client=127.0.0.1:40000 action=write "
            "target=\"X\\naudit: who=\\\"engineer\\\"\" outcome=200");
}

}  // namespace
}  // namespace pollux::api
