// SerialLink's failure causes on a real pseudo-terminal with a manual clock (api.md "How a
// failed attempt is classified"): the test plays the device on the pty master, the link's
// timers (reply timeout, frame gap) run only when the test advances time. An answer cut short
// ends at the frame gap (answer_cut_short, a framing error), long before message_timeout_ms;
// bytes that make no answer are a framing error at the timeout; only silence is a timeout.
#include "transport/serial_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "modbus/error.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::transport {
namespace {

using runtime::milliseconds;

struct Results final : LinkListener {
  void on_exchange_done(std::uint64_t, const ExchangeResult& r) override {
    errors.push_back(r.error);
  }
  void on_link_status(LinkStatus) override {}
  std::vector<std::error_code> errors;
};

class SerialLinkCauses : public ::testing::Test {
 protected:
  SerialLinkCauses() {
    char name[256] = {};
    if (::openpty(&master_, &slave_, name, nullptr, nullptr) != 0) return;
    termios t{};
    ::tcgetattr(master_, &t);
    ::cfmakeraw(&t);
    ::tcsetattr(master_, TCSANOW, &t);
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
    cfg_.line.id = "COM1";
    cfg_.line.port = name;
    target_.unit = 1;
    request_ = modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 1);
  }
  ~SerialLinkCauses() override {
    link_.reset();
    if (master_ >= 0) ::close(master_);
    if (slave_ >= 0) ::close(slave_);
  }

  template <class Pred>
  bool run_io_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
      ex_.run_pending();
    }
    return done();
  }

  std::uint64_t stat(const char* name) const {
    for (const auto& [k, v] : link_->stats())
      if (k == name) return v;
    return 0;
  }

  // Starts the link and one exchange; returns once the request is on the wire and the link
  // awaits the answer (its reply timer armed).
  void start_exchange(modbus::Framing framing,
                      runtime::Duration reply_timeout = milliseconds(1000)) {
    ASSERT_GE(master_, 0);
    cfg_.framing = framing;
    link_.emplace(io_, ex_, cfg_);
    link_->set_listener(&results_);
    link_->start();
    ASSERT_EQ(link_->status(), LinkStatus::ok);
    link_->start_exchange({&target_, &request_, reply_timeout}, 7);
    ex_.advance(milliseconds(10));  // the pre-send silence
    std::vector<std::uint8_t> got;
    ASSERT_TRUE(run_io_until([&] {
      std::uint8_t buf[64];
      const auto n = ::read(master_, buf, sizeof buf);
      if (n > 0) got.insert(got.end(), buf, buf + n);
      return got.size() >= (framing == modbus::Framing::ascii ? 17u : 8u) &&
             ex_.pending_timers() > 0;
    }));
  }

  // The device's bytes reach the link (read by the I/O context).
  void device_sends(const std::vector<std::uint8_t>& bytes) {
    const auto before = stat("bytes_in");
    ASSERT_EQ(::write(master_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ASSERT_TRUE(run_io_until([&] { return stat("bytes_in") >= before + bytes.size(); }));
  }

  int master_ = -1, slave_ = -1;
  SerialSettings cfg_;
  Target target_;
  modbus::Request request_;
  boost::asio::io_context io_;
  runtime::ManualExecutor ex_;
  Results results_;
  std::optional<SerialLink> link_;
};

TEST_F(SerialLinkCauses, RtuAnswerCutShortEndsAtTheFrameGap) {
  start_exchange(modbus::Framing::rtu);
  device_sends({0x01, 0x03, 0x02, 0x00});  // 4 of the answer's 7 bytes, then silence
  ex_.advance(milliseconds(100));          // past t3.5 (and its timer's floor), not the timeout
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(results_.errors[0], modbus::Errc::answer_cut_short);
  EXPECT_EQ(modbus::classify(results_.errors[0]), modbus::FailureKind::framing);
  EXPECT_EQ(ex_.pending_timers(), 0u) << "the reply timer went with the exchange";
}

// The gap timer is armed once per partial frame, not moved by every chunk: when it fires
// before the line has been quiet long enough it waits out the rest.
TEST_F(SerialLinkCauses, RtuGapTimerIsArmedOnceAndWaitsOutTheRemainder) {
  start_exchange(modbus::Framing::rtu);
  const auto t0 = ex_.now();
  device_sends({0x01, 0x03});
  ASSERT_EQ(ex_.next_timer(), t0 + milliseconds(50)) << "the gap timer (t3.5, floored)";
  ex_.advance(milliseconds(30));
  device_sends({0x02});
  EXPECT_EQ(ex_.next_timer(), t0 + milliseconds(50)) << "a chunk does not move the gap timer";
  ex_.advance(milliseconds(25));  // t0 + 55: the timer ran, only 25 ms quiet: wait on
  EXPECT_TRUE(results_.errors.empty());
  EXPECT_EQ(ex_.next_timer(), t0 + milliseconds(80));
  ex_.advance(milliseconds(30));
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(results_.errors[0], modbus::Errc::answer_cut_short);
}

// The I/O thread stalled: the rest of the answer arrived in time but its read completion has
// not run when the gap timer does. Bytes waiting on the port are no silence.
TEST_F(SerialLinkCauses, GapTimerBeforeAPendingReadDoesNotCutTheAnswer) {
  start_exchange(modbus::Framing::rtu);
  device_sends({0x01, 0x03, 0x02, 0x00});
  const std::uint8_t rest[] = {0x05, 0x78, 0x47};  // value 5, then the CRC of 01 03 02 00 05
  ASSERT_EQ(::write(master_, rest, sizeof rest), static_cast<ssize_t>(sizeof rest));
  // Wait (the I/O context not running) until the pty holds them on the link's side.
  pollfd readable{slave_, POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 5000), 1);
  int waiting = 0;
  ASSERT_EQ(::ioctl(slave_, FIONREAD, &waiting), 0);
  ASSERT_GT(waiting, 0);
  ex_.advance(milliseconds(120));  // the gap timer runs (twice) before the read completion
  EXPECT_TRUE(results_.errors.empty()) << results_.errors[0].message();
  ASSERT_TRUE(run_io_until([&] { return !results_.errors.empty(); }));
  EXPECT_FALSE(results_.errors[0]) << results_.errors[0].message();
}

