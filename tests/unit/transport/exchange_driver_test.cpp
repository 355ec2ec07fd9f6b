// The exchange driver over a fake wire with a manual clock (drivers/transport/exchange_driver.hpp):
// one Modbus exchange from send to the listener's callback, and each way it can end -- an
// answer, a timeout, noise before the answer, an answer cut short then silence (the serial
// frame gap), the wire failing mid-exchange -- and that the listener never hears of an exchange
// from inside the call that started it; and that bytes handled after the reply deadline (the
// process held up with the answer waiting in the OS) are no answer.
#include "transport/exchange_driver.hpp"

#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "modbus/error.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_wire.hpp"
#include "testlib/hex.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {
namespace {

using runtime::milliseconds;
using testlib::bytes;

struct Heard final : LinkListener {
  void on_exchange_done(std::uint64_t tag, const ExchangeResult& r) override {
    tags.push_back(tag);
    errors.push_back(r.error);
    value = r.response && r.response->register_count() > 0 ? r.response->register_at(0) : -1;
    if (then) then();
  }
  void on_link_status(LinkStatus) override {}
  std::vector<std::uint64_t> tags;
  std::vector<std::error_code> errors;
  int value = -1;
  std::function<void()> then;  // runs inside the report, as a scheduler sending on at once does
};

class ExchangeDriverTest : public ::testing::Test {
 protected:
  explicit ExchangeDriverTest(modbus::Framing framing = modbus::Framing::rtu)
      : driver_(ex_, framing, wire_, listener_ptr_) {
    target_.unit = 1;
  }
  // Starts an exchange from inside a link's start_exchange, as TcpLink does: sent at once.
  void start(runtime::Duration timeout = milliseconds(1000), std::uint64_t tag = 7) {
    driver_.begin({&target_, &request_, timeout}, tag);
    driver_.send_from_start();
  }
  // The request went out; the reply timer runs from here.
  void written() {
    ASSERT_EQ(wire_.writes.size(), 1u);
    EXPECT_EQ(testlib::hex(wire_.writes[0]), "01 03 00 00 00 01 84 0A");
    driver_.on_written();
  }
  // The listener heard one exchange, answered normally with register 0 = `value`.
  void heard_one_answer(int value) {
    ASSERT_EQ(heard_.errors.size(), 1u);
    EXPECT_FALSE(heard_.errors[0]) << heard_.errors[0].message();
    EXPECT_EQ(heard_.value, value);
  }

  runtime::ManualExecutor ex_;
  testlib::FakeWire wire_;
  Heard heard_;
  LinkListener* listener_ptr_ = &heard_;
  ExchangeDriver driver_;
  Target target_;
  modbus::Request request_ =
      modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 1);
};

TEST_F(ExchangeDriverTest, AnAnswerEndsTheExchangeWithItsValues) {
  start();
  EXPECT_TRUE(driver_.busy());
  EXPECT_EQ(wire_.flushes, 1) << "stale input is dropped before the request";
  written();
  driver_.on_bytes(bytes("01 03 02 00"));
  EXPECT_TRUE(heard_.errors.empty());
  driver_.on_bytes(bytes("05 78 47"));
  heard_one_answer(5);
  EXPECT_EQ(heard_.tags[0], 7u);
  EXPECT_FALSE(driver_.busy());
  EXPECT_EQ(ex_.pending_timers(), 0u) << "the reply timer went with the exchange";
}

TEST_F(ExchangeDriverTest, SilenceIsATimeoutAtTheReplyTimeout) {
  start(milliseconds(500));
  written();
  ex_.advance(milliseconds(499));
  EXPECT_TRUE(heard_.errors.empty());
  ex_.advance(milliseconds(1));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::timeout);
  EXPECT_FALSE(driver_.busy());
}

TEST_F(ExchangeDriverTest, NoiseBeforeTheAnswerIsSkipped) {
  start();
  written();
  driver_.on_bytes(bytes("FF FF FF"));
  EXPECT_TRUE(heard_.errors.empty());
  driver_.on_bytes(bytes("01 03 02 00 05 78 47"));
  heard_one_answer(5);
}

TEST_F(ExchangeDriverTest, NoiseAloneIsAFramingErrorNotATimeout) {
  start();
  written();
  driver_.on_bytes(bytes("FF FF FF"));
  ex_.advance(milliseconds(1000));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(modbus::classify(heard_.errors[0]), modbus::FailureKind::framing);
}

// A serial line: the start of our answer, then the frame gap of silence, ends the attempt long
// before the reply timeout. The gap timer waits at least 50 ms (a thread a little late must not
// cut whole answers), and not while bytes wait to be read.
TEST_F(ExchangeDriverTest, AnAnswerCutShortEndsAtTheFrameGap) {
  driver_.set_line_timing(milliseconds(2), milliseconds(2));
  start(milliseconds(5000));
  written();
  const auto t0 = ex_.now();
  driver_.on_bytes(bytes("01 03 02"));
  ASSERT_EQ(ex_.next_timer(), t0 + milliseconds(50));
  wire_.pending_input = true;
  ex_.advance(milliseconds(50));
  EXPECT_TRUE(heard_.errors.empty()) << "bytes waiting to be read are no silence";
  wire_.pending_input = false;
  ex_.advance(milliseconds(50));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::answer_cut_short);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

