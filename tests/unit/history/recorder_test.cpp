// The recorder's rules (src/history/recorder.hpp; spec/history.md "What is recorded" and
// "Settled details"): one named test per bullet of the spec and per rule of the header, so a
// deliberate break of a rule fails the test named after it.
#include "history/recorder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace pollux::history {
namespace {

using points::Value;

constexpr Recorder::Key kPoint = 7;
constexpr Millis kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

const Rule kEveryChange{};
const Rule kDeadband{.deadband = 0.5};

Value num(double d) {
  return Value{d};
}
Value i64(std::int64_t i) {
  return Value{i};
}
Value u64(std::uint64_t u) {
  return Value{u};
}

// --- spec "What is recorded" ---

// "One record per point per change": an unchanged point polled again is not recorded.
TEST(HistoryRecorder, SpecOneRecordPerChange) {
  Recorder r;
  EXPECT_TRUE(r.observe(kPoint, kEveryChange, kT0, num(1.5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kEveryChange, kT0 + 1000, num(1.5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kEveryChange, kT0 + 2000, num(1.5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kEveryChange, kT0 + 3000, num(1.6), Quality::good));
}

// "the first value after start".
TEST(HistoryRecorder, SpecFirstValueAfterStart) {
  Recorder r;
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0, num(10), Quality::good));
  EXPECT_EQ(r.tracked(), 1u);
}

// "a quality change (good <-> bad <-> uncertain)", with the value unchanged.
TEST(HistoryRecorder, SpecQualityChange) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kDeadband, kT0, num(10), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 1000, num(10), Quality::bad));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 2000, num(10), Quality::uncertain));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 3000, num(10), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 4000, num(10), Quality::uncertain));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 5000, num(10), Quality::uncertain));
}

// "a numeric value that moved by more than deadband from the last recorded one (strictly
// greater)".
TEST(HistoryRecorder, SpecDeadbandStrictlyGreater) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kDeadband, kT0, num(10), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 1000, num(10.5), Quality::good));  // == 0.5
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 2000, num(9.5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 3000, num(10.75), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 4000, num(10.0), Quality::good));  // down 0.75
}

// "from the last recorded one": slow drift in steps under the deadband is recorded once the
// total since the last record exceeds it.
TEST(HistoryRecorder, SpecDeadbandFromLastRecordedValue) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kDeadband, kT0, num(10), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 1000, num(10.25), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 2000, num(10.5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 3000, num(10.75), Quality::good));
  // Now measured from 10.75.
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 4000, num(10.5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 5000, num(11.25), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 6000, num(10.0), Quality::good));
}

// "0 records every change", also the smallest one.
TEST(HistoryRecorder, SpecDeadbandZeroRecordsEveryChange) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kEveryChange, kT0, num(1.0), Quality::good));
  EXPECT_TRUE(
      r.observe(kPoint, kEveryChange, kT0 + 1000, num(std::nextafter(1.0, 2.0)), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kEveryChange, kT0 + 2000, num(1.0), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kEveryChange, kT0 + 3000, num(1.0), Quality::good));
}

// "any change of a bool or string".
TEST(HistoryRecorder, SpecBoolAnyChange) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, Rule{.deadband = 5}, kT0, Value{false}, Quality::good));
  EXPECT_FALSE(r.observe(kPoint, Rule{.deadband = 5}, kT0 + 1000, Value{false}, Quality::good));
  EXPECT_TRUE(r.observe(kPoint, Rule{.deadband = 5}, kT0 + 2000, Value{true}, Quality::good));
  EXPECT_TRUE(r.observe(kPoint, Rule{.deadband = 5}, kT0 + 3000, Value{false}, Quality::good));
}

TEST(HistoryRecorder, SpecStringAnyChange) {
  Recorder r;
  const Rule rule{.deadband = 5};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, Value{std::string("RUN")}, Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 1000, Value{std::string("RUN")}, Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 2000, Value{std::string("RUN ")}, Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 3000, Value{std::string("")}, Quality::good));
}

// "when max_interval_s > 0, an unchanged point whose last record is older than that", by the
// point's timestamps ("Settled details": max_interval_s uses the point's timestamp).
TEST(HistoryRecorder, SpecMaxIntervalRecordsUnchanged) {
  Recorder r;
  const Rule rule{.deadband = 1, .max_interval_s = 300};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 299'999, num(5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 300'000, num(5.5), Quality::good));  // in deadband
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 400'000, num(5.5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 650'000, num(5.5), Quality::good));
}

TEST(HistoryRecorder, SpecMaxIntervalZeroOnlyOnChange) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kEveryChange, kT0, num(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kEveryChange, kT0 + 86'400'000, num(5), Quality::good));
}

// Fractional max_interval_s values are honoured in milliseconds.
TEST(HistoryRecorder, SpecMaxIntervalFractionalSeconds) {
  Recorder r;
  const Rule rule{.max_interval_s = 1.5};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 1499, num(5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 1500, num(5), Quality::good));
}

