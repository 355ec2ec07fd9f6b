// The `history:` section and a point's `history:` key (spec/history.md "Configuration" and
// "Settled details"): defaults, located errors, the shared/node-local split of config sync and
// what backup_overrides.history may change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/canonical.hpp"
#include "test_util.hpp"

namespace pollux::config::test {
namespace {

using ::testing::HasSubstr;

const std::string kDevices = R"(channels: [{id: C, type: tcp}]
devices:
  - id: W
    comm: {primary: {channel: C, host: 127.0.0.1, port: 502}}
    polls:
      - name: fast
        points:
          - {name: P, address: 0, history: {deadband: 0.5, max_interval_s: 300}}
          - {name: SPARE, address: 1, history: false}
          - {name: Q, address: 2}
)";

Config must_load(const std::string& text, bool as_backup = false) {
  const auto r = load(text, {}, as_backup);
  EXPECT_TRUE(r.ok()) << dump(r);
  return r.config.value_or(Config{});
}

TEST(HistoryConfig, AbsentSectionKeepsNoHistory) {
  EXPECT_FALSE(must_load("node: {name: a}\n").history.has_value());
}

TEST(HistoryConfig, EmptySectionMeansTheDefaults) {
  const Config c = must_load("node: {name: a}\nhistory:\n");
  ASSERT_TRUE(c.history);
  EXPECT_EQ(c.history->backend, HistoryBackend::sqlite);
  EXPECT_EQ(c.history->path, "/var/lib/pollux/history.db");
  EXPECT_EQ(c.history->resolved_cache_path(), "/var/lib/pollux/history-cache.db");
  EXPECT_EQ(c.history->retention_days, 30);
  EXPECT_EQ(c.history->deadband, 0);
  EXPECT_EQ(c.history->max_interval_s, 0);
}

TEST(HistoryConfig, EveryKeyIsRead) {
  const Config c = must_load(
      "node: {name: a}\nhistory: {backend: postgresql, url: 'host=x', path: /d/h.db, "
      "cache_path: /c/c.db, retention_days: 7, deadband: 0.25, max_interval_s: 60, "
      "max_size_mb: 5}\n");
  ASSERT_TRUE(c.history);
  EXPECT_EQ(c.history->backend, HistoryBackend::postgresql);
  EXPECT_EQ(c.history->url, "host=x");
  EXPECT_EQ(c.history->path, "/d/h.db");
  EXPECT_EQ(c.history->resolved_cache_path(), "/c/c.db");
  EXPECT_EQ(c.history->retention_days, 7);
  EXPECT_EQ(c.history->deadband, 0.25);
  EXPECT_EQ(c.history->max_interval_s, 60);
  EXPECT_EQ(c.history->max_size_mb, 5);
}

TEST(HistoryConfig, CachePathDefaultsBesidePath) {
  const Config c = must_load("node: {name: a}\nhistory: {path: /srv/p/h.db}\n");
  EXPECT_EQ(c.history->resolved_cache_path(), "/srv/p/history-cache.db");
}

TEST(HistoryConfig, PointSettings) {
  const Config c = must_load("node: {name: a}\nhistory:\n" + kDevices);
  const auto& pts = c.devices[0].polls[0].points;
  EXPECT_TRUE(pts[0].history.enabled);
  EXPECT_EQ(pts[0].history.deadband, 0.5);
  EXPECT_EQ(pts[0].history.max_interval_s, 300);
  EXPECT_FALSE(pts[1].history.enabled);
  EXPECT_TRUE(pts[2].history.enabled);
  EXPECT_FALSE(pts[2].history.deadband);
}

TEST(HistoryConfig, ErrorsAreLocated) {
  const std::string text =
      "node: {name: a}\nhistory: {backend: mysql, retention_days: -1, deadband: -2, "
      "colour: red}\n";
  const auto r = load(text);
  ASSERT_EQ(r.errors.size(), 4u) << dump(r);
  EXPECT_EQ(r.errors[0].col, pos(text, "mysql").col);
  EXPECT_THAT(r.errors[0].message, HasSubstr("backend"));
  EXPECT_THAT(dump(r), HasSubstr("retention_days"));
  EXPECT_THAT(dump(r), HasSubstr("deadband"));
  EXPECT_THAT(dump(r), HasSubstr("unknown key 'colour'"));
}

TEST(HistoryConfig, PostgresqlNeedsAUrl) {
  const std::string text = "node: {name: a}\nhistory: {backend: postgresql}\n";
  const auto r = load(text);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_THAT(r.errors[0].message, HasSubstr("needs a 'url'"));
}

TEST(HistoryConfig, BadPointHistoryIsLocated) {
  std::string text = "node: {name: a}\nhistory:\n" + kDevices;
  text.replace(text.find("history: false"), 14, "history: maybe");
  const auto r = load(text);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, pos(text, "maybe").line);
  EXPECT_THAT(r.errors[0].message, HasSubstr("'history'"));
  std::string t2 = "node: {name: a}\nhistory:\n" + kDevices;
  t2.replace(t2.find("max_interval_s: 300"), 19, "every: 300");
  const auto r2 = load(t2);
  ASSERT_EQ(r2.errors.size(), 1u) << dump(r2);
  EXPECT_THAT(r2.errors[0].message, HasSubstr("unknown key 'every'"));
}

