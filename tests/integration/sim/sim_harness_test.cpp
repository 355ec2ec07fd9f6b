// The harness's own verdict on how the simulator ends: a pollux-sim that exits non-zero or
// prints a sanitizer report fails the test that ran it, so the ASan build shows the
// simulator's own leaks. A stand-in (fake_sim.py) ends badly on purpose.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "sim_harness.hpp"

#ifndef POLLUX_FAKE_SIM_PATH
#error "POLLUX_FAKE_SIM_PATH must name tests/integration/sim/fake_sim.py"
#endif

using namespace simtest;

namespace {

const char* const kLeak =
    "=================================================================\n"
    "==4242==ERROR: LeakSanitizer: detected memory leaks\n\n"
    "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
    "    #0 0x7f in operator new(unsigned long)\n\n"
    "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n";
const char* const kUbsan = "sim/modem.cpp:120:9: runtime error: signed integer overflow\n";

void run_fake(std::vector<std::string> args) {
  SimProcess sim("devices: []\n", std::move(args), POLLUX_FAKE_SIM_PATH);
  EXPECT_EQ(sim.cmd({{"cmd", "ping"}})["ok"], true);
  sim.stop();
}

}  // namespace

TEST(SimHarness, CleanExitPasses) {
  run_fake({});
}

TEST(SimHarness, NonZeroExitFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(run_fake({"--exit-status", "1"}), "did not exit cleanly");
}

TEST(SimHarness, SanitizerReportFailsTheTestEvenWithExitZero) {
  EXPECT_NONFATAL_FAILURE(run_fake({"--stderr", kLeak}), "LeakSanitizer: detected memory leaks");
  EXPECT_NONFATAL_FAILURE(run_fake({"--stderr", kUbsan}), "runtime error: signed integer overflow");
}

TEST(SimHarness, DestructorChecksTooWhenStopIsNotCalled) {
  EXPECT_NONFATAL_FAILURE(
      {
        SimProcess sim("devices: []\n", {"--stderr", kLeak}, POLLUX_FAKE_SIM_PATH);
      },
      "sanitizer report");
}

TEST(SimHarness, SanitizerReportStartsAtItsLine) {
  EXPECT_EQ(sanitizer_report("ready\nall good\n"), "");
  EXPECT_EQ(sanitizer_report(std::string("log line\n") + kUbsan), kUbsan);
  EXPECT_EQ(sanitizer_report(kLeak).rfind("==4242==ERROR: LeakSanitizer", 0), 0u);
}