// "A failed poll records the points it turned bad, with their last value and quality bad."
TEST(HistoryRecorder, SpecFailedPollRecordsBadWithLastValue) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kDeadband, kT0, num(42), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 1000, num(42), Quality::bad));
  // Further failed polls change nothing.
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 2000, num(42), Quality::bad));
}

// "A first poll that fails records the points as bad with a null value."
TEST(HistoryRecorder, SpecFirstPollFailedRecordsBadNull) {
  Recorder r;
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0, Value{}, Quality::bad));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 1000, Value{}, Quality::bad));
  // The first good read: both quality and type changed.
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 2000, num(3), Quality::good));
}

// "SYDEV* status points are recorded like the others": integer status points, every change
// (deadband 0 as their `history:` would be), and with the time of the line change.
TEST(HistoryRecorder, SpecSydevPointsLikeOthers) {
  Recorder r;
  constexpr Recorder::Key kComln = 100;
  constexpr Recorder::Key kPrfo = 101;
  EXPECT_TRUE(r.observe(kComln, kEveryChange, kT0, i64(1), Quality::good));
  EXPECT_TRUE(r.observe(kPrfo, kEveryChange, kT0, i64(0), Quality::good));
  EXPECT_FALSE(r.observe(kComln, kEveryChange, kT0 + 1000, i64(1), Quality::good));
  EXPECT_TRUE(r.observe(kComln, kEveryChange, kT0 + 1234, i64(2), Quality::good));  // failover
  EXPECT_TRUE(r.observe(kPrfo, kEveryChange, kT0 + 1234, i64(1), Quality::good));
  EXPECT_TRUE(r.observe(kComln, kEveryChange, kT0 + 9000, i64(1), Quality::good));  // back
  EXPECT_EQ(r.tracked(), 2u);
}

// --- header rules not already covered above ---

// "first": also the first state of each point; points are independent.
TEST(HistoryRecorder, RuleFirstPerPoint) {
  Recorder r;
  EXPECT_TRUE(r.observe(1, kEveryChange, kT0, num(5), Quality::good));
  EXPECT_TRUE(r.observe(2, kEveryChange, kT0, num(5), Quality::good));
  EXPECT_FALSE(r.observe(1, kEveryChange, kT0 + 1, num(5), Quality::good));
  EXPECT_TRUE(r.observe(2, kEveryChange, kT0 + 1, num(6), Quality::good));
  EXPECT_FALSE(r.observe(1, kEveryChange, kT0 + 2, num(5), Quality::good));
}

// "other types": a change of the value's type is recorded, whatever the deadband.
TEST(HistoryRecorder, RuleValueTypeChanges) {
  Recorder r;
  const Rule rule{.deadband = 1000};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, Value{}, Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 1, num(0), Quality::good));        // null->num
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 2, Value{false}, Quality::good));  // ->bool
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 3, i64(0), Quality::good));        // ->int
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 4, Value{std::string("0")}, Quality::good));  // ->str
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 5, Value{}, Quality::good));                  // ->null
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 6, Value{}, Quality::good));
}

// Numbers of different types (a reload that turned an int point into a scaled one) compare by
// value under the deadband: 5 then 5.0 is no change.
TEST(HistoryRecorder, RuleNumbersCompareByValueAcrossTypes) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, kDeadband, kT0, i64(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 1, num(5.0), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 2, u64(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kDeadband, kT0 + 3, num(5.5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 4, num(5.6), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 5, i64(-1), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kDeadband, kT0 + 6, u64(0), Quality::good));
}

// Integers compare exactly, also past 2^53 where doubles lose the last unit.
TEST(HistoryRecorder, RuleIntegersCompareExactly) {
  Recorder r;
  constexpr std::uint64_t big = (1ull << 60) + 1;
  ASSERT_TRUE(r.observe(kPoint, kEveryChange, kT0, u64(big), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, kEveryChange, kT0 + 1, u64(big + 1), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, kEveryChange, kT0 + 2, u64(big + 1), Quality::good));
  // A deadband of 1: a move of 1 is not more than it, a move of 2 is.
  const Rule one{.deadband = 1};
  EXPECT_FALSE(r.observe(kPoint, one, kT0 + 3, u64(big + 2), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, one, kT0 + 4, u64(big + 3), Quality::good));
  // int64 extremes against each other and against uint64 do not overflow.
  const auto lo = std::numeric_limits<std::int64_t>::min();
  const auto hi = std::numeric_limits<std::uint64_t>::max();
  EXPECT_TRUE(r.observe(kPoint, one, kT0 + 5, i64(lo), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, one, kT0 + 6, u64(hi), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, one, kT0 + 7, u64(hi), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, one, kT0 + 8, i64(lo), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, Rule{.deadband = 1e30}, kT0 + 9, u64(hi), Quality::good));
}

// A fractional deadband on integers: 3 is more than 2.5, 2 is not.
TEST(HistoryRecorder, RuleFractionalDeadbandOnIntegers) {
  Recorder r;
  const Rule rule{.deadband = 2.5};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, i64(100), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 1, i64(102), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 2, i64(103), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 3, i64(101), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 4, i64(100), Quality::good));
}