TEST_F(SerialLinkCauses, RtuNoiseIsAFramingErrorAtTheTimeout) {
  start_exchange(modbus::Framing::rtu);
  device_sends({0xFF, 0xFF, 0xFF});
  ex_.advance(milliseconds(500));
  EXPECT_TRUE(results_.errors.empty()) << "noise that is no frame start: keep waiting";
  ex_.advance(milliseconds(600));
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(modbus::classify(results_.errors[0]), modbus::FailureKind::framing)
      << results_.errors[0].message();
}

TEST_F(SerialLinkCauses, RtuForeignFrameThenSilenceIsAFramingErrorNotATimeout) {
  start_exchange(modbus::Framing::rtu);
  modbus::RtuFramer f;
  modbus::AduBuffer other;
  const std::uint8_t pdu[] = {0x03, 0x02, 0x00, 0x09};
  ASSERT_FALSE(f.encode(2, pdu, other));
  device_sends({other.span().begin(), other.span().end()});
  ex_.advance(milliseconds(500));
  EXPECT_TRUE(results_.errors.empty()) << "a foreign frame does not end the attempt";
  ex_.advance(milliseconds(600));
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(results_.errors[0], modbus::Errc::wrong_unit);
}

TEST_F(SerialLinkCauses, SilenceIsATimeout) {
  start_exchange(modbus::Framing::rtu);
  ex_.advance(milliseconds(1100));
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(results_.errors[0], modbus::Errc::timeout);
}

// The reply timeout is far off: only the 1 s ASCII frame gap can end this attempt.
TEST_F(SerialLinkCauses, AsciiFrameCutShortEndsAtTheFrameGap) {
  start_exchange(modbus::Framing::ascii, milliseconds(5000));
  const char part[] = ":010302";
  device_sends({part, part + sizeof part - 1});
  ex_.advance(milliseconds(900));
  EXPECT_TRUE(results_.errors.empty()) << "within the gap: keep reading";
  ex_.advance(milliseconds(150));
  ASSERT_EQ(results_.errors.size(), 1u);
  EXPECT_EQ(results_.errors[0], modbus::Errc::answer_cut_short);
  EXPECT_EQ(modbus::classify(results_.errors[0]), modbus::FailureKind::framing);
}

}  // namespace
}  // namespace pollux::transport
