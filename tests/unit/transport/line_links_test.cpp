// SerialLink and ModemLink over a fake port (tests/testlib/fake_wire.hpp) with a manual clock:
// the links' own rules without a pty -- the exchange sent after the line's silence and never
// reported from inside start_exchange, a channel down or disabled failing its message, a port
// that vanishes mid-exchange, a write error, and the modem's call: dial, exchange, keep the call
// for the same phone, hang up when idle, a failed dial failing the message.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "modbus/error.hpp"
#include "runtime/manual_executor.hpp"
#include "testlib/fake_wire.hpp"
#include "testlib/hex.hpp"
#include "transport/errors.hpp"
#include "transport/modem_link.hpp"
#include "transport/serial_link.hpp"

namespace pollux::transport {
namespace {

using runtime::milliseconds;
using testlib::bytes;

struct Heard final : LinkListener {
  void on_exchange_done(std::uint64_t, const ExchangeResult& r) override {
    errors.push_back(r.error);
    value = r.response && r.response->register_count() > 0 ? r.response->register_at(0) : -1;
  }
  void on_link_status(LinkStatus s) override { statuses.push_back(s); }
  void on_link_ready() override { ++ready; }
  std::vector<std::error_code> errors;
  std::vector<LinkStatus> statuses;
  int value = -1;
  int ready = 0;
};

std::uint64_t stat(const Link& link, const std::string& name) {
  for (const auto& [k, v] : link.stats())
    if (k == name) return v;
  return 0;
}

const auto kRequest = modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 1);
constexpr const char* kRequestHex = "01 03 00 00 00 01 84 0A";
constexpr const char* kAnswerHex = "01 03 02 00 05 78 47";  // register 0 = 5

// ------------------------------------------------------------------------------ serial ---

class SerialLinkOverFakeWire : public ::testing::Test {
 protected:
  void make(modbus::Framing framing = modbus::Framing::rtu) {
    SerialSettings s;
    s.line.id = "COM1";
    s.line.baud = 9600;  // t3.5 = 4 ms
    s.framing = framing;
    auto wire = std::make_unique<testlib::FakeWire>();
    wire_ = wire.get();
    wire_->missing = missing_;
    wire_->enabled = enabled_;
    link_ = std::make_unique<SerialLink>(ex_, s, std::move(wire));
    link_->set_listener(&heard_);
    link_->start();
    target_.unit = 1;
  }
  void start_exchange(std::uint64_t tag = 1) {
    link_->start_exchange({&target_, &kRequest, milliseconds(1000)}, tag);
  }
  // An exchange started, sent after the line's t3.5 and written: the link awaits the answer.
  void request_written(std::uint64_t tag = 1) {
    start_exchange(tag);
    ex_.advance(milliseconds(5));
    wire_->complete_write();
  }

  runtime::ManualExecutor ex_;
  testlib::FakeWire* wire_ = nullptr;
  bool missing_ = false, enabled_ = true;
  std::unique_ptr<SerialLink> link_;
  Heard heard_;
  Target target_;
};

TEST_F(SerialLinkOverFakeWire, AnExchangeGoesOutAfterTheLineSilenceAndIsAnswered) {
  make();
  EXPECT_EQ(heard_.statuses, std::vector<LinkStatus>{LinkStatus::ok});
  ASSERT_TRUE(link_->can_start(target_));
  start_exchange();
  EXPECT_TRUE(wire_->writes.empty()) << "t3.5 of silence first, and never inline";
  EXPECT_FALSE(link_->can_start(target_)) << "one message in flight on a line";
  ex_.advance(milliseconds(5));
  ASSERT_EQ(wire_->writes.size(), 1u);
  EXPECT_EQ(testlib::hex(wire_->writes[0]), kRequestHex);
  EXPECT_EQ(wire_->flushes, 1);
  wire_->complete_write();
  wire_->receive(bytes(kAnswerHex));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_FALSE(heard_.errors[0]) << heard_.errors[0].message();
  EXPECT_EQ(heard_.value, 5);
  EXPECT_TRUE(link_->can_start(target_));
  EXPECT_EQ(stat(*link_, "bytes_out"), 8u);
  EXPECT_EQ(stat(*link_, "bytes_in"), 7u);
  EXPECT_EQ(stat(*link_, "frames"), 1u);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

TEST_F(SerialLinkOverFakeWire, AnAnswerBeforeTheWriteCompletionIsTaken) {
  make();
  start_exchange();
  ex_.advance(milliseconds(5));
  wire_->receive(bytes(kAnswerHex));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_FALSE(heard_.errors[0]);
  wire_->complete_write();  // late completion of an exchange that is over: nothing happens
  EXPECT_EQ(heard_.errors.size(), 1u);
}

TEST_F(SerialLinkOverFakeWire, AMissingPortIsDownAndItsMessagesFailOnTheNextTurn) {
  missing_ = true;
  make();
  EXPECT_EQ(link_->status(), LinkStatus::down);
  start_exchange();
  EXPECT_TRUE(heard_.errors.empty());
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_down);
  EXPECT_TRUE(counts_as_timeout(heard_.errors[0]));
}

TEST_F(SerialLinkOverFakeWire, ADisabledChannelFailsItsMessagesAsDisabled) {
  enabled_ = false;
  make();
  EXPECT_EQ(link_->status(), LinkStatus::disabled);
  start_exchange();
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_disabled);
}

