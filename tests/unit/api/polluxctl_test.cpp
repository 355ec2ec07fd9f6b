// Runs the real polluxctl binary against the HTTP server serving FakeNode on a background I/O
// thread. Each run is bounded by coreutils `timeout`; FakeNode is inspected only after the I/O
// thread stopped.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "app/http_server.hpp"
#include "fake_node.hpp"

namespace pollux::app {
namespace {

using nlohmann::json;

struct CtlRun {
  int exit = -1;
  std::string out;  // stdout and stderr together
};

class PolluxctlTest : public ::testing::Test {
 protected:
  void start() {
    server_ = std::make_unique<HttpServer>(io_, node_, "127.0.0.1:0");
    server_->start();
    api_ = "http://127.0.0.1:" + std::to_string(server_->port());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }

  CtlRun run(const std::string& args, const std::string& env = {}) {
    const std::string cmd = env + " timeout 20 " POLLUXCTL_PATH " " + args + " 2>&1";
    CtlRun r;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return r;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0)
      r.out.append(buf, n);
    const int status = pclose(pipe);
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
  CtlRun ctl(const std::string& args) { return run("--api " + api_ + " " + args); }

  boost::asio::io_context io_;
  testing::FakeNode node_;
  std::unique_ptr<HttpServer> server_;
  std::string api_;
  std::thread thread_;
};

TEST_F(PolluxctlTest, StatusTable) {
  start();
  const CtlRun r = ctl("status");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("pollux-a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("independent"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("COM1     serial  modbus-rtu"), std::string::npos) << r.out;
}

TEST_F(PolluxctlTest, JsonPrintsTheRawAnswer) {
  start();
  const CtlRun r = ctl("--json devices");
  ASSERT_EQ(r.exit, 0) << r.out;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0].at("id"), "WELL_01");
  EXPECT_EQ(doc[0].at("last_success"), "2026-11-21T22:40:01.123Z");
  const CtlRun status = ctl("status --json");
  ASSERT_EQ(status.exit, 0) << status.out;
  EXPECT_EQ(json::parse(status.out).at("health").at("node"), "pollux-a");
}

TEST_F(PolluxctlTest, PointsAndDevicesTables) {
  start();
  CtlRun r = ctl("points WELL_01");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("PRESSURE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12.5"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("TANK_02"), std::string::npos) << r.out;
  r = ctl("devices");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("WELL_01"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TANK_02"), std::string::npos) << r.out;
  // DEVICE.comm in the second column, in words (no colour codes into a pipe).
  EXPECT_EQ(r.out.rfind("DEVICE   COMM    ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("TANK_02  failed  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("WELL_01  ok      "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  r = ctl("points NOPE");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("404: unknown device NOPE"), std::string::npos) << r.out;
}

TEST_F(PolluxctlTest, LineExitCodes) {
  start();
  CtlRun r = ctl("line WELL_01 2");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "WELL_01: active line 2 (NET1)\n");
  r = ctl("line WELL_01 7");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("400"), std::string::npos) << r.out;
  r = ctl("line WELL_01 3");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("409: line 3 is not usable"), std::string::npos) << r.out;
  r = ctl("line WELL_01 two");
  EXPECT_EQ(r.exit, 2) << r.out;
}

TEST_F(PolluxctlTest, WriteValuesReachTheNode) {
  node_.auto_complete_write = Outcome::success();
  start();
  CtlRun r = ctl("write WELL_01 SETPOINT -12.5");
  EXPECT_EQ(r.exit, 0) << r.out;
  r = ctl("write WELL_01 MODE AUTO");
  EXPECT_EQ(r.exit, 0) << r.out;
  stop();
  EXPECT_EQ(node_.calls,
            (std::vector<std::string>{"write WELL_01 SETPOINT", "write WELL_01 MODE"}));
}

TEST_F(PolluxctlTest, FailedWriteExitsOne) {
  node_.auto_complete_write = Outcome::failure(504, "no answer from WELL_01");
  start();
  const CtlRun r = ctl("write WELL_01 SETPOINT 1");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("504: no answer from WELL_01"), std::string::npos) << r.out;
}

TEST_F(PolluxctlTest, ReloadErrorsAreListed) {
  node_.reload_result = {Outcome::failure(400, "invalid configuration"),
                         "",
                         {"pollux.yaml:4:3: error: unknown key 'x'"}};
  start();
  const CtlRun r = ctl("reload");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("pollux.yaml:4:3: error: unknown key 'x'"), std::string::npos) << r.out;
}

TEST_F(PolluxctlTest, EventsSinceAndChannel) {
  start();
  CtlRun r = ctl("events --since 1");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("primary_recovered"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("initial_fail"), std::string::npos) << r.out;
  r = ctl("channel COM1 disable");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("disabled"), std::string::npos) << r.out;
  EXPECT_EQ(ctl("channel COM1 toggle").exit, 2);
}

TEST_F(PolluxctlTest, RedundancyVerbs) {
  node_.force_failover_result = Outcome::failure(409, "no connected peer");
  start();
  CtlRun r = ctl("redundancy");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("v1-abc"), std::string::npos) << r.out;
  r = ctl("force-failover");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("no connected peer"), std::string::npos) << r.out;
  EXPECT_EQ(ctl("recover").exit, 0);
}

TEST_F(PolluxctlTest, WatchRedraws) {
  start();
  // `timeout` ends the endless watch loop; at least two frames must have been drawn by then.
  const CtlRun r = run("--api " + api_ + " --watch 0.2 devices", "timeout 1.5");
  EXPECT_EQ(r.exit, 124) << r.out;
  std::size_t frames = 0;
  for (auto pos = r.out.find("\x1b[H\x1b[2J"); pos != std::string::npos;
       pos = r.out.find("\x1b[H\x1b[2J", pos + 1)) {
    ++frames;
  }
  EXPECT_GE(frames, 2u) << r.out;
  EXPECT_NE(r.out.find("WELL_01"), std::string::npos) << r.out;
}

TEST_F(PolluxctlTest, UsageErrorsExitTwo) {
  start();
  EXPECT_EQ(ctl("").exit, 2);
  EXPECT_EQ(ctl("frobnicate").exit, 2);
  EXPECT_EQ(ctl("points A B").exit, 2);
  EXPECT_EQ(ctl("--bogus status").exit, 2);
  EXPECT_EQ(ctl("--watch 1 line WELL_01 2").exit, 2);
  EXPECT_EQ(run("--api ftp://x status").exit, 2);
  EXPECT_EQ(run("--help").exit, 0);
}

TEST_F(PolluxctlTest, UnreachableExitsThreeAndEnvironmentIsHonoured) {
  start();
  // Port 1 (tcpmux) is not served here: connection refused.
  const CtlRun r = run("--api http://127.0.0.1:1 status");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_NE(r.out.find("unreachable"), std::string::npos) << r.out;
  const CtlRun ok = run("status", "POLLUX_API=" + api_);
  EXPECT_EQ(ok.exit, 0) << ok.out;
  EXPECT_NE(ok.out.find("pollux-a"), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace pollux::app
