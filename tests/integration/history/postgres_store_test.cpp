// The store contract on a real PostgreSQL (its URL in POLLUX_TEST_PG_URL, set by
// run_postgres_store_test.py; without it every test fails, none is skipped), and PostgreSQL's own
// rules: a refused connection fails at open, a lost one fails the call at once and a new
// connection from the factory works.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "store_contract.hpp"

namespace pollux::history::testing {
namespace {

std::string url() {
  const char* u = std::getenv("POLLUX_TEST_PG_URL");
  if (!u || !*u)
    throw std::runtime_error(
        "POLLUX_TEST_PG_URL is not set: run this through run_postgres_store_test.py "
        "(ctest -R history_postgres_store)");
  return u;
}

// Runs `sql` on a connection of its own; fails the test when it fails.
void admin(const std::string& sql) {
  PGconn* c = PQconnectdb(url().c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, ("SET client_min_messages=warning;" + sql).c_str());
  EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
      << sql << ": " << PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
}

StoreFactory fresh() {
  const std::string u = url();
  admin("DROP TABLE IF EXISTS pollux_history, pollux_series");
  return postgres_store({.url = u});
}

StoreUnderTest postgres_under_test() {
  return {
      .name = "postgres",
      .fresh = fresh,
      .fresh_small = fresh,
      // The server takes only valid UTF-8 text: the whole statement fails.
      .poison =
          [](SeriesRef s) { return std::optional<Record>(rec(s, 1, std::string("ok \xff"))); },
  };
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract, ::testing::Values(postgres_under_test()),
                         [](const auto& p) { return p.param.name; });

TEST(PostgresStore, TheServerIsGiven) {
  EXPECT_NO_THROW(url());
}

TEST(PostgresStore, ARefusedConnectionFailsAtOpen) {
  // A port nobody listens on: bound, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(fd);
  const std::string u = "postgresql://pollux@127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/x";
  try {
    postgres_store({.url = u})();
    ADD_FAILURE() << "connected to " << u;
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to PostgreSQL"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
  EXPECT_THROW(postgres_store({.url = "postgresql://pollux@127.0.0.1:1/x?connect_timeout=2"})(),
               StoreError);
}

TEST(PostgresStore, ALostConnectionFailsEveryCallAndANewOneWorks) {
  const StoreFactory open = fresh();
  auto s = open();
  const auto a = series("WELL_01", "PRESSURE");
  std::vector<Record> batch = {rec(a, 1000, 1.0)};
  s->write(batch);
  admin(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name='pollux' AND pid<>pg_backend_pid()");
  std::vector<Record> more = {rec(a, 2000, 2.0)};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(s->write(more), StoreError);
  try {
    s->write(more);
    ADD_FAILURE() << "wrote on a lost connection";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("connection to PostgreSQL lost"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s->read_raw(raw(a, 0, 10'000)), StoreError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  s = open();
  s->write(more);
  EXPECT_EQ(times(s->read_raw(raw(a, 0, 10'000))), (std::vector<Millis>{1000, 2000}));
}

TEST(PostgresStore, TheTablesAreInTheDefaultSchema) {
  auto s = fresh()();
  admin(
      "DO $$ BEGIN IF (SELECT count(*) FROM information_schema.tables WHERE table_schema="
      "current_schema() AND table_name IN ('pollux_series', 'pollux_history')) <> 2 THEN "
      "RAISE EXCEPTION 'tables missing'; END IF; END $$");
}

}  // namespace
}  // namespace pollux::history::testing
