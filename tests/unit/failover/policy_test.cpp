// Table-driven scenarios for the failover policy: one case per rule and edge of
// spec/failover.md. Each case loads a device at t0 (ManualExecutor time), then runs steps at
// given offsets and checks the returned change, the resulting state and the SYDEV* values.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "failover/policy.hpp"
#include "failover/status.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::failover {

void PrintTo(const LineChange& c, std::ostream* os) {
  *os << c.from << "->" << c.to << " (" << to_string(c.reason) << ")";
}

namespace {

using runtime::seconds;

enum class Op {
  fail,       // message failed on `line` (0: the active line)
  ok,         // message answered on `line`
  exception,  // exception answer on `line`
  channels,   // usability changed (rule 2)
  cycle,      // before a message cycle (rule 5)
  select,     // operator selects `line` (rule 7)
  reload,     // device reloaded with `edit` applied to the settings (rule 8)
};

using Edit = std::function<void(Settings&)>;

struct Step {
  double at = 0;  // seconds after load
  Op op = Op::fail;
  int line = 0;
  Usable usable = kAllUsable;
  std::optional<LineChange> change = std::nullopt;  // expected return (select: the accepted change)
  int active_after = 0;                             // 0: don't check
  std::string refusal = {};                         // select: expected refusal ("" = accepted)
  int prfo = -1;                                    // -1: don't check
  int subsequent = -1;                              // -1: don't check
  std::string sydev = {};  // "COMID/COMLN/PCOM/PRFO/SCOM/TCOM" or "" (don't check)
  Edit edit = {};          // reload: settings change
};

struct Case {
  std::string name;
  Settings settings;
  std::vector<Step> steps;
  Usable usable_at_load = kAllUsable;  // the start-up case: on_channels right after load
  std::optional<LineChange> load_change = {};
};

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

Settings three_lines(const Edit& edit = {}) {
  Settings s;
  s.lines[0] = {true, true, "COM1", seconds(30), seconds(10), std::nullopt};
  s.lines[1] = {true, true, "NET1", seconds(30), seconds(10), seconds(300)};
  s.lines[2] = {true, true, "MODEM1", seconds(30), std::nullopt, seconds(600)};
  if (edit) edit(s);
  return s;
}

std::string sydev_string(const StatusValues& v) {
  return v.sydevcomid + "/" + std::to_string(v.sydevcomln) + "/" + v.sydevpcom + "/" +
         std::to_string(v.sydevprfo) + "/" + v.sydevscom + "/" + v.sydevtcom;
}

constexpr Usable kNo1{false, true, true};
constexpr Usable kNo2{true, false, true};
constexpr Usable kNo3{true, true, false};
constexpr Usable kOnly1{true, false, false};
constexpr Usable kOnly3{false, false, true};
constexpr Usable kNone{false, false, false};

LineChange chg(int from, int to, Reason r) {
  return {from, to, r};
}

const Reason kInit = Reason::initial_fail;
const Reason kSubs = Reason::subsequent_fail;
const Reason kUnus = Reason::channel_unusable;
const Reason kRetry = Reason::retry_primary;
const Reason kFbof = Reason::failback_on_failure;
const Reason kMan = Reason::manual;
const Reason kRel = Reason::reload;

std::vector<Case> cases() {
  return {
      // Rule 1c: Initial fail timed from the last success (here: the load).
      {"InitialFailNotReached",
       three_lines(),
       {{.at = 29.9, .op = Op::fail, .active_after = 1, .prfo = 0}}},
      {"InitialFailReached",
       three_lines(),
       {{.at = 29.9, .op = Op::fail, .active_after = 1},
        {.at = 30,
         .op = Op::fail,
         .change = chg(1, 2, kInit),
         .active_after = 2,
         .prfo = 1,
         .sydev = "NET1/2/COM1/1/NET1/MODEM1"}}},
      {"InitialFailTimedFromLastSuccess",
       three_lines(),
       {{.at = 20, .op = Op::ok},
        {.at = 45, .op = Op::fail, .active_after = 1},
        {.at = 50, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      {"InitialFailZeroFailsOverOnEveryFailedMessage",
       three_lines([](Settings& s) {
         s.lines[0].initial_fail = seconds(0);
         s.lines[1].initial_fail = seconds(0);
         s.lines[2].initial_fail = seconds(0);
       }),
       {{.at = 0, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 0, .op = Op::ok, .line = 2},
        {.at = 0, .op = Op::fail, .change = chg(2, 3, kInit)},
        {.at = 0, .op = Op::ok, .line = 3},
        {.at = 0, .op = Op::fail, .change = chg(3, 1, kInit)}}},
      {"AutoOffNeverFailsOver",
       three_lines([](Settings& s) { s.auto_failover = false; }),
       {{.at = 100, .op = Op::fail, .active_after = 1},
        {.at = 100, .op = Op::channels, .usable = kNo1, .active_after = 1},
        {.at = 1000, .op = Op::fail, .usable = kNo1, .active_after = 1}}},
      {"FailureOnOldLineAfterSwitchMovesNothing",
       three_lines(),
       {{.at = 1, .op = Op::select, .line = 2, .change = chg(1, 2, kMan)},
        {.at = 100, .op = Op::fail, .line = 1, .active_after = 2}}},
      // Rule 1a: an unusable active channel fails over whatever the timers say.
      {"FailureWithUnusableActiveChannel",
       three_lines(),
       {{.at = 1, .op = Op::fail, .usable = kNo1, .change = chg(1, 2, kUnus), .prfo = 1}}},
      // Rule 1b: Subsequent fail, timed from the restore.
      {"SubsequentFailTimedFromRestoreNotLastSuccess",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry), .subsequent = 1},
        // 335 s since the last success (load) > initial 30, but only 5 s since the restore.
        {.at = 335, .op = Op::fail, .active_after = 1},
        {.at = 339.9, .op = Op::fail, .active_after = 1},
        {.at = 340, .op = Op::fail, .change = chg(1, 2, kSubs), .prfo = 1}}},
      {"SubsequentOnlyWhileActiveSuccessRestoresInitial",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry), .subsequent = 1},
        {.at = 331, .op = Op::ok, .line = 1, .prfo = 0, .subsequent = 0},
        // 15 s after the restore: Subsequent (10 s) would fire; Initial (30 s) does not.
        {.at = 345, .op = Op::fail, .active_after = 1},
        {.at = 361, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      {"SubsequentAppliesOnLine2AfterFailoverFromRestoredLine1",
       three_lines([](Settings& s) { s.lines[1].subsequent_fail = seconds(20); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry)},
        {.at = 340, .op = Op::fail, .change = chg(1, 2, kSubs), .subsequent = 1},
        {.at = 349, .op = Op::fail, .active_after = 2},
        {.at = 350, .op = Op::fail, .change = chg(2, 3, kSubs)}}},
      {"SubsequentOnLine3NeverApplies",
       three_lines([](Settings& s) {
         s.lines[2].subsequent_fail = seconds(1);  // not valid config; the policy ignores it
         s.lines[1].subsequent_fail = seconds(1);
         s.lines[0].subsequent_fail = seconds(1);
       }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry)},
        {.at = 331, .op = Op::fail, .change = chg(1, 2, kSubs)},
        {.at = 332, .op = Op::fail, .change = chg(2, 3, kSubs), .subsequent = 1},
        // A reload makes the last success recent without ending subsequent_active; on line 3
        // only Initial fail (30 s from the reload) counts.
        {.at = 333, .op = Op::reload, .active_after = 3, .subsequent = 1},
        {.at = 334, .op = Op::fail, .active_after = 3},
        {.at = 362.9, .op = Op::fail, .active_after = 3},
        {.at = 363, .op = Op::fail, .change = chg(3, 1, kInit)}}},
      {"SubsequentWithoutSettingUsesInitial",
       three_lines([](Settings& s) { s.lines[0].subsequent_fail.reset(); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry)},
        {.at = 340, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      // Successful I/O.
      {"ExceptionAnswerCountsAsSuccess",
       three_lines(),
       {{.at = 25, .op = Op::exception},
        {.at = 50, .op = Op::fail, .active_after = 1},
        {.at = 55, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      {"SuccessClearsSubsequentActive",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry), .subsequent = 1},
        {.at = 332, .op = Op::exception, .line = 1, .subsequent = 0}}},
      // Rule 6: SYDEVPRFO.
      {"PrfoClearedBySuccessOnLine1Only",
       three_lines([](Settings& s) { s.lines[1].retry_primary = seconds(0); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit), .prfo = 1},
        {.at = 31, .op = Op::ok, .line = 2, .prfo = 1, .sydev = "NET1/2/COM1/1/NET1/MODEM1"},
        {.at = 32, .op = Op::cycle, .change = chg(2, 1, kRetry), .prfo = 1},
        {.at = 33, .op = Op::fail, .active_after = 1, .prfo = 1},
        {.at = 34, .op = Op::ok, .line = 1, .prfo = 0, .sydev = "COM1/1/COM1/0/NET1/MODEM1"}}},
      {"PrfoNotSetByManualOrBetweenAlternates",
       three_lines(),
       {{.at = 1, .op = Op::select, .line = 2, .change = chg(1, 2, kMan), .prfo = 0},
        {.at = 40, .op = Op::fail, .change = chg(2, 3, kInit), .prfo = 0}}},
      {"PrfoSetByRule2",
       three_lines(),
       {{.at = 1, .op = Op::channels, .usable = kNo1, .change = chg(1, 2, kUnus), .prfo = 1}}},
      // Rule 2 and the start-up case.
      {"UnusableActiveChannelFailsOverAtOnce",
       three_lines(),
       {{.at = 0.5, .op = Op::channels, .usable = kAllUsable, .active_after = 1},
        {.at = 1,
         .op = Op::channels,
         .usable = kNo1,
         .change = chg(1, 2, kUnus),
         .sydev = "NET1/2/COM1/1/NET1/MODEM1"},
        {.at = 2, .op = Op::channels, .usable = kNo1, .active_after = 2}}},
      {"UnusableWithoutCandidateStaysThenMovesWhenOneAppears",
       three_lines(),
       {{.at = 1, .op = Op::channels, .usable = kOnly1, .active_after = 1},
        {.at = 2, .op = Op::channels, .usable = kNone, .active_after = 1},
        {.at = 3, .op = Op::fail, .usable = kNone, .active_after = 1},
        {.at = 4, .op = Op::channels, .usable = kOnly3, .change = chg(1, 3, kUnus)}}},
      {"ChannelDownAtStartupCountsFromFirstMoment",
       three_lines(),
       {{.at = 0, .op = Op::cycle, .usable = kNo1, .active_after = 2, .prfo = 1}},
       kNo1,
       chg(1, 2, kUnus)},
      {"ChannelDownAtStartupWithoutCandidateStays",
       three_lines(),
       {{.at = 1, .op = Op::channels, .usable = kOnly3, .change = chg(1, 3, kUnus)}},
       kNone},
      {"ChannelDownAtStartupAutoOffStays",
       three_lines([](Settings& s) { s.auto_failover = false; }),
       {{.at = 1, .op = Op::fail, .usable = kNo1, .active_after = 1}},
       kNo1},
      // Rule 3: choosing the target.
      {"UnavailableLineSkipped",
       three_lines([](Settings& s) { s.lines[1].available = false; }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 3, kInit)}}},
      {"UnconfiguredLineSkipped",
       three_lines([](Settings& s) { s.lines[1] = {}; }),
       {{.at = 30,
         .op = Op::fail,
         .change = chg(1, 3, kInit),
         .sydev = "MODEM1/3/COM1/1//MODEM1"}}},
      {"UnusableCandidateSkipped",
       three_lines(),
       {{.at = 30, .op = Op::fail, .usable = kNo2, .change = chg(1, 3, kInit)}}},
      {"NoUsableCandidateStays",
       three_lines(),
       {{.at = 30, .op = Op::fail, .usable = kOnly1, .active_after = 1, .prfo = 0},
        {.at = 31, .op = Op::fail, .usable = kOnly1, .active_after = 1},
        {.at = 32, .op = Op::fail, .usable = kNo2, .change = chg(1, 3, kInit)}}},
      {"PrimaryOnlyDeviceStays",
       three_lines([](Settings& s) {
         s.lines[1] = {};
         s.lines[2] = {};
       }),
       {{.at = 30, .op = Op::fail, .active_after = 1, .prfo = 0, .sydev = "COM1/1/COM1/0//"}}},
      {"TryInOrderFrom3WrapsTo1",
       three_lines([](Settings& s) {
         for (auto& l : s.lines)
           l.initial_fail = seconds(0);
       }),
       {{.at = 0, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 1, .op = Op::fail, .change = chg(2, 3, kInit)},
        {.at = 2, .op = Op::fail, .change = chg(3, 1, kInit), .prfo = 1}}},
      {"TryInOrderFrom2SkipsUnusable3To1",
       three_lines([](Settings& s) { s.lines[1].initial_fail = seconds(0); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 31, .op = Op::fail, .usable = kNo3, .change = chg(2, 1, kInit)}}},
      {"JumpToLastGoodWithLastGoodCandidate",
       three_lines([](Settings& s) {
         s.sequence = config::Sequence::jump_to_last_good;
         for (auto& l : s.lines)
           l.initial_fail = seconds(0);
       }),
       {{.at = 0, .op = Op::select, .line = 3, .change = chg(1, 3, kMan)},
        {.at = 1, .op = Op::ok, .line = 3},
        {.at = 2, .op = Op::select, .line = 1, .change = chg(3, 1, kMan)},
        // try_in_order would pick 2; the last good line is 3.
        {.at = 3, .op = Op::fail, .change = chg(1, 3, kInit)}}},
      {"JumpToLastGoodWithoutLastGoodCandidate",
       three_lines([](Settings& s) {
         s.sequence = config::Sequence::jump_to_last_good;
         for (auto& l : s.lines)
           l.initial_fail = seconds(0);
       }),
       {{.at = 0, .op = Op::select, .line = 3, .change = chg(1, 3, kMan)},
        {.at = 1, .op = Op::ok, .line = 3},
        {.at = 2, .op = Op::select, .line = 1, .change = chg(3, 1, kMan)},
        {.at = 3, .op = Op::fail, .usable = kNo3, .change = chg(1, 2, kInit)}}},
      {"JumpToLastGoodBeforeAnySuccessActsInOrder",
       three_lines([](Settings& s) { s.sequence = config::Sequence::jump_to_last_good; }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      {"JumpToLastGoodWhenLastGoodIsActiveActsInOrder",
       three_lines([](Settings& s) { s.sequence = config::Sequence::jump_to_last_good; }),
       {{.at = 1, .op = Op::ok, .line = 1},
        {.at = 31, .op = Op::fail, .change = chg(1, 2, kInit)}}},
      {"FailbackOnFailureFrom3GoesTo1",
       three_lines([](Settings& s) {
         s.failback_on_failure = true;
         s.lines[2].initial_fail = seconds(0);
       }),
       {{.at = 0, .op = Op::select, .line = 3, .change = chg(1, 3, kMan)},
        {.at = 1, .op = Op::fail, .change = chg(3, 1, kFbof), .prfo = 0}}},
      {"FailbackOnFailureFrom2GoesTo1Not3",
       three_lines([](Settings& s) { s.failback_on_failure = true; }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 60, .op = Op::fail, .change = chg(2, 1, kFbof), .prfo = 1}}},
      {"FailbackOnFailureLine1UnusableFallsBackToOrder",
       three_lines([](Settings& s) { s.failback_on_failure = true; }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 60, .op = Op::fail, .usable = kNo1, .change = chg(2, 3, kInit)}}},
      {"FailbackOnFailureNeedsRule1Met",
       three_lines([](Settings& s) { s.failback_on_failure = true; }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 31, .op = Op::ok, .line = 2},
        {.at = 60, .op = Op::fail, .active_after = 2}}},
      // Rule 5: Retry primary.
      {"RetryPrimaryZeroSwitchesBackNextCycle",
       three_lines([](Settings& s) { s.lines[1].retry_primary = seconds(0); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 30, .op = Op::cycle, .change = chg(2, 1, kRetry), .subsequent = 1}}},
      {"RetryPrimaryNotReachedThenReached",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 329.9, .op = Op::cycle, .active_after = 2},
        {.at = 330,
         .op = Op::cycle,
         .change = chg(2, 1, kRetry),
         .prfo = 1,
         .subsequent = 1,
         .sydev = "COM1/1/COM1/1/NET1/MODEM1"}}},
      {"RetryPrimaryUnaffectedBySuccessOrFailureOnAlternate",
       three_lines([](Settings& s) { s.lines[1].initial_fail = seconds(1000); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100, .op = Op::ok, .line = 2},
        {.at = 200, .op = Op::fail, .active_after = 2},
        {.at = 300, .op = Op::exception, .line = 2},
        {.at = 329, .op = Op::cycle, .active_after = 2},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry)}}},
      {"RetryPrimaryNeedsLine1Usable",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 400, .op = Op::cycle, .usable = kNo1, .active_after = 2},
        {.at = 401, .op = Op::cycle, .change = chg(2, 1, kRetry)}}},
      {"RetryPrimaryAbsentStays",
       three_lines([](Settings& s) { s.lines[1].retry_primary.reset(); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100000, .op = Op::cycle, .active_after = 2}}},
      {"RetryPrimaryTimedFromArrivalOnLine3",
       three_lines([](Settings& s) { s.lines[1].initial_fail = seconds(0); }),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 200, .op = Op::fail, .change = chg(2, 3, kInit)},
        {.at = 799, .op = Op::cycle, .active_after = 3},
        {.at = 800, .op = Op::cycle, .change = chg(3, 1, kRetry)}}},
      {"RetryPrimaryNotWithAutoOff",
       three_lines([](Settings& s) {
         s.auto_failover = false;
         s.lines[1].retry_primary = seconds(0);
       }),
       {{.at = 1, .op = Op::select, .line = 2, .change = chg(1, 2, kMan)},
        {.at = 100, .op = Op::cycle, .active_after = 2}}},
      // Rule 7: manual and forced selection.
      {"ManualRefusedNotConfigured",
       three_lines([](Settings& s) { s.lines[2] = {}; }),
       {{.at = 1,
         .op = Op::select,
         .line = 3,
         .active_after = 1,
         .refusal = "line 3 is not configured"}}},
      {"ManualRefusedNotAvailable",
       three_lines([](Settings& s) { s.lines[1].available = false; }),
       {{.at = 1,
         .op = Op::select,
         .line = 2,
         .active_after = 1,
         .refusal = "line 2 is not available"}}},
      {"ManualRefusedUnusable",
       three_lines(),
       {{.at = 1,
         .op = Op::select,
         .line = 2,
         .usable = kNo2,
         .active_after = 1,
         .refusal = "channel NET1 of line 2 is not usable"}}},
      {"ManualRefusedOutOfRange",
       three_lines(),
       {{.at = 1,
         .op = Op::select,
         .line = 4,
         .active_after = 1,
         .refusal = "line 4 is out of range 1..3"}}},
      {"ManualAcceptedAutoOff",
       three_lines([](Settings& s) { s.auto_failover = false; }),
       {{.at = 1,
         .op = Op::select,
         .line = 3,
         .change = chg(1, 3, kMan),
         .prfo = 0,
         .sydev = "MODEM1/3/COM1/0/NET1/MODEM1"},
        {.at = 2, .op = Op::select, .line = 3, .active_after = 3},
        {.at = 3, .op = Op::select, .line = 1, .change = chg(3, 1, kMan)}}},
      {"ManualAcceptedAutoOnTimersContinueFromThere",
       three_lines(),
       {{.at = 100, .op = Op::select, .line = 2, .change = chg(1, 2, kMan)},
        // last_success_at untouched (load at 0): Initial fail on line 2 is already met.
        {.at = 101, .op = Op::fail, .usable = kNo3, .change = chg(2, 1, kInit)},
        {.at = 200, .op = Op::select, .line = 2, .change = chg(1, 2, kMan)},
        // Retry primary (300 s) counts from the forced change at 200.
        {.at = 499, .op = Op::cycle, .active_after = 2},
        {.at = 500, .op = Op::cycle, .change = chg(2, 1, kRetry)}}},
      // Rule 8: reload.
      {"ReloadKeepsEligibleLineAndResetsLastSuccess",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100,
         .op = Op::reload,
         .active_after = 2,
         .edit = [](Settings& s) { s.lines[1].initial_fail = seconds(20); }},
        {.at = 119, .op = Op::fail, .active_after = 2},
        {.at = 120, .op = Op::fail, .change = chg(2, 3, kInit)}}},
      {"ReloadKeepsRetryPrimaryCounting",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100, .op = Op::reload, .active_after = 2},
        {.at = 330, .op = Op::cycle, .change = chg(2, 1, kRetry)}}},
      {"ReloadResetsToLine1WhenLineGone",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100,
         .op = Op::reload,
         .change = chg(2, 1, kRel),
         .active_after = 1,
         .prfo = 1,
         .sydev = "COM1/1/COM1/1//MODEM1",
         .edit = [](Settings& s) { s.lines[1] = {}; }}}},
      {"ReloadResetsToLine1WhenLineNoLongerAvailable",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100,
         .op = Op::reload,
         .change = chg(2, 1, kRel),
         .edit = [](Settings& s) { s.lines[1].available = false; }}}},
      {"ReloadWithAutoOffUsesConfiguredActive",
       three_lines(),
       {{.at = 30, .op = Op::fail, .change = chg(1, 2, kInit)},
        {.at = 100,
         .op = Op::reload,
         .change = chg(2, 3, kRel),
         .edit =
             [](Settings& s) {
               s.auto_failover = false;
               s.active = 3;
             }}}},
      {"LoadWithAutoOffStartsOnConfiguredActive",
       three_lines([](Settings& s) {
         s.auto_failover = false;
         s.active = 2;
       }),
       {{.at = 0, .op = Op::cycle, .active_after = 2, .sydev = "NET1/2/COM1/0/NET1/MODEM1"}}},
      {"LoadWithAutoOffIneligibleActiveStartsOnLine1",
       three_lines([](Settings& s) {
         s.auto_failover = false;
         s.active = 2;
         s.lines[1].available = false;
       }),
       {{.at = 0, .op = Op::cycle, .active_after = 1}}},
      {"LoadWithAutoOnStartsOnLine1",
       three_lines([](Settings& s) { s.active = 2; }),
       {{.at = 0, .op = Op::cycle, .active_after = 1, .sydev = "COM1/1/COM1/0/NET1/MODEM1"}}},
  };
}

