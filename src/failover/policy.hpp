// Device communication failover: per-device settings, state and the pure policy
// (spec/failover.md rules 1-8 and the start-up case).
//
// Pure code (DESIGN.md principle 1): no I/O, no clock reads, no globals. Every function takes
// `now` and the usability of the device's three channels, updates the device's State and returns
// the line change it made in the same step, so the caller can publish the SYDEV* points
// (status.hpp) and record the event (event_ring.hpp) before anything else happens.
//
// Contract for the engine: one State per remote device, every call on the device's strand.
// - New device: state = initial_state(settings, now), then on_channels() (rule 8, start-up).
// - Device reloaded: on_reload(new_settings, state, now), then on_channels() (rule 8).
// - Before each message cycle: before_cycle() (rule 5, Retry primary).
// - After each message: on_message_result() (rule 1). When it returns a change, ask
//   requeue_failed_message() whether the failed message goes first on the new line, then move
//   the device's queue (rule 4; the queue is the engine's).
// - A channel of any of the device's lines changes usability: on_channels() (rule 2).
// - Operator selects a line: select_line() gives a refusal reason or the change (rule 7).
// Rule 3 (target choice) and rule 6 (SYDEVPRFO) are applied inside those calls. After any
// returned change or on_success(), republish status_values() (status.hpp) in the same step.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "runtime/clock.hpp"

namespace pollux::failover {

inline constexpr int kLineCount = 3;

// Usability of the channel of each line right now, indexed [line - 1]. A channel is usable
// unless disabled or down (failover.md vocabulary). Entries of unconfigured lines are ignored.
using Usable = std::array<bool, kLineCount>;
inline constexpr Usable kAllUsable{true, true, true};

// Why the active line changed; the spelling of to_string() is the API's "reason".
enum class Reason {
  initial_fail,
  subsequent_fail,
  channel_unusable,
  retry_primary,
  failback_on_failure,
  manual,
  reload
};
std::string_view to_string(Reason r);
// The inverse of to_string (sync payloads); nullopt for an unknown spelling.
std::optional<Reason> parse_reason(std::string_view text);

// One line's failover settings, taken from config::Path.
struct LineSettings {
  bool configured = false;
  bool available = true;  // lines 2 and 3 only: line 1 is eligible whenever configured
  std::string channel;    // channel id (SYDEV* points, refusal reasons)
  runtime::Duration initial_fail = runtime::seconds(60);
  std::optional<runtime::Duration> subsequent_fail;  // ignored on line 3 (rule 9)
  std::optional<runtime::Duration> retry_primary;    // lines 2 and 3 only
  friend bool operator==(const LineSettings&, const LineSettings&) = default;
};

// A device's failover settings (config `comm`), with seconds already turned into Durations.
struct Settings {
  bool auto_failover = true;
  config::Sequence sequence = config::Sequence::try_in_order;
  bool failback_on_failure = false;
  bool retry_in_progress_control = false;
  int active = 1;  // the line used with auto off (rule 7)
  std::array<LineSettings, kLineCount> lines;

  static Settings from_config(const config::Comm& comm);

