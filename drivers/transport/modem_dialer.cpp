#include "transport/modem_dialer.hpp"

namespace pollux::transport {

namespace {
bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}
// Final result codes that end a dial attempt unsuccessfully.
std::string_view dial_failure(std::string_view line) {
  if (line == "BUSY") return "BUSY";
  if (line == "NO CARRIER") return "NO CARRIER";
  if (line == "NO DIALTONE" || line == "NO DIAL TONE") return "NO DIALTONE";
  if (line == "NO ANSWER") return "NO ANSWER";
  if (line == "ERROR") return "ERROR";
  return {};
}
}  // namespace

std::string_view to_string(ModemDialer::State s) {
  using S = ModemDialer::State;
  switch (s) {
    case S::idle:
      return "idle";
    case S::init:
      return "init";
    case S::dialing:
      return "dialing";
    case S::connected:
      return "connected";
    case S::guard_before:
      return "guard_before";
    case S::escape:
      return "escape";
    case S::hanging_up:
      return "hanging_up";
  }
  return "?";
}

ModemDialer::Step ModemDialer::fail(std::string_view reason) {
  state_ = State::idle;
  Step s;
  s.outcome = Outcome::failed;
  s.reason = reason;
  return s;
}

ModemDialer::Step ModemDialer::dial(std::string_view init, std::string_view phone) {
  Step s;
  if (state_ != State::idle) {  // one call at a time: the current call is left alone
    s.outcome = Outcome::failed;
    s.reason = "modem busy with another call";
    return s;
  }
  phone_.assign(phone);
  init_.assign(init.empty() ? std::string_view("ATZ") : init);
  recovering_ = recovered_ = false;
  return send_init();
}

ModemDialer::Step ModemDialer::send_init() {
  Step s;
  state_ = State::init;
  s.send = init_ + "\r";
  s.timer = settings_.command_timeout;
  return s;
}

// Back on hook after the hang-up sequence. When the sequence was the recovery of a silent init
// (a modem still online in an earlier call), the call goes on with its init string instead.
ModemDialer::Step ModemDialer::on_hook(std::string_view reason) {
  if (recovering_) {
    recovering_ = false;
    return send_init();
  }
  state_ = State::idle;
  Step s;
  s.outcome = Outcome::hung_up;
  s.reason = reason;
  s.timer = runtime::Duration::zero();
  return s;
}

ModemDialer::Step ModemDialer::hang_up() {
  Step s;
  if (state_ != State::connected) return s;
  state_ = State::guard_before;
  s.timer = settings_.guard_time;
  return s;
}

ModemDialer::Step ModemDialer::on_line(std::string_view raw) {
  const std::string_view line = trim(raw);
  Step s;
  if (line.empty()) return s;
  switch (state_) {
    case State::init:
      if (line == "OK") {
        state_ = State::dialing;
        s.send = "ATDT" + phone_ + "\r";
        s.timer = settings_.dial_timeout;
        return s;
      }
      if (line == "ERROR") return fail("init: ERROR");
      return s;  // command echo or noise
    case State::dialing:
      if (starts_with(line, "CONNECT")) {
        state_ = State::connected;
        s.timer = runtime::Duration::zero();
        s.outcome = Outcome::connected;
        return s;
      }
      if (auto f = dial_failure(line); !f.empty()) return fail(f);
      return s;  // echo of ATDT, RING, etc.
    case State::escape:
      if (!escape_silence_done_) {
        // A modem with a shorter guard time answers before our 1 s of silence is over: keep
        // the OK and send ATH once the silence has been kept.
        if (line == "OK") escape_ok_ = true;
        return s;
      }
      if (line == "OK") {
        state_ = State::hanging_up;
        s.send = "ATH\r";
        s.timer = settings_.command_timeout;
        return s;
      }
      if (line == "NO CARRIER") return on_hook({});  // the far end dropped already
      return s;
    case State::hanging_up:
      if (line == "OK" || line == "NO CARRIER") return on_hook({});
      if (line == "ERROR") return on_hook("ATH: ERROR");
      return s;
    case State::idle:
    case State::connected:
    case State::guard_before:
      return s;
  }
  return s;
}

ModemDialer::Step ModemDialer::on_timer() {
  Step s;
  switch (state_) {
    case State::init:
      // No OK at all: the modem may still be online in an earlier call (its last user closed
      // the port without hanging up), taking the init string for data. Escape, hang up and
      // send the init string once more before the call fails.
      if (!recovered_) {
        recovered_ = recovering_ = true;
        state_ = State::guard_before;
        s.timer = settings_.guard_time;
        return s;
      }
      return fail("init: no OK");
    case State::dialing:
      return fail("no CONNECT within dial timeout");
    case State::guard_before:
      state_ = State::escape;
      escape_silence_done_ = false;
      escape_ok_ = false;
      s.send = "+++";
      s.timer = settings_.guard_time;
      return s;
    case State::escape:
      if (!escape_silence_done_) {
        escape_silence_done_ = true;
        if (escape_ok_) {
          state_ = State::hanging_up;
          s.send = "ATH\r";
        }
        s.timer = settings_.command_timeout;
        return s;
      }
      // No OK to +++: send ATH anyway; a modem that lost carrier is in command mode already.
      state_ = State::hanging_up;
      s.send = "ATH\r";
      s.timer = settings_.command_timeout;
      return s;
    case State::hanging_up:
      return on_hook("ATH: no OK");
    case State::idle:
    case State::connected:
      return s;
  }
  return s;
}

}  // namespace pollux::transport
