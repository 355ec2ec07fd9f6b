// SerialPortKeeper against a real pseudo-terminal pair (the keeper's job is the real port) with a
// manual clock for its reopen timer: status and callback order, backoff between reopen attempts,
// a port that vanishes, enable/disable, stop.
#include "transport/serial_port_keeper.hpp"

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/manual_executor.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {
namespace {

using runtime::milliseconds;

// Records every callback in order, as text, so tests can check the sequence.
class Recorder final : public SerialPortKeeper::Owner {
 public:
  void on_port_opened() override { events.push_back("opened"); }
  void on_port_bytes(std::span<const std::uint8_t> bytes) override {
    received.append(bytes.begin(), bytes.end());
  }
  void on_port_closed() override { events.push_back("closed"); }
  void fail_exchange(std::error_code ec) override { events.push_back("fail " + ec.message()); }
  void on_port_status(LinkStatus status) override {
    events.push_back("status " + std::string(to_string(status)));
  }
  void on_port_written(const boost::system::error_code& ec) override {
    ++writes;
    write_error = ec;
  }

  std::vector<std::string> events;
  std::string received;
  int writes = 0;
  boost::system::error_code write_error;
};

// A pty pair: the keeper opens the slave by name; the test plays the device on the master.
struct Pty {
  Pty() {
    char name[256] = {};
    if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) return;
    path = name;
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  }
  ~Pty() {
    close_master();
    if (slave >= 0) ::close(slave);
  }
  void close_master() {
    if (master >= 0) ::close(master);
    master = -1;
  }
  int master = -1;
  int slave = -1;
  std::string path;
};

std::string disabled_message() {
  return make_error_code(Errc::channel_disabled).message();
}
std::string down_message() {
  return make_error_code(Errc::channel_down).message();
}

class SerialPortKeeperTest : public ::testing::Test {
 protected:
  SerialPortKeeperTest() {
    cfg_.id = "COM1";
    cfg_.port = pty_.path;
  }

  // Runs real I/O handlers until `done` holds; bounded so a broken port fails, never hangs.
  template <class Pred>
  bool run_io_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  std::string read_master(std::size_t want) {
    std::string got;
    run_io_until([&] {
      char buf[64];
      const auto n = ::read(pty_.master, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      return got.size() >= want;
    });
    return got;
  }

  // A keeper started on the pty, with the start-up callbacks already checked and forgotten.
  SerialPortKeeper& started(std::string_view what = "port") {
    EXPECT_FALSE(pty_.path.empty());
    return start(LinkStatus::ok, what);
  }
  // A keeper started on a port that does not exist: down, a reopen pending.
  SerialPortKeeper& started_missing() {
    cfg_.port = "/dev/pollux-no-such-port";
    auto& k = start(LinkStatus::down, "port");
    EXPECT_EQ(ex_.pending_timers(), 1u);
    return k;
  }
  SerialPortKeeper& start(LinkStatus want, std::string_view what) {
    auto& k = keeper_.emplace(io_, ex_, cfg_, owner_, what);
    k.start();
    EXPECT_EQ(k.status(), want);
    owner_.events.clear();
    return k;
  }

  Pty pty_;
  SerialLineSettings cfg_;
  boost::asio::io_context io_;
  runtime::ManualExecutor ex_;
  Recorder owner_;
  std::optional<SerialPortKeeper> keeper_;
};

TEST_F(SerialPortKeeperTest, OpensReportsOkAndDeliversBytes) {
  ASSERT_FALSE(pty_.path.empty());
  SerialPortKeeper keeper(io_, ex_, cfg_, owner_, "port");
  EXPECT_EQ(keeper.status(), LinkStatus::down);
  keeper.start();
  EXPECT_TRUE(keeper.is_open());
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  // Per-port state is reset before the status tells anyone the port is usable.
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"opened", "status ok"}));
  EXPECT_EQ(keeper.opens(), 1u);
  EXPECT_EQ(keeper.open_failures(), 0u);

  ASSERT_EQ(::write(pty_.master, "\x01\x03\x02", 3), 3);
  ASSERT_TRUE(run_io_until([&] { return owner_.received.size() >= 3; }));
  EXPECT_EQ(owner_.received, "\x01\x03\x02");
  ASSERT_EQ(::write(pty_.master, "xy", 2), 2);  // reading goes on after each delivery
  ASSERT_TRUE(run_io_until([&] { return owner_.received.size() >= 5; }));
  EXPECT_EQ(owner_.received.substr(3), "xy");
}

TEST_F(SerialPortKeeperTest, WritesReachTheWireAndCompletionIsReported) {
  auto& keeper = started();
  const std::string frame = "\x11\x22\x33\x44";
  keeper.write({reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()});
  EXPECT_EQ(read_master(4), frame);
  ASSERT_TRUE(run_io_until([&] { return owner_.writes == 1; }));
  EXPECT_FALSE(keeper.io_failed(owner_.write_error));
  EXPECT_EQ(keeper.lost(), 0u);
}

TEST_F(SerialPortKeeperTest, DisabledChannelNeverOpens) {
  cfg_.enabled = false;
  SerialPortKeeper keeper(io_, ex_, cfg_, owner_, "port");
  keeper.start();
  EXPECT_FALSE(keeper.is_open());
  EXPECT_EQ(keeper.status(), LinkStatus::disabled);
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"status disabled"}));
  EXPECT_EQ(keeper.open_failures(), 0u);
  EXPECT_EQ(ex_.pending_timers(), 0u);

  // Enabling opens at once.
  keeper.set_enabled(true);
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"status disabled", "opened", "status ok"}));
}