TEST_F(ExchangeDriverTest, TheLineIsQuietBeforeARequest) {
  driver_.set_line_timing(milliseconds(20), milliseconds(20));
  driver_.on_wire_opened();
  ex_.advance(milliseconds(5));
  driver_.on_bytes(bytes("AA"));  // between exchanges: only line activity
  driver_.begin({&target_, &request_, milliseconds(1000)}, 1);
  driver_.send_later();
  ex_.advance(milliseconds(19));
  EXPECT_TRUE(wire_.writes.empty());
  ex_.advance(milliseconds(1));
  EXPECT_EQ(wire_.writes.size(), 1u);
}

TEST_F(ExchangeDriverTest, AWireErrorMidExchangeEndsItAtOnce) {
  start();
  written();
  driver_.on_bytes(bytes("01 03"));
  driver_.on_wire_error(make_error_code(Errc::channel_down));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_down);
  EXPECT_EQ(ex_.pending_timers(), 0u);
  driver_.on_bytes(bytes("02 00 05 78 47"));  // the rest, too late: nobody hears of it
  ex_.advance(milliseconds(2000));
  EXPECT_EQ(heard_.errors.size(), 1u);
}

TEST_F(ExchangeDriverTest, ARequestTheCodecRefusesIsReportedOnTheNextTurn) {
  request_ = modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 200);
  start();
  EXPECT_TRUE(heard_.errors.empty()) << "never inline from start";
  EXPECT_TRUE(wire_.writes.empty());
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::limit_exceeded);
}

// A write that goes at once (a TCP socket with room) is reported from inside write(): a
// broadcast, which awaits no answer, still ends on the next turn.
TEST_F(ExchangeDriverTest, ABroadcastWrittenAtOnceEndsOnTheNextTurn) {
  wire_.completes_inline = &driver_;
  target_.unit = 0;
  request_ = modbus::Request::write_register(0, 1);
  start();
  EXPECT_EQ(wire_.writes.size(), 1u);
  EXPECT_TRUE(heard_.errors.empty());
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_FALSE(heard_.errors[0]);
}

TEST_F(ExchangeDriverTest, FailSoonAndAbandon) {
  driver_.begin({&target_, &request_, milliseconds(1000)}, 3);
  driver_.fail_soon(make_error_code(Errc::channel_disabled));
  EXPECT_TRUE(heard_.errors.empty());
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_disabled);

  start();
  written();
  driver_.abandon();  // the link stops: no callback, no timer
  EXPECT_EQ(ex_.pending_timers(), 0u);
  driver_.on_bytes(bytes("01 03 02 00 05 78 47"));
  EXPECT_EQ(heard_.errors.size(), 1u);
}

// The process was held up past the reply deadline (SIGSTOP, a turn that ran long) with the
// answer already waiting in the OS. Read now, its value would be as old as the hold-up but
// stamped now. The deadline decides, as if the reply timer had run first; and the stale bytes,
// read before the next request went out, are not taken for its answer.
TEST_F(ExchangeDriverTest, AnAnswerHandledAfterTheReplyDeadlineIsATimeoutNotTheNextAnswer) {
  start(milliseconds(500));
  written();
  ex_.pause(milliseconds(499));  // the clock moves on; no timer runs
  driver_.on_bytes(bytes("01 03 02 00 05 78 47"));
  heard_one_answer(5);

  heard_.then = [this] {  // the next request goes out from inside the report
    heard_.then = nullptr;
    start(milliseconds(500), 8);
    driver_.on_written();
  };
  wire_.writes.clear();
  start(milliseconds(500));
  written();
  ex_.pause(milliseconds(9000));
  driver_.on_bytes(bytes("01 03 02 00 06 38 46"));
  ASSERT_EQ(heard_.errors.size(), 2u);
  EXPECT_EQ(heard_.errors[1], modbus::Errc::timeout);
  EXPECT_EQ(heard_.value, -1);
  ASSERT_TRUE(driver_.busy()) << "the next exchange waits for its own answer";
  driver_.on_bytes(bytes("01 03 02 00 07 F9 86"));
  ASSERT_EQ(heard_.errors.size(), 3u);
  EXPECT_FALSE(heard_.errors[2]);
  EXPECT_EQ(heard_.tags[2], 8u);
  EXPECT_EQ(heard_.value, 7);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

// Over MBAP the late answer is read on, so the stream stays in step, and dropped by its
// transaction id: the next exchange takes only its own.
class ExchangeDriverTcpTest : public ExchangeDriverTest {
 protected:
  ExchangeDriverTcpTest() : ExchangeDriverTest(modbus::Framing::tcp) {}
  // The answer to the latest request, register 0 = `value`, under its transaction id.
  std::vector<std::uint8_t> answer(int value) const {
    const auto& req = wire_.writes.back();
    return {req[0], req[1], 0, 0, 0, 5, 1, 3, 2, 0, static_cast<std::uint8_t>(value)};
  }
};

TEST_F(ExchangeDriverTcpTest, AnAnswerHandledAfterTheReplyDeadlineIsDroppedByItsId) {
  start(milliseconds(500));
  driver_.on_written();
  const auto late = answer(6);
  heard_.then = [this] {
    heard_.then = nullptr;
    start(milliseconds(500), 8);
    driver_.on_written();
  };
  ex_.pause(milliseconds(9000));
  driver_.on_bytes(late);
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::timeout);
  ASSERT_EQ(wire_.writes.size(), 2u);
  ASSERT_TRUE(driver_.busy()) << "the late answer is not the next one's";
  driver_.on_bytes(answer(7));
  ASSERT_EQ(heard_.errors.size(), 2u);
  EXPECT_FALSE(heard_.errors[1]);
  EXPECT_EQ(heard_.value, 7);
}

}  // namespace
}  // namespace pollux::transport