  // `n` is 1..3 in all of these; out-of-range lines are neither configured nor eligible.
  const LineSettings& line(int n) const { return lines[static_cast<std::size_t>(n - 1)]; }
  bool configured(int n) const { return n >= 1 && n <= kLineCount && line(n).configured; }
  bool eligible(int n) const { return configured(n) && (n == 1 || line(n).available); }
  friend bool operator==(const Settings&, const Settings&) = default;
};

// The state failover.md keeps per remote device. Times are on the monotonic clock.
struct State {
  int active_line = 1;
  runtime::TimePoint last_success_at{};  // last successful I/O on any line, or (re)load
  int last_good_line = 0;                // line of the last successful I/O; 0 before any
  // When the device moved to its current alternate line; empty while on line 1. Drives the
  // Retry primary timer (rule 5), which neither success nor failure on that line touches.
  std::optional<runtime::TimePoint> failed_over_at;
  std::optional<runtime::TimePoint> restored_at;  // last restore to line 1 by Retry primary
  bool subsequent_active = false;                 // from that restore until the next successful I/O
  bool primary_failed_over = false;               // SYDEVPRFO (rule 6)
  friend bool operator==(const State&, const State&) = default;
};

// Usability of each line from a predicate on channel ids (e.g. the engine's channel table).
template <class IsChannelUsable>
Usable usable_lines(const Settings& settings, IsChannelUsable&& is_channel_usable) {
  Usable u{};
  for (int n = 1; n <= kLineCount; ++n) {
    u[static_cast<std::size_t>(n - 1)] =
        settings.configured(n) && is_channel_usable(std::string_view(settings.line(n).channel));
  }
  return u;
}

// A change of active line made by one of the rule functions.
struct LineChange {
  int from = 0;
  int to = 0;
  Reason reason = Reason::manual;
  friend bool operator==(const LineChange&, const LineChange&) = default;
};

// How a message ended. An exception answer proves the device reachable: it is successful I/O
// for failover although the requester sees a failure.
enum class MessageResult { ok, exception, failed };

// Rule 8, first load: last_success_at = now. With auto on the device starts on line 1; with
// auto off on the configured `active` line (line 1 if that line is not eligible). A start-up
// line is not a change, so there is no event; call on_channels() next for the start-up case.
State initial_state(const Settings& settings, runtime::TimePoint now);

// Rule 8, reload with (possibly) new settings: last_success_at = now; with auto on the active
// line is kept when it is still configured and eligible, else line 1; with auto off it is the
// configured `active` (line 1 if not eligible). Returns the change (reason reload) if any.
// Retry primary keeps counting on a kept alternate line.
std::optional<LineChange> on_reload(const Settings& settings, State& state, runtime::TimePoint now);

// Rule 3: the line a failover from the active line goes to, or nullopt (stay and keep trying)
// when no eligible line other than the active one has a usable channel. `failback` asks for
// rule 3's failback_on_failure preference of line 1.
std::optional<int> choose_target(const Settings& settings, const State& state, const Usable& usable,
                                 bool failback);

// Rule 5, to call before each message cycle: Retry primary failback to line 1.
std::optional<LineChange> before_cycle(const Settings& settings, State& state, const Usable& usable,
                                       runtime::TimePoint now);

// After each message sent on `line` (the line it went out on, normally the active one).
// ok/exception: on_success(); failed: on_message_failed().
std::optional<LineChange> on_message_result(const Settings& settings, State& state,
                                            const Usable& usable, int line, MessageResult result,
                                            runtime::TimePoint now);

// Successful I/O on `line`: last_success_at = now, last_good_line = line, subsequent_active
// off, and SYDEVPRFO reset when the line is 1 (rule 6).
void on_success(State& state, int line, runtime::TimePoint now);

// Rule 1 (end-of-cycle failure check) then rule 3. A failure on a line other than the active
// one (it was in flight during a line change) moves nothing.
std::optional<LineChange> on_message_failed(const Settings& settings, State& state,
                                            const Usable& usable, int line, runtime::TimePoint now);

// Rule 2 and the start-up case: with auto on and the active line's channel unusable, fail over
// at once (reason channel_unusable). Idempotent: nothing happens while the active channel is
// usable, and without a candidate the device stays until a later call finds one.
std::optional<LineChange> on_channels(const Settings& settings, State& state, const Usable& usable,
                                      runtime::TimePoint now);

// Rule 4: whether the message that just failed is re-queued first on the new line after an
// automatic failover. Master-mode messages (writes) only with retry_in_progress_control.
// A manual line change never carries the in-progress message (seed: manual failback).
bool requeue_failed_message(const Settings& settings, bool master_mode);

// Outcome of an operator's line selection: refused (nothing changed) or accepted, with the
// change when the line differs from the active one.
struct Selection {
  std::string refusal;  // empty when accepted; else e.g. "line 2 is not available"
  std::optional<LineChange> change;
  bool accepted() const { return refusal.empty(); }
};

// Rule 7: manual or forced line selection, with auto on or off. Refused when the line is not
// configured, not eligible, or its channel is not usable. Accepted: the line becomes active
// (reason manual), failed_over_at = now on lines 2/3 so timers continue from there;
// last_success_at and SYDEVPRFO are untouched.
Selection select_line(const Settings& settings, State& state, const Usable& usable, int line,
                      runtime::TimePoint now);

}  // namespace pollux::failover
