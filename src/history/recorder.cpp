#include "history/recorder.hpp"

#include <cmath>
#include <limits>

namespace pollux::history {
namespace {

using points::Value;

bool is_number(const Value& v) {
  return std::holds_alternative<std::int64_t>(v) || std::holds_alternative<std::uint64_t>(v) ||
         std::holds_alternative<double>(v);
}

bool is_nan(const Value& v) {
  const auto* d = std::get_if<double>(&v);
  return d && std::isnan(*d);
}

// |a - b| of two integers, exact over the whole int64 and uint64 ranges.
struct Magnitude {
  bool negative;
  std::uint64_t abs;
};
Magnitude magnitude(const Value& v) {
  if (const auto* u = std::get_if<std::uint64_t>(&v)) return {false, *u};
  const std::int64_t i = std::get<std::int64_t>(v);
  // Two's complement negation in unsigned arithmetic: exact also for INT64_MIN.
  return i < 0 ? Magnitude{true, 0 - static_cast<std::uint64_t>(i)}
               : Magnitude{false, static_cast<std::uint64_t>(i)};
}
// Saturates at UINT64_MAX (a difference of opposite signs can reach 2^64), which is far beyond
// any deadband.
std::uint64_t integer_distance(const Value& a, const Value& b) {
  const Magnitude x = magnitude(a);
  const Magnitude y = magnitude(b);
  if (x.negative == y.negative) return x.abs > y.abs ? x.abs - y.abs : y.abs - x.abs;
  const std::uint64_t sum = x.abs + y.abs;
  return sum < x.abs ? std::numeric_limits<std::uint64_t>::max() : sum;
}

// An integer distance n is more than a deadband d >= 0 exactly when n > floor(d); comparing in
// integers keeps a deadband of 0 exact for values beyond 2^53.
bool integer_beyond(std::uint64_t distance, double deadband) {
  const double floor_d = std::floor(deadband);
  if (floor_d >= 18446744073709551616.0) return false;  // 2^64: no distance exceeds it
  return distance > static_cast<std::uint64_t>(floor_d);
}

// Rule "first": nothing was recorded for the point yet. (Checked by observe() itself: there is
// no last record to compare with.)

// Rule "quality": good <-> bad <-> uncertain.
bool quality_changed(Quality last, Quality now) {
  return last != now;
}

// Rule "deadband", for two numbers. Integers compare exactly; a double on either side compares
// as doubles. NaN: a NaN after a NaN is no change (a point that reads NaN at every poll is not
// recorded at every poll); a NaN after a number, or a number after a NaN, is a change whatever
// the deadband, since no distance to a NaN is defined. The same holds for an infinity after an
// equal infinity (unchanged) or after a finite value (moved by more than any deadband).
bool moved_beyond_deadband(const Value& last, const Value& now, double deadband) {
  if (deadband < 0) deadband = 0;
  const bool last_double = std::holds_alternative<double>(last);
  const bool now_double = std::holds_alternative<double>(now);
  if (!last_double && !now_double) {
    const std::uint64_t d = integer_distance(last, now);
    return d != 0 && integer_beyond(d, deadband);
  }
  if (is_nan(last) || is_nan(now)) return is_nan(last) != is_nan(now);
  const double a = *points::as_double(last);
  const double b = *points::as_double(now);
  if (a == b) return false;
  const double distance = std::fabs(a - b);
  // inf - inf of opposite signs is inf; of the same sign a == b above.
  return distance > deadband;
}

// Rule "other types": a change of type (null -> number, number -> string, bool -> number ...)
// or of a bool or string value.
bool other_change(const Value& last, const Value& now) {
  return last != now;  // variant inequality: a different alternative, or a different value
}

// The value rules together: deadband between two numbers, any change otherwise.
bool value_changed(const Rule& rule, const Value& last, const Value& now) {
  if (is_number(last) && is_number(now)) return moved_beyond_deadband(last, now, rule.deadband);
  return other_change(last, now);
}

// Rule "max_interval": an unchanged state is recorded once max_interval_s has passed since the
// last record, by the point's own timestamps. Rule "time" follows: a state not after the last
// record (same time, or before it after a wall-clock step back) has no positive elapsed time,
// so it is recorded only by the change rules above; it then replaces the record of the same
// time, or lands before it.
bool max_interval_reached(const Rule& rule, Millis last_time, Millis time) {
  if (!(rule.max_interval_s > 0)) return false;
  return static_cast<double>(time - last_time) >= rule.max_interval_s * 1000.0;
}

}  // namespace

bool Recorder::observe(Key key, const Rule& rule, Millis time, const points::Value& value,
                       Quality quality) {
  auto [it, first] = last_.try_emplace(key);
  Last& last = it->second;
  const bool record = first || quality_changed(last.quality, quality) ||
                      value_changed(rule, last.value, value) ||
                      max_interval_reached(rule, last.time, time);
  if (!record) return false;
  last.time = time;
  last.value = value;
  last.quality = quality;
  return true;
}

void Recorder::forget(Key key) {
  last_.erase(key);
}

void Recorder::clear() {
  last_.clear();
}

std::size_t Recorder::tracked() const {
  return last_.size();
}

}  // namespace pollux::history