TEST_F(SerialLinkOverFakeWire, DisablingFailsTheExchangeInFlight) {
  make();
  start_exchange();
  ex_.advance(milliseconds(5));
  link_->set_enabled(false);
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_disabled);
  EXPECT_EQ(heard_.statuses.back(), LinkStatus::disabled);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

TEST_F(SerialLinkOverFakeWire, APortThatVanishesMidExchangeFailsItAtOnceAndComesBack) {
  make();
  request_written();
  wire_->receive(bytes("01 03"));
  wire_->vanish();
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_down);
  EXPECT_EQ(link_->status(), LinkStatus::down);
  EXPECT_EQ(ex_.pending_timers(), 0u) << "no reply timer or frame gap left behind";
  EXPECT_FALSE(link_->can_start(target_));
  wire_->open_again();
  EXPECT_EQ(link_->status(), LinkStatus::ok);
  request_written(2);
  wire_->receive(bytes(kAnswerHex));
  ASSERT_EQ(heard_.errors.size(), 2u);
  EXPECT_FALSE(heard_.errors[1]);
}

TEST_F(SerialLinkOverFakeWire, AWriteErrorIsAPortLost) {
  make();
  start_exchange();
  ex_.advance(milliseconds(5));
  wire_->complete_write(boost::asio::error::broken_pipe);
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_down);
  EXPECT_EQ(stat(*link_, "port_lost"), 1u);
}

TEST_F(SerialLinkOverFakeWire, AnRtuAnswerCutShortEndsAtTheFrameGap) {
  make();
  request_written();
  wire_->receive(bytes("01 03 02 00"));
  ex_.advance(milliseconds(100));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::answer_cut_short);
}

TEST_F(SerialLinkOverFakeWire, StopMeansNoCallbacks) {
  make();
  start_exchange();
  ex_.advance(milliseconds(5));
  link_->stop();
  EXPECT_EQ(ex_.pending_timers(), 0u);
  wire_->receive(bytes(kAnswerHex));
  ex_.advance(milliseconds(2000));
  EXPECT_TRUE(heard_.errors.empty());
}

// ------------------------------------------------------------------------------- modem ---

class ModemLinkOverFakeWire : public ::testing::Test {
 protected:
  ModemLinkOverFakeWire() {
    ModemSettings s;
    s.line.id = "MODEM1";
    s.framing = modbus::Framing::rtu;
    s.init = "ATZ";
    s.dial_timeout = runtime::seconds(30);
    s.idle_hangup = runtime::seconds(5);
    auto wire = std::make_unique<testlib::FakeWire>();
    wire_ = wire.get();
    link_ = std::make_unique<ModemLink>(ex_, s, std::move(wire));
    link_->set_listener(&heard_);
    link_->start();
    target_.unit = 1;
    target_.phone = "5551234";
  }
  void start_exchange() { link_->start_exchange({&target_, &kRequest, milliseconds(1000)}, 1); }
  // Dials and answers the exchange: the modem says OK to init, CONNECT to ATDT.
  void dial_and_answer() {
    start_exchange();
    ASSERT_EQ(wire_->commands, "ATZ\r");
    wire_->receive_text("ATZ\r\nOK\r\n");
    ASSERT_EQ(wire_->commands, "ATZ\rATDT5551234\r");
    EXPECT_TRUE(wire_->writes.empty());
    wire_->receive_text("CONNECT 9600\r\n");
    ASSERT_EQ(wire_->writes.size(), 1u);
    EXPECT_EQ(testlib::hex(wire_->writes[0]), kRequestHex);
    wire_->complete_write();
    wire_->receive(bytes(kAnswerHex));
  }

  runtime::ManualExecutor ex_;
  testlib::FakeWire* wire_ = nullptr;
  std::unique_ptr<ModemLink> link_;
  Heard heard_;
  Target target_;
};