class FailoverPolicy : public ::testing::TestWithParam<Case> {};

TEST_P(FailoverPolicy, Scenario) {
  const Case& c = GetParam();
  runtime::ManualExecutor ex;
  const runtime::TimePoint t0 = ex.now();
  Settings settings = c.settings;
  State state = initial_state(settings, t0);
  EXPECT_EQ(state.last_success_at, t0);
  EXPECT_EQ(on_channels(settings, state, c.usable_at_load, t0), c.load_change);

  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    const Step& s = c.steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " at " + std::to_string(s.at) + " s");
    const runtime::TimePoint at = t0 + runtime::from_seconds(s.at);
    ASSERT_GE(at, ex.now()) << "steps must be in time order";
    ex.advance(at - ex.now());
    const runtime::TimePoint now = ex.now();
    const int line = s.line != 0 ? s.line : state.active_line;
    const State before = state;
    std::optional<LineChange> got;
    switch (s.op) {
      case Op::fail:
        got = on_message_result(settings, state, s.usable, line, MessageResult::failed, now);
        break;
      case Op::ok:
      case Op::exception:
        got = on_message_result(settings, state, s.usable, line,
                                s.op == Op::ok ? MessageResult::ok : MessageResult::exception, now);
        EXPECT_EQ(state.last_success_at, now);
        EXPECT_EQ(state.last_good_line, line);
        break;
      case Op::channels:
        got = on_channels(settings, state, s.usable, now);
        break;
      case Op::cycle:
        got = before_cycle(settings, state, s.usable, now);
        break;
      case Op::select: {
        const Selection sel = select_line(settings, state, s.usable, s.line, now);
        EXPECT_EQ(sel.refusal, s.refusal);
        if (!sel.accepted()) {
          EXPECT_EQ(state, before) << "a refusal changes nothing";
        }
        if (sel.change) {
          EXPECT_EQ(state.last_success_at, before.last_success_at);
          if (settings.auto_failover && sel.change->to != 1) {
            EXPECT_EQ(state.failed_over_at, now);
          }
        }
        got = sel.change;
        break;
      }
      case Op::reload:
        if (s.edit) s.edit(settings);
        got = on_reload(settings, state, now);
        EXPECT_EQ(state.last_success_at, now);
        break;
    }
    EXPECT_EQ(got, s.change);
    if (got) {
      EXPECT_EQ(state.active_line, got->to);
      if (got->to == 1) {
        EXPECT_FALSE(state.failed_over_at.has_value());
      } else {
        EXPECT_EQ(state.failed_over_at, now);
      }
    } else {
      EXPECT_EQ(state.active_line, before.active_line);
    }
    if (s.active_after != 0) {
      EXPECT_EQ(state.active_line, s.active_after);
    }
    if (s.prfo >= 0) {
      EXPECT_EQ(state.primary_failed_over, s.prfo == 1);
    }
    if (s.subsequent >= 0) {
      EXPECT_EQ(state.subsequent_active, s.subsequent == 1);
    }
    if (!s.sydev.empty()) {
      EXPECT_EQ(sydev_string(status_values(settings, state)), s.sydev);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, FailoverPolicy, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// Rule 4: which failed message follows the device to its new line.
struct RequeueCase {
  std::string name;
  bool master_mode;
  bool retry_in_progress_control;
  bool requeued;
};

void PrintTo(const RequeueCase& c, std::ostream* os) {
  *os << c.name;
}

class Requeue : public ::testing::TestWithParam<RequeueCase> {};

TEST_P(Requeue, FailedMessage) {
  Settings s = three_lines();
  s.retry_in_progress_control = GetParam().retry_in_progress_control;
  EXPECT_EQ(requeue_failed_message(s, GetParam().master_mode), GetParam().requeued);
}

INSTANTIATE_TEST_SUITE_P(
    Rule4, Requeue,
    ::testing::Values(RequeueCase{"ReadRequeued", false, false, true},
                      RequeueCase{"ReadRequeuedWithControlFlag", false, true, true},
                      RequeueCase{"WriteNotRequeued", true, false, false},
                      RequeueCase{"WriteRequeuedWithControlFlag", true, true, true}),
    [](const ::testing::TestParamInfo<RequeueCase>& info) { return info.param.name; });

TEST(FailoverReason, Spelling) {
  EXPECT_EQ(to_string(Reason::initial_fail), "initial_fail");
  EXPECT_EQ(to_string(Reason::subsequent_fail), "subsequent_fail");
  EXPECT_EQ(to_string(Reason::channel_unusable), "channel_unusable");
  EXPECT_EQ(to_string(Reason::retry_primary), "retry_primary");
  EXPECT_EQ(to_string(Reason::failback_on_failure), "failback_on_failure");
  EXPECT_EQ(to_string(Reason::manual), "manual");
  EXPECT_EQ(to_string(Reason::reload), "reload");
}

TEST(FailoverReason, ParseIsInverseOfToString) {
  for (Reason r :
       {Reason::initial_fail, Reason::subsequent_fail, Reason::channel_unusable,
        Reason::retry_primary, Reason::failback_on_failure, Reason::manual, Reason::reload}) {
    EXPECT_EQ(parse_reason(to_string(r)), r);
  }
  EXPECT_FALSE(parse_reason("Manual").has_value());
  EXPECT_FALSE(parse_reason("").has_value());
}

TEST(FailoverSettings, UsableLinesFromChannelPredicate) {
  Settings s = three_lines([](Settings& s) { s.lines[2] = {}; });
  const auto up = [](std::string_view ch) { return ch != "NET1"; };
  EXPECT_EQ(usable_lines(s, up), (Usable{true, false, false}));
  EXPECT_EQ(usable_lines(s, [](std::string_view) { return true; }), (Usable{true, true, false}));
}

TEST(FailoverSettings, FromConfigComm) {
  config::Comm comm;
  comm.auto_failover = false;
  comm.sequence = config::Sequence::jump_to_last_good;
  comm.failback_on_failure = true;
  comm.retry_in_progress_control = true;
  comm.active = 2;
  config::Path p1;
  p1.channel = "COM1";
  p1.initial_fail_s = 1.5;
  p1.subsequent_fail_s = 10;
  p1.available = false;  // meaningless on line 1: line 1 is always eligible
  config::Path p2;
  p2.channel = "NET1";
  p2.available = false;
  p2.retry_primary_s = 0;
  comm.lines[0] = p1;
  comm.lines[1] = p2;

  const Settings s = Settings::from_config(comm);
  EXPECT_FALSE(s.auto_failover);
  EXPECT_EQ(s.sequence, config::Sequence::jump_to_last_good);
  EXPECT_TRUE(s.failback_on_failure);
  EXPECT_TRUE(s.retry_in_progress_control);
  EXPECT_EQ(s.active, 2);
  EXPECT_TRUE(s.eligible(1));
  EXPECT_EQ(s.line(1).channel, "COM1");
  EXPECT_EQ(s.line(1).initial_fail, runtime::milliseconds(1500));
  EXPECT_EQ(s.line(1).subsequent_fail, seconds(10));
  EXPECT_FALSE(s.line(1).retry_primary.has_value());
  EXPECT_TRUE(s.configured(2));
  EXPECT_FALSE(s.eligible(2));
  EXPECT_EQ(s.line(2).initial_fail, seconds(60));  // config default
  EXPECT_EQ(s.line(2).retry_primary, seconds(0));
  EXPECT_FALSE(s.configured(3));
  EXPECT_FALSE(s.eligible(3));
  EXPECT_FALSE(s.configured(0));
  EXPECT_FALSE(s.configured(4));
}

}  // namespace
}  // namespace pollux::failover
