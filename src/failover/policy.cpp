#include "failover/policy.hpp"

namespace pollux::failover {
namespace {

using runtime::TimePoint;

bool is_usable(const Settings& s, const Usable& usable, int line) {
  return s.configured(line) && usable[static_cast<std::size_t>(line - 1)];
}

bool is_candidate(const Settings& s, const State& st, const Usable& usable, int line) {
  return line != st.active_line && s.eligible(line) && is_usable(s, usable, line);
}

// Rule 6: only automatic moves away from line 1 count as a primary failover; a manual choice,
// a reload or a move between alternates leave the flag as it was.
bool sets_primary_failed_over(Reason r) {
  return r == Reason::initial_fail || r == Reason::subsequent_fail || r == Reason::channel_unusable;
}

LineChange move_to(State& st, int to, Reason reason, TimePoint now) {
  const LineChange change{st.active_line, to, reason};
  if (change.from == 1 && sets_primary_failed_over(reason)) st.primary_failed_over = true;
  st.active_line = to;
  if (to == 1) {
    st.failed_over_at.reset();
  } else {
    st.failed_over_at = now;
  }
  if (reason == Reason::retry_primary) {
    st.restored_at = now;
    st.subsequent_active = true;
  }
  return change;
}

// The line a (re)loaded device uses with auto off, or at first load with auto on.
int configured_start_line(const Settings& s) {
  if (!s.auto_failover && s.eligible(s.active)) return s.active;
  return 1;
}

}  // namespace

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::initial_fail:
      return "initial_fail";
    case Reason::subsequent_fail:
      return "subsequent_fail";
    case Reason::channel_unusable:
      return "channel_unusable";
    case Reason::retry_primary:
      return "retry_primary";
    case Reason::failback_on_failure:
      return "failback_on_failure";
    case Reason::manual:
      return "manual";
    case Reason::reload:
      return "reload";
  }
  return "?";
}