// A negative deadband (config rejects one; the recorder does not rely on that) acts as 0.
TEST(HistoryRecorder, RuleNegativeDeadbandIsZero) {
  Recorder r;
  const Rule rule{.deadband = -1};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, i64(5), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 1, i64(5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 2, i64(6), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 3, num(6), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 4, num(6.5), Quality::good));
}

// NaN: choice documented in recorder.cpp. A NaN after a NaN is unchanged (a point reading NaN
// is not recorded at every poll); a NaN after a number and a number after a NaN are changes
// whatever the deadband.
TEST(HistoryRecorder, RuleNanIsOneValue) {
  Recorder r;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Rule rule{.deadband = 100};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(1), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 1, num(nan), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 2, num(nan), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 3, num(-nan), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 4, num(1), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 5, num(nan), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 6, i64(1), Quality::good));  // int after NaN
}

// Infinities: equal ones are unchanged, one after a finite value moved beyond any deadband.
TEST(HistoryRecorder, RuleInfinities) {
  Recorder r;
  const double inf = std::numeric_limits<double>::infinity();
  const Rule rule{.deadband = 1e300};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(0), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 1, num(inf), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 2, num(inf), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 3, num(-inf), Quality::good));
}

// "time": a state at the same time as the last record is recorded only when it differs (it
// then replaces that record), and never by max_interval.
TEST(HistoryRecorder, RuleTimeEqualOnlyWhenDifferent) {
  Recorder r;
  const Rule rule{.deadband = 0.5, .max_interval_s = 0.001};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(1), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0, num(1), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0, num(1.25), Quality::good));  // within the deadband
  EXPECT_TRUE(r.observe(kPoint, rule, kT0, num(2), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0, num(2), Quality::bad));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0, num(2), Quality::bad));
}

// "time": an earlier state (the wall clock stepped back) likewise: a change is recorded, an
// unchanged state never, not even by max_interval; the recorded state becomes the last one.
TEST(HistoryRecorder, RuleTimeEarlierOnlyWhenDifferent) {
  Recorder r;
  const Rule rule{.max_interval_s = 1};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0 + 10'000, num(1), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0, num(1), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 - 3'600'000, num(1), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0, num(2), Quality::good));
  // Measured from the record at kT0 now.
  EXPECT_FALSE(r.observe(kPoint, rule, kT0 + 999, num(2), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 1000, num(2), Quality::good));
}

// An unrecorded state is not remembered: the next one is compared with the last record, and
// max_interval counts from the last record, not from the last state offered.
TEST(HistoryRecorder, RuleOnlyRecordsAreRemembered) {
  Recorder r;
  const Rule rule{.deadband = 1, .max_interval_s = 10};
  ASSERT_TRUE(r.observe(kPoint, rule, kT0, num(0), Quality::good));
  for (int i = 1; i < 10; ++i)
    EXPECT_FALSE(r.observe(kPoint, rule, kT0 + i * 1000, num(0.5), Quality::good)) << i;
  EXPECT_TRUE(r.observe(kPoint, rule, kT0 + 10'000, num(0.5), Quality::good));
}

// A point's rule can change between calls (a reload): the new rule applies from the next state.
TEST(HistoryRecorder, RuleChangeAppliesNext) {
  Recorder r;
  ASSERT_TRUE(r.observe(kPoint, Rule{.deadband = 10}, kT0, num(0), Quality::good));
  EXPECT_FALSE(r.observe(kPoint, Rule{.deadband = 10}, kT0 + 1, num(5), Quality::good));
  EXPECT_TRUE(r.observe(kPoint, Rule{.deadband = 1}, kT0 + 2, num(5), Quality::good));
}

// --- forget / clear ---

TEST(HistoryRecorder, ForgetMakesNextStateFirst) {
  Recorder r;
  ASSERT_TRUE(r.observe(1, kEveryChange, kT0, num(5), Quality::good));
  ASSERT_TRUE(r.observe(2, kEveryChange, kT0, num(5), Quality::good));
  r.forget(1);
  EXPECT_EQ(r.tracked(), 1u);
  EXPECT_TRUE(r.observe(1, kEveryChange, kT0 + 1, num(5), Quality::good));
  EXPECT_FALSE(r.observe(2, kEveryChange, kT0 + 1, num(5), Quality::good));
  r.forget(99);  // unknown: no effect
  EXPECT_EQ(r.tracked(), 2u);
}

TEST(HistoryRecorder, ClearForgetsEveryPoint) {
  Recorder r;
  ASSERT_TRUE(r.observe(1, kEveryChange, kT0, num(5), Quality::good));
  ASSERT_TRUE(r.observe(2, kEveryChange, kT0, Value{true}, Quality::good));
  r.clear();
  EXPECT_EQ(r.tracked(), 0u);
  EXPECT_TRUE(r.observe(1, kEveryChange, kT0 + 1, num(5), Quality::good));
  EXPECT_TRUE(r.observe(2, kEveryChange, kT0 + 1, Value{true}, Quality::good));
}

}  // namespace
}  // namespace pollux::history