TEST(HistoryConfig, SharedKeysAreSyncedAndNodeLocalKeysStay) {
  const Config master = must_load(
      "node: {name: a}\nhistory: {path: /m/h.db, retention_days: 9, deadband: 1, "
      "max_interval_s: 30, max_size_mb: 3}\n" +
      kDevices);
  const std::string text = canonical_text(master);
  EXPECT_THAT(text, HasSubstr("\"retention_days\":9"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("/m/h.db")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("max_size_mb")));
  const Config local = must_load("node: {name: b}\nhistory: {path: /b/h.db, retention_days: 1}\n");
  const auto r = load_synced(text, local);
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_TRUE(r.config->history);
  EXPECT_EQ(r.config->history->path, "/b/h.db");
  EXPECT_EQ(r.config->history->max_size_mb, 0);
  EXPECT_EQ(r.config->history->retention_days, 9);
  EXPECT_EQ(r.config->history->deadband, 1);
  EXPECT_EQ(r.config->devices[0].polls[0].points[0].history,
            master.devices[0].polls[0].points[0].history);
  EXPECT_FALSE(r.config->devices[0].polls[0].points[1].history.enabled);
  // A backup whose own file has no history section takes the defaults for its local keys.
  const auto r2 = load_synced(text, must_load("node: {name: b}\n"));
  ASSERT_TRUE(r2.ok()) << dump(r2);
  EXPECT_EQ(r2.config->history->path, "/var/lib/pollux/history.db");
}

TEST(HistoryConfig, WithoutHistoryTheVersionIsUnchanged) {
  const std::string base = "node: {name: a}\n" + kDevices;
  std::string plain = base;
  for (const char* s : {", history: {deadband: 0.5, max_interval_s: 300}", ", history: false"})
    plain.erase(plain.find(s), std::string_view(s).size());
  // Points without a history key write nothing new, so the pinned version text is as before.
  EXPECT_THAT(canonical_text(must_load(plain)), ::testing::Not(HasSubstr("history")));
  EXPECT_NE(config_version(must_load(base)), config_version(must_load(plain)));
  EXPECT_NE(config_version(must_load(plain + "history:\n")), config_version(must_load(plain)));
}

TEST(HistoryConfig, BackupOverridesChangeOnlyTheirKeys) {
  const std::string text =
      "node: {name: a}\nhistory: {retention_days: 30, deadband: 1}\n" + kDevices +
      "backup_overrides:\n  history: {retention_days: 2, max_interval_s: 10}\n";
  const Config master = must_load(text);
  EXPECT_EQ(master.history->retention_days, 30);
  const Config backup = must_load(text, true);
  EXPECT_EQ(backup.history->retention_days, 2);
  EXPECT_EQ(backup.history->max_interval_s, 10);
  EXPECT_EQ(backup.history->deadband, 1);

  const std::string bad = "node: {name: a}\nhistory:\nbackup_overrides:\n  history: {path: /x}\n";
  const auto r = load(bad);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_THAT(r.errors[0].message, HasSubstr("unknown key 'path'"));

  const auto r2 = load("node: {name: a}\nbackup_overrides:\n  history: {deadband: 1}\n");
  ASSERT_EQ(r2.errors.size(), 1u) << dump(r2);
  EXPECT_THAT(r2.errors[0].message, HasSubstr("needs a 'history' section"));
}

TEST(HistoryConfig, LoadSyncedRoundTrips) {
  const Config c = must_load("node: {name: a}\nhistory: {deadband: 2}\n" + kDevices);
  const auto r = load_synced(canonical_text(c), c);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(*r.config, c);
}

}  // namespace
}  // namespace pollux::config::test