std::optional<Reason> parse_reason(std::string_view text) {
  for (Reason r :
       {Reason::initial_fail, Reason::subsequent_fail, Reason::channel_unusable,
        Reason::retry_primary, Reason::failback_on_failure, Reason::manual, Reason::reload}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

Settings Settings::from_config(const config::Comm& comm) {
  Settings s;
  s.auto_failover = comm.auto_failover;
  s.sequence = comm.sequence;
  s.failback_on_failure = comm.failback_on_failure;
  s.retry_in_progress_control = comm.retry_in_progress_control;
  s.active = comm.active;
  for (std::size_t i = 0; i < comm.lines.size(); ++i) {
    const auto& path = comm.lines[i];
    if (!path) continue;
    LineSettings& l = s.lines[i];
    l.configured = true;
    l.available = i == 0 ? true : path->available;
    l.channel = path->channel;
    l.initial_fail = runtime::from_seconds(path->initial_fail_s);
    if (path->subsequent_fail_s)
      l.subsequent_fail = runtime::from_seconds(*path->subsequent_fail_s);
    if (path->retry_primary_s) l.retry_primary = runtime::from_seconds(*path->retry_primary_s);
  }
  return s;
}

State initial_state(const Settings& settings, TimePoint now) {
  State st;
  st.active_line = configured_start_line(settings);
  st.last_success_at = now;
  if (st.active_line != 1) st.failed_over_at = now;
  return st;
}

std::optional<LineChange> on_reload(const Settings& settings, State& state, TimePoint now) {
  state.last_success_at = now;
  int target = configured_start_line(settings);
  if (settings.auto_failover && settings.eligible(state.active_line)) target = state.active_line;
  if (target == state.active_line) {
    // A line kept across a reload (or across auto being switched on) still needs a Retry
    // primary origin; one that already had one keeps counting.
    if (target != 1 && !state.failed_over_at) state.failed_over_at = now;
    return std::nullopt;
  }
  return move_to(state, target, Reason::reload, now);
}

std::optional<int> choose_target(const Settings& settings, const State& state, const Usable& usable,
                                 bool failback) {
  if (failback && is_candidate(settings, state, usable, 1)) return 1;
  if (settings.sequence == config::Sequence::jump_to_last_good &&
      is_candidate(settings, state, usable, state.last_good_line)) {
    return state.last_good_line;
  }
  // Cyclic order 1 -> 2 -> 3 -> 1, starting after the active line.
  for (int step = 1; step < kLineCount; ++step) {
    const int line = (state.active_line - 1 + step) % kLineCount + 1;
    if (is_candidate(settings, state, usable, line)) return line;
  }
  return std::nullopt;
}

std::optional<LineChange> before_cycle(const Settings& settings, State& state, const Usable& usable,
                                       TimePoint now) {
  if (!settings.auto_failover || state.active_line == 1) return std::nullopt;
  const auto& retry = settings.line(state.active_line).retry_primary;
  if (!retry || !state.failed_over_at || now - *state.failed_over_at < *retry) {
    return std::nullopt;
  }
  if (!is_usable(settings, usable, 1)) return std::nullopt;
  return move_to(state, 1, Reason::retry_primary, now);
}

std::optional<LineChange> on_message_result(const Settings& settings, State& state,
                                            const Usable& usable, int line, MessageResult result,
                                            TimePoint now) {
  if (result == MessageResult::failed) {
    return on_message_failed(settings, state, usable, line, now);
  }
  on_success(state, line, now);
  return std::nullopt;
}

void on_success(State& state, int line, TimePoint now) {
  if (line < 1 || line > kLineCount) return;
  state.last_success_at = now;
  state.last_good_line = line;
  state.subsequent_active = false;
  if (line == 1) state.primary_failed_over = false;
}

std::optional<LineChange> on_message_failed(const Settings& settings, State& state,
                                            const Usable& usable, int line, TimePoint now) {
  if (!settings.auto_failover || line != state.active_line) return std::nullopt;
  const int active = state.active_line;
  const LineSettings& ls = settings.line(active);
  Reason reason;
  if (!is_usable(settings, usable, active)) {  // 1a
    reason = Reason::channel_unusable;
  } else if (state.subsequent_active && active <= 2 && ls.subsequent_fail &&
             state.restored_at) {  // 1b: timed from the restore, not the last success
    if (now - *state.restored_at < *ls.subsequent_fail) return std::nullopt;
    reason = Reason::subsequent_fail;
  } else {  // 1c
    if (now - state.last_success_at < ls.initial_fail) return std::nullopt;
    reason = Reason::initial_fail;
  }
  const bool failback = settings.failback_on_failure && active != 1;
  const auto target = choose_target(settings, state, usable, failback);
  if (!target) return std::nullopt;
  if (failback && *target == 1) reason = Reason::failback_on_failure;
  return move_to(state, *target, reason, now);
}

std::optional<LineChange> on_channels(const Settings& settings, State& state, const Usable& usable,
                                      TimePoint now) {
  if (!settings.auto_failover || is_usable(settings, usable, state.active_line)) {
    return std::nullopt;
  }
  const auto target = choose_target(settings, state, usable, false);
  if (!target) return std::nullopt;
  return move_to(state, *target, Reason::channel_unusable, now);
}

bool requeue_failed_message(const Settings& settings, bool master_mode) {
  return !master_mode || settings.retry_in_progress_control;
}

Selection select_line(const Settings& settings, State& state, const Usable& usable, int line,
                      TimePoint now) {
  const std::string name = "line " + std::to_string(line);
  if (line < 1 || line > kLineCount) return {name + " is out of range 1..3", std::nullopt};
  if (!settings.configured(line)) return {name + " is not configured", std::nullopt};
  if (!settings.eligible(line)) return {name + " is not available", std::nullopt};
  if (!is_usable(settings, usable, line)) {
    return {"channel " + settings.line(line).channel + " of " + name + " is not usable",
            std::nullopt};
  }
  if (line == state.active_line) return {};
  return {{}, move_to(state, line, Reason::manual, now)};
}

}  // namespace pollux::failover
