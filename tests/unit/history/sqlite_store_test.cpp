// The store contract on SQLite files in a temporary directory, and SQLite's own rules: open
// errors name the path (history.md "Faults"), a size cap fails writes until space returns, the
// file is in WAL mode, reopening keeps the data, and a kill -9 after a commit loses nothing.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "store_contract.hpp"

namespace pollux::history::testing {
namespace {

namespace fs = std::filesystem;

// One directory for the whole run, removed at the end.
class TempDir : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pollux-history-test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    path = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(path / "readonly", fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
  fs::path path;
};
TempDir* temp = static_cast<TempDir*>(::testing::AddGlobalTestEnvironment(new TempDir));

std::string new_file() {
  static int n = 0;
  return (temp->path / ("store" + std::to_string(++n) + ".db")).string();
}

// `staging`: SqliteOptions::staging_records. The default keeps a test's records in `recent`; 0
// writes them to `history` directly; 2 moves them after nearly every write, so that a key can
// be in both tables (a record replaced after it moved).
StoreUnderTest sqlite_under_test(std::string name, std::size_t staging) {
  return {
      .name = std::move(name),
      .fresh = [staging] { return sqlite_store({.path = new_file(), .staging_records = staging}); },
      // 64 KiB: the 20,000-record batch of WriteIsAllOrNothing needs about 500 KiB.
      .fresh_small =
          [staging] {
            return sqlite_store(
                {.path = new_file(), .max_size_bytes = 65536, .staging_records = staging});
          },
      .poison = [](SeriesRef) { return std::optional<Record>(); },
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract,
                         ::testing::Values(sqlite_under_test("sqlite",
                                                             SqliteOptions{}.staging_records),
                                           sqlite_under_test("sqlite_direct", 0),
                                           sqlite_under_test("sqlite_staging2", 2)),
                         [](const auto& p) { return p.param.name; });

void expect_open_fails(const std::string& path, const std::string& why) {
  try {
    sqlite_store({.path = path})();
    ADD_FAILURE() << "opened " << path;
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, AMissingDirectoryIsNotCreated) {
  const std::string path = (temp->path / "missing" / "history.db").string();
  expect_open_fails(path, "unable to open database file");
  EXPECT_FALSE(fs::exists(temp->path / "missing"));
}

TEST(SqliteStore, AnUnwritableDirectoryFailsAtOpen) {
  // A regular file where the directory should be.
  std::ofstream(temp->path / "plain") << "x";
  expect_open_fails((temp->path / "plain" / "history.db").string(), "unable to open");
  if (geteuid() == 0) {
    // root writes anywhere the mode bits say it may not; /proc takes no new files from anyone.
    expect_open_fails("/proc/self/pollux-history.db", "unable to open");
  } else {
    fs::create_directory(temp->path / "readonly");
    fs::permissions(temp->path / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
    expect_open_fails((temp->path / "readonly" / "history.db").string(), "unable to open");
  }
}

TEST(SqliteStore, AGarbageFileFailsAtOpen) {
  const std::string path = new_file();
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 8192; ++i)
      f.put(static_cast<char>((i * 7919 + 13) % 251));
  }
  expect_open_fails(path, "file is not a database");
}

TEST(SqliteStore, AnotherSchemaVersionFailsAtOpen) {
  const std::string path = new_file();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  expect_open_fails(path, "unknown history schema version 7");
}

TEST(SqliteStore, TheFileIsInWalMode) {
  const std::string path = new_file();
  auto s = sqlite_store({.path = path})();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(SqliteStore, ReopeningKeepsTheRecords) {
  const std::string path = new_file();
  const auto a = series("WELL_01", "PRESSURE");
  {
    auto s = sqlite_store({.path = path})();
    std::vector<Record> batch = {rec(a, 1000, 1.5), rec(a, 2000, std::int64_t{2}, Quality::bad)};
    s->write(batch);
  }
  auto s = sqlite_store({.path = path})();
  EXPECT_EQ(
      s->read_raw(raw(a, 0, 10'000)).records,
      (std::vector<Sample>{{1000, 1.5, Quality::good}, {2000, std::int64_t{2}, Quality::bad}}));
}

TEST(SqliteStore, ACommittedWriteSurvivesKillNine) {
  const std::string path = new_file();
  const auto a = series("WELL_01", "PRESSURE");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only _exit or the kill end the child: it must not go on running tests.
    try {
      auto s = sqlite_store({.path = path})();
      std::vector<Record> batch;
      for (int i = 0; i < 1000; ++i)
        batch.push_back(rec(a, i, static_cast<double>(i)));
      s->write(batch);
      raise(SIGKILL);  // no close, no checkpoint: the records are only in the WAL
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  auto s = sqlite_store({.path = path})();
  const RawPage p = s->read_raw(raw(a, 0, 10'000));
  ASSERT_EQ(p.records.size(), 1000u);
  EXPECT_EQ(p.records[999], (Sample{999, 999.0, Quality::good}));
}

TEST(SqliteStore, ASizeCapFailsWritesUntilSpaceReturns) {
  const std::string path = new_file();
  const auto a = series("WELL_01", "PRESSURE");
  auto s = sqlite_store({.path = path, .max_size_bytes = 128 * 1024})();
  Millis t = 0;
  const auto batch_of = [&](int n) {
    std::vector<Record> batch;
    for (int i = 0; i < n; ++i, t += 1000)
      batch.push_back(rec(a, t, static_cast<double>(t) / 7));
    return batch;
  };
  std::string error;
  for (int i = 0; i < 100 && error.empty(); ++i) {
    auto batch = batch_of(500);
    try {
      s->write(batch);
    } catch (const StoreError& e) {
      error = e.what();
    }
  }
  EXPECT_NE(error.find("database or disk is full"), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_LE(fs::file_size(path), 128u * 1024);
  const std::size_t stored = s->read_raw(raw(a, 0, t, 1'000'000)).records.size();
  EXPECT_GT(stored, 1000u);

  // Deleting old records frees pages for new ones.
  EXPECT_GT(s->delete_before(t / 2), 0u);
  auto batch = batch_of(500);
  s->write(batch);

  // Reopened without the cap, the file grows again.
  s.reset();
  s = sqlite_store({.path = path})();
  auto big = batch_of(20'000);
  s->write(big);
  EXPECT_GT(fs::file_size(path) + fs::file_size(path + "-wal"), 128u * 1024);
}

}  // namespace
}  // namespace pollux::history::testing