TEST_F(SerialPortKeeperTest, MissingPortIsDownAndRetriedWithGrowingBackoffUntilItAppears) {
  cfg_.port = "/dev/pollux-no-such-port";
  SerialPortKeeper keeper(io_, ex_, cfg_, owner_, "port");
  keeper.start();
  EXPECT_EQ(keeper.status(), LinkStatus::down);
  EXPECT_TRUE(owner_.events.empty());  // down from the start: no change to report
  EXPECT_EQ(keeper.open_failures(), 1u);
  ASSERT_EQ(ex_.pending_timers(), 1u);  // one reopen timer, never a tight loop

  // Delays: 250 ms doubling, +-20 % jitter, capped at 5 s.
  std::vector<runtime::Duration> delays;
  for (int i = 0; i < 7; ++i) {
    const auto before = ex_.now();
    ASSERT_TRUE(ex_.advance_to_next_timer());
    delays.push_back(ex_.now() - before);
    EXPECT_EQ(ex_.pending_timers(), 1u);
  }
  EXPECT_EQ(keeper.open_failures(), 8u);
  EXPECT_GE(delays[0], milliseconds(250));
  EXPECT_LE(delays[0], milliseconds(300));
  EXPECT_GE(delays[1], milliseconds(400));
  EXPECT_LE(delays[1], milliseconds(600));
  EXPECT_LE(delays[6], milliseconds(5000));
  EXPECT_GE(delays[6], milliseconds(4000));
  EXPECT_TRUE(owner_.events.empty());

  // The port appears: the next attempt opens it and the backoff starts again from the floor.
  cfg_.port = pty_.path;
  ASSERT_TRUE(ex_.advance_to_next_timer());
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"opened", "status ok"}));
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

TEST_F(SerialPortKeeperTest, VanishedPortFailsTheExchangeGoesDownAndSchedulesAReopen) {
  auto& keeper = started();
  // The other end goes away (as when the pty of a USB adapter vanishes): the read fails.
  pty_.close_master();
  ::close(pty_.slave);
  pty_.slave = -1;
  ASSERT_TRUE(run_io_until([&] { return keeper.lost() == 1; }));
  EXPECT_FALSE(keeper.is_open());
  EXPECT_EQ(keeper.status(), LinkStatus::down);
  EXPECT_EQ(owner_.events,
            (std::vector<std::string>{"closed", "fail " + down_message(), "status down"}));
  EXPECT_EQ(ex_.pending_timers(), 1u);  // a reopen, not tried here: the pty number is free
  keeper.stop();                        // and may belong to another process by then
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

TEST_F(SerialPortKeeperTest, IoFailedIgnoresCancellationButTreatsOtherErrorsAsLoss) {
  auto& keeper = started("modem port");
  EXPECT_FALSE(keeper.io_failed({}));
  EXPECT_TRUE(keeper.io_failed(boost::asio::error::operation_aborted));
  EXPECT_TRUE(owner_.events.empty());
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_TRUE(keeper.io_failed(boost::asio::error::broken_pipe));
  EXPECT_EQ(keeper.lost(), 1u);
  EXPECT_EQ(keeper.status(), LinkStatus::down);
  EXPECT_EQ(owner_.events,
            (std::vector<std::string>{"closed", "fail " + down_message(), "status down"}));
  // The pty is still there: the reopen succeeds.
  ASSERT_TRUE(ex_.advance_to_next_timer());
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_EQ(keeper.opens(), 2u);
}

TEST_F(SerialPortKeeperTest, DisableFailsTheExchangeClosesAndCancelsTheReopen) {
  auto& keeper = started_missing();
  keeper.set_enabled(false);
  EXPECT_EQ(keeper.status(), LinkStatus::disabled);
  // The exchange fails first, then the port closes, then the status says why.
  EXPECT_EQ(owner_.events,
            (std::vector<std::string>{"fail " + disabled_message(), "closed", "status disabled"}));
  EXPECT_EQ(ex_.pending_timers(), 0u);
  keeper.set_enabled(false);  // no change, no callbacks
  EXPECT_EQ(owner_.events.size(), 3u);

  // Enabled again: a fresh backoff, one attempt at once.
  cfg_.port = pty_.path;
  keeper.set_enabled(true);
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_TRUE(keeper.is_open());
}

TEST_F(SerialPortKeeperTest, StopClosesAndNothingReopensAfterwards) {
  auto& keeper = started_missing();
  keeper.stop();
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"closed"}));
  EXPECT_EQ(ex_.pending_timers(), 0u);
  // Enabling a stopped keeper does not open it either.
  keeper.set_enabled(false);
  keeper.set_enabled(true);
  EXPECT_EQ(keeper.open_failures(), 1u);
  EXPECT_FALSE(keeper.is_open());
}

TEST_F(SerialPortKeeperTest, ErrorsAfterStopAreNotALoss) {
  auto& keeper = started();
  keeper.stop();
  owner_.events.clear();
  EXPECT_TRUE(keeper.io_failed(boost::asio::error::broken_pipe));
  // Counted and the exchange failed, but no down status and no reopen for a stopped port.
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"closed", "fail " + down_message()}));
  EXPECT_EQ(keeper.status(), LinkStatus::ok);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

}  // namespace
}  // namespace pollux::transport
