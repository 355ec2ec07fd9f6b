#include "transport/modem_dialer.hpp"

#include <gtest/gtest.h>

namespace pollux::transport {
namespace {

using runtime::seconds;
using S = ModemDialer::State;
using O = ModemDialer::Outcome;

ModemDialer make() {
  ModemDialer::Settings s;
  s.dial_timeout = seconds(60);
  s.command_timeout = seconds(5);
  s.guard_time = seconds(1);
  return ModemDialer(s);
}

// Brings a dialer to the dialing state and checks the init exchange on the way.
ModemDialer dialing(std::string_view init = "ATZ") {
  ModemDialer d = make();
  auto s = d.dial(init, "5551234");
  EXPECT_EQ(s.send, std::string(init) + "\r");
  EXPECT_EQ(s.timer, seconds(5));
  EXPECT_EQ(d.state(), S::init);
  s = d.on_line("OK");
  EXPECT_EQ(s.send, "ATDT5551234\r");
  EXPECT_EQ(s.timer, seconds(60));
  EXPECT_EQ(d.state(), S::dialing);
  return d;
}

TEST(ModemDialer, InitDefaultsToAtz) {
  ModemDialer d = make();
  EXPECT_EQ(d.dial("", "1").send, "ATZ\r");
}

TEST(ModemDialer, ConnectWithAndWithoutSpeed) {
  for (std::string_view answer : {"CONNECT", "CONNECT 9600", "CONNECT 33600/ARQ"}) {
    ModemDialer d = dialing();
    auto s = d.on_line(answer);
    EXPECT_EQ(s.outcome, O::connected) << answer;
    EXPECT_EQ(s.timer, runtime::Duration::zero());  // dial timer cancelled
    EXPECT_EQ(d.state(), S::connected);
    EXPECT_FALSE(d.command_mode());
  }
}

TEST(ModemDialer, EveryDialFailureAnswerFailsTheCall) {
  for (std::string_view answer : {"BUSY", "NO CARRIER", "NO DIALTONE", "NO ANSWER", "ERROR"}) {
    ModemDialer d = dialing();
    auto s = d.on_line(answer);
    EXPECT_EQ(s.outcome, O::failed) << answer;
    EXPECT_EQ(s.reason, answer);
    EXPECT_EQ(d.state(), S::idle);
  }
}

TEST(ModemDialer, NoConnectWithinDialTimeoutFails) {
  ModemDialer d = dialing();
  auto s = d.on_line("RING");  // noise does not end the dial nor touch the timer
  EXPECT_EQ(s.outcome, O::none);
  EXPECT_FALSE(s.timer);
  s = d.on_timer();
  EXPECT_EQ(s.outcome, O::failed);
  EXPECT_EQ(d.state(), S::idle);
}

TEST(ModemDialer, InitErrorOrSilenceFails) {
  ModemDialer d = make();
  d.dial("AT&F", "1");
  EXPECT_EQ(d.on_line("AT&F").outcome, O::none);  // command echo
  EXPECT_EQ(d.on_line("ERROR").outcome, O::failed);
  EXPECT_EQ(d.state(), S::idle);
  d.dial("AT&F", "1");
  auto s = d.on_timer();  // no answer: the recovery below, then a second silence fails
  EXPECT_EQ(s.outcome, O::none);
  d.on_timer();      // +++
  d.on_timer();      // guard after
  d.on_timer();      // no OK: ATH anyway
  s = d.on_timer();  // no OK to ATH: the init string again
  EXPECT_EQ(s.send, "AT&F\r");
  EXPECT_EQ(d.on_timer().outcome, O::failed);
  EXPECT_EQ(d.state(), S::idle);
}

// Soak seed 11 (issue 24): after a handover the modem was still online in the call the other
// node had made, so the new node's init string went out as data and got no OK; every dial failed
// until the call dropped. A silent init now escapes and hangs up first, then inits again.
TEST(ModemDialer, ASilentInitHangsUpAModemLeftOnlineThenInitsAgain) {
  ModemDialer d = make();
  auto s = d.dial("ATZ", "5551234");
  EXPECT_EQ(s.send, "ATZ\r");
  s = d.on_timer();  // no OK within the command timeout
  EXPECT_EQ(s.outcome, O::none);
  EXPECT_TRUE(s.send.empty());
  EXPECT_EQ(s.timer, seconds(1));
  EXPECT_EQ(d.state(), S::guard_before);
  EXPECT_EQ(d.on_timer().send, "+++");
  EXPECT_TRUE(d.on_timer().send.empty());  // the silence after it
  EXPECT_EQ(d.on_line("OK").send, "ATH\r");
  s = d.on_line("OK");  // on hook: the call goes on
  EXPECT_EQ(s.outcome, O::none);
  EXPECT_EQ(s.send, "ATZ\r");
  EXPECT_EQ(s.timer, seconds(5));
  EXPECT_EQ(d.on_line("OK").send, "ATDT5551234\r");
  EXPECT_EQ(d.on_line("CONNECT").outcome, O::connected);
}

TEST(ModemDialer, EchoedAtdtIsIgnoredWhileDialing) {
  ModemDialer d = dialing();
  EXPECT_EQ(d.on_line("ATDT5551234").outcome, O::none);
  EXPECT_EQ(d.on_line("CONNECT").outcome, O::connected);
}

TEST(ModemDialer, HangUpSequenceWithGuardTimes) {
  ModemDialer d = dialing();
  d.on_line("CONNECT");
  auto s = d.hang_up();
  EXPECT_TRUE(s.send.empty());  // 1 s of silence first
  EXPECT_EQ(s.timer, seconds(1));
  s = d.on_timer();
  EXPECT_EQ(s.send, "+++");
  EXPECT_EQ(s.timer, seconds(1));  // then 1 s of silence after it
  s = d.on_timer();                // silence kept; now wait for the OK
  EXPECT_TRUE(s.send.empty());
  EXPECT_EQ(s.timer, seconds(5));
  s = d.on_line("OK");
  EXPECT_EQ(s.send, "ATH\r");
  s = d.on_line("OK");
  EXPECT_EQ(s.outcome, O::hung_up);
  EXPECT_TRUE(s.reason.empty());
  EXPECT_EQ(d.state(), S::idle);
}

TEST(ModemDialer, EarlyOkToEscapeIsKeptAndAthFollowsTheSilence) {
  ModemDialer d = dialing();
  d.on_line("CONNECT");
  d.hang_up();
  EXPECT_EQ(d.on_timer().send, "+++");
  EXPECT_EQ(d.on_line("OK").send, "");  // inside our guard time: nothing sent yet
  auto s = d.on_timer();                // the silence is over
  EXPECT_EQ(s.send, "ATH\r");
  EXPECT_EQ(d.state(), S::hanging_up);
  EXPECT_EQ(d.on_line("OK").outcome, O::hung_up);
}

TEST(ModemDialer, HangUpWithoutOkToEscapeStillSendsAth) {
  ModemDialer d = dialing();
  d.on_line("CONNECT");
  d.hang_up();
  d.on_timer();           // +++
  d.on_timer();           // guard after
  auto s = d.on_timer();  // no OK within the command timeout
  EXPECT_EQ(s.send, "ATH\r");
  s = d.on_timer();  // and no OK to ATH either
  EXPECT_EQ(s.outcome, O::hung_up);
  EXPECT_FALSE(s.reason.empty());
  EXPECT_EQ(d.state(), S::idle);
}

TEST(ModemDialer, NoCarrierDuringEscapeMeansOnHook) {
  ModemDialer d = dialing();
  d.on_line("CONNECT");
  d.hang_up();
  d.on_timer();
  d.on_timer();
  EXPECT_EQ(d.on_line("NO CARRIER").outcome, O::hung_up);
  EXPECT_EQ(d.state(), S::idle);
}

TEST(ModemDialer, SecondCallWhileBusyIsRefused) {
  ModemDialer d = dialing();
  EXPECT_EQ(d.dial("ATZ", "999").outcome, O::failed);
}

TEST(ModemDialer, ResetAfterPortLoss) {
  ModemDialer d = dialing();
  d.on_line("CONNECT");
  d.reset();
  EXPECT_EQ(d.state(), S::idle);
  EXPECT_EQ(d.dial("ATZ", "2").send, "ATZ\r");
}

}  // namespace
}  // namespace pollux::transport