TEST_F(ModemLinkOverFakeWire, AnExchangeDialsFirstThenRunsOverTheCall) {
  dial_and_answer();
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_FALSE(heard_.errors[0]) << heard_.errors[0].message();
  EXPECT_EQ(heard_.value, 5);
  EXPECT_EQ(link_->preferred_wire(), "5551234");
  EXPECT_EQ(stat(*link_, "calls"), 1u);
  EXPECT_EQ(stat(*link_, "connected"), 1u);

  // The same phone again: no second call, sent on a later turn.
  ASSERT_TRUE(link_->can_start(target_));
  start_exchange();
  EXPECT_TRUE(wire_->writes.size() == 1u) << "never inline from start_exchange";
  ex_.advance(runtime::Duration::zero());
  ASSERT_EQ(wire_->writes.size(), 2u);
  wire_->complete_write();
  wire_->receive(bytes(kAnswerHex));
  ASSERT_EQ(heard_.errors.size(), 2u);
  EXPECT_FALSE(heard_.errors[1]);
  EXPECT_EQ(stat(*link_, "calls"), 1u);

  Target other = target_;
  other.phone = "5559999";
  EXPECT_FALSE(link_->can_start(other)) << "one call at a time";
}

TEST_F(ModemLinkOverFakeWire, AnIdleCallHangsUp) {
  dial_and_answer();
  ex_.advance(runtime::seconds(5));  // idle_hangup_s: the guard silence begins
  ex_.advance(runtime::seconds(1));
  EXPECT_EQ(wire_->commands.substr(wire_->commands.size() - 3), "+++");
  ex_.advance(runtime::seconds(1));
  wire_->receive_text("OK\r\n");
  EXPECT_EQ(wire_->commands.substr(wire_->commands.size() - 4), "ATH\r");
  wire_->receive_text("OK\r\n");
  EXPECT_EQ(stat(*link_, "hangups"), 1u);
  EXPECT_EQ(stat(*link_, "connected"), 0u);
  EXPECT_EQ(heard_.ready, 1) << "the line is free for another call";
  EXPECT_TRUE(link_->preferred_wire().empty());
}

TEST_F(ModemLinkOverFakeWire, ABusyNumberFailsTheMessageAsADialFailure) {
  start_exchange();
  wire_->receive_text("OK\r\n");
  wire_->receive_text("BUSY\r\n");
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::dial_failed);
  EXPECT_TRUE(counts_as_timeout(heard_.errors[0]));
  EXPECT_EQ(stat(*link_, "dial_failures"), 1u);
  EXPECT_TRUE(link_->can_start(target_));
}

TEST_F(ModemLinkOverFakeWire, NoAnswerWithinTheReplyTimeoutIsATimeout) {
  start_exchange();
  wire_->receive_text("OK\r\nCONNECT\r\n");
  wire_->complete_write();
  ex_.advance(milliseconds(1000));
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], modbus::Errc::timeout);
}

// Soak seed 11 (issue 24): the call dropped, the modem said NO CARRIER in the data stream, and
// the link kept writing requests into it until every message of both modem devices had timed
// out. The words end the call (even split across two reads); the next exchange dials again.
TEST_F(ModemLinkOverFakeWire, NoCarrierInTheDataEndsTheCallAndTheNextExchangeDialsAgain) {
  dial_and_answer();
  start_exchange();
  ex_.advance(runtime::Duration::zero());
  wire_->complete_write();
  wire_->receive_text("\r\nNO CAR");
  EXPECT_EQ(heard_.errors.size(), 1u);
  wire_->receive_text("RIER\r\n");
  ASSERT_EQ(heard_.errors.size(), 2u);
  EXPECT_EQ(heard_.errors[1], Errc::carrier_lost);
  EXPECT_TRUE(counts_as_timeout(heard_.errors[1]));
  EXPECT_EQ(stat(*link_, "carrier_losses"), 1u);
  EXPECT_EQ(stat(*link_, "connected"), 0u);
  ASSERT_TRUE(link_->can_start(target_));
  const std::string before = wire_->commands;
  start_exchange();
  EXPECT_EQ(wire_->commands.substr(before.size()), "ATZ\r");
}

TEST_F(ModemLinkOverFakeWire, ThePortLostMidCallFailsTheMessageAndForgetsTheCall) {
  start_exchange();
  wire_->receive_text("OK\r\nCONNECT\r\n");
  wire_->vanish();
  ASSERT_EQ(heard_.errors.size(), 1u);
  EXPECT_EQ(heard_.errors[0], Errc::channel_down);
  EXPECT_EQ(stat(*link_, "connected"), 0u);
  EXPECT_EQ(ex_.pending_timers(), 0u);
}

}  // namespace
}  // namespace pollux::transport
