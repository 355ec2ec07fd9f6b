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

#include "api/http_server.hpp"
#include "fake_node.hpp"

namespace pollux::api {
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
  EXPECT_EQ(r.out.rfind("WELL_01: active line 2 (NET1)\n", 0), 0u) << r.out;
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

TEST_F(PolluxctlTest, NorthboundVerb) {
  start();
  CtlRun r = ctl("northbound");
  EXPECT_EQ(r.exit, 1) << r.out;  // no northbound section: the node's 404
  api::NorthboundView v;
  v.broker = "ssl://broker:8883";
  v.edge_node = "Plant1/FE1";
  v.bd_seq = 7;
  v.state = "awaiting_host";
  v.last_error = "not authorized";
  node_.northbound_view = v;
  r = ctl("northbound");
  EXPECT_EQ(r.exit, 0) << r.out;
  for (const char* want : {"Plant1/FE1", "ssl://broker:8883", "awaiting_host", "not authorized"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(ctl("northbound extra").exit, 2);
}

TEST_F(PolluxctlTest, WatchRedrawsWithoutEscapeCodesOnAPipe) {
  start();
  // `timeout` ends the endless watch loop; at least two frames must have been drawn by then.
  // stdout is a pipe here, not a terminal: frames follow one another, no clear-screen codes.
  const CtlRun r = run("--api " + api_ + " --watch 0.2 devices", "timeout 1.5");
  EXPECT_EQ(r.exit, 124) << r.out;
  std::size_t frames = 0;
  for (auto pos = r.out.find("polluxctl devices"); pos != std::string::npos;
       pos = r.out.find("polluxctl devices", pos + 1)) {
    ++frames;
  }
  EXPECT_GE(frames, 2u) << r.out;
  EXPECT_NE(r.out.find("WELL_01"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
}

// A usage error is one line saying what is wrong and a hint, not the whole help.
TEST_F(PolluxctlTest, UsageErrorIsOneLineAndAHint) {
  start();
  const std::string hint = "Try 'polluxctl --help' for the verbs and options.\n";
  CtlRun r = ctl("points A B");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(r.out,
            "polluxctl: wrong number of arguments; usage: polluxctl points [DEVICE]\n" + hint);
  r = ctl("--bogus status");
  EXPECT_EQ(r.out, "polluxctl: unknown option --bogus\n" + hint);
  r = ctl("");
  EXPECT_EQ(r.out, "polluxctl: no verb given\n" + hint);
}

// The `*` after a line number says the primary failed over; the table explains it.
TEST_F(PolluxctlTest, DevicesExplainTheStar) {
  node_.device_state("WELL_01").active_line = 2;
  node_.device_state("WELL_01").primary_failed_over = true;
  start();
  const CtlRun r = ctl("devices");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("2*"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n* primary failed over: a failure moved the device off line 1"),
            std::string::npos)
      << r.out;
  stop();
  node_.device_state("WELL_01").primary_failed_over = false;
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  const CtlRun plain = ctl("devices");
  EXPECT_EQ(plain.out.find('*'), std::string::npos) << plain.out;
}

// On a device with auto: true, a manual line change is undone by Retry primary: `line` says so
// and when (failover.md rules 5 and 7); without retry_primary_s it says the device stays.
TEST_F(PolluxctlTest, LineOnAnAutoDeviceSaysWhenRetryPrimaryMovesItBack) {
  start();
  CtlRun r = ctl("line WELL_01 2");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("Retry primary moves WELL_01 back to line 1 (COM1) after 300 s "
                       "(retry_primary_s of line 2), at about "),
            std::string::npos)
      << r.out;
  r = ctl("line WELL_01 1");
  EXPECT_EQ(r.out, "WELL_01: active line 1 (COM1)\n");
  stop();
  node_.device_state("WELL_01").lines[1].retry_primary_s.reset();
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  r = ctl("line WELL_01 2");
  EXPECT_NE(r.out.find("line 2 has no retry_primary_s, so Retry primary will not move it back"),
            std::string::npos)
      << r.out;
  stop();
  node_.device_state("WELL_01").auto_failover = false;
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  r = ctl("line WELL_01 2");
  EXPECT_EQ(r.out, "WELL_01: active line 2 (NET1)\n");
}

RedundancyView pair_view(const std::string& activity, const std::string& peer_activity) {
  RedundancyView v;
  v.mode = "master";
  v.activity = activity;
  v.peer_connected = v.peer_authenticated = true;
  v.peer_address = "127.0.0.1:8751";
  v.peer_activity = peer_activity;
  return v;
}

// recover and force-failover answer once the handover started; polluxctl reports the state
// after it completed, not the one the node answered with.
TEST_F(PolluxctlTest, HandoverVerbsReportTheStateAfterTheHandover) {
  node_.redundancy_state() = pair_view("standby", "active");
  node_.handover_script = {pair_view("standby", "active"), pair_view("standby", "active"),
                           pair_view("active", "active"), pair_view("active", "standby")};
  start();
  CtlRun r = ctl("recover");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "recover: done; this node is active, its peer (127.0.0.1:8751) standby\n");
  stop();
  node_.handover_script = {pair_view("standby", "standby"), pair_view("standby", "active")};
  node_.handover_started = false;
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  r = ctl("force-failover");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out,
            "force-failover: done; this node is standby, its peer (127.0.0.1:8751) active\n");
  // A handover that never completes is reported as such once --timeout is over.
  stop();
  node_.redundancy_state() = pair_view("active", "standby");
  node_.handover_script = {pair_view("active", "standby")};
  node_.handover_started = false;
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  r = ctl("--timeout 1 force-failover");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("the handover had not completed after 1 s: this node is active"),
            std::string::npos)
      << r.out;
}

// The node keeps its last link error; once the link is authenticated it is history.
TEST_F(PolluxctlTest, RedundancyMarksAnOldErrorAsPast) {
  node_.redundancy_state() = pair_view("active", "standby");
  node_.redundancy_state().last_error = "connection refused";
  start();
  CtlRun r = ctl("redundancy");
  EXPECT_NE(r.out.find("(past) connection refused"), std::string::npos) << r.out;
  stop();
  node_.redundancy_state().peer_authenticated = false;
  thread_ = std::thread([this] {
    io_.restart();
    io_.run();
  });
  r = ctl("redundancy");
  EXPECT_NE(r.out.find("connection refused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(past)"), std::string::npos) << r.out;
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
}  // namespace pollux::api
