// The AT dialer of a modem channel as a pure state machine (spec/config.md "Modem dialogue").
//
// A call: send the path's init string, expect OK; send ATDT<phone>, expect CONNECT within
// dial_timeout_s. BUSY / NO CARRIER / NO DIALTONE / NO ANSWER / ERROR or a timeout fail the call
// (a failed message for the device that asked). Hang-up: 1 s silence, "+++", 1 s silence,
// expect OK, "ATH", expect OK. An init string that gets no answer at all is taken for a modem
// still online in an earlier call: the hang-up sequence runs, then the init string once more. The
// machine does no I/O and reads no clock: the modem link feeds it answer lines and timer expiries
// and performs the returned Step (bytes to send, timer to arm).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/clock.hpp"

namespace pollux::transport {

class ModemDialer {
 public:
  enum class State : std::uint8_t {
    idle,          // on hook, command mode
    init,          // init string sent, waiting for OK
    dialing,       // ATDT sent, waiting for CONNECT
    connected,     // data mode: Modbus frames flow
    guard_before,  // hang-up: silence before +++
    escape,        // +++ sent, silence after it, then waiting for OK
    hanging_up,    // ATH sent, waiting for OK
  };
  enum class Outcome : std::uint8_t {
    none,       // still in progress
    connected,  // the call is up
    failed,     // the call failed; `reason` says why
    hung_up,    // back on hook (cleanly or not; `reason` is set when not clean)
  };
  struct Step {
    std::string send;  // bytes to write now (empty: nothing)
    // Timer to arm (replacing any previous) this long from now; zero: cancel the timer;
    // nullopt: leave the current timer as it is.
    std::optional<runtime::Duration> timer;
    Outcome outcome = Outcome::none;
    std::string_view reason;
  };

  struct Settings {
    runtime::Duration dial_timeout = runtime::seconds(60);
    runtime::Duration command_timeout = runtime::seconds(5);  // OK after init / +++ / ATH
    runtime::Duration guard_time = runtime::seconds(1);       // silence around +++
  };

  ModemDialer() = default;
  explicit ModemDialer(Settings s) : settings_(s) {}

  // Starts a call from idle. The init string defaults to ATZ when empty.
  Step dial(std::string_view init, std::string_view phone);
  // Starts the hang-up sequence from connected.
  Step hang_up();
  // One answer line from the modem (CR LF stripped) while in command mode.
  Step on_line(std::string_view line);
  // The timer armed by the last Step fired.
  Step on_timer();
  // The port was lost or closed: back to idle without talking to the modem.
  void reset() { state_ = State::idle; }

  State state() const { return state_; }
  const std::string& phone() const { return phone_; }
  // Whether the link should treat incoming bytes as answer lines (not Modbus data).
  bool command_mode() const { return state_ != State::connected && state_ != State::idle; }

 private:
  Step fail(std::string_view reason);
  Step send_init();
  Step on_hook(std::string_view reason);

  Settings settings_;
  State state_ = State::idle;
  std::string phone_;
  std::string init_;
  bool recovering_ = false;  // the hang-up sequence runs for a silent init
  bool recovered_ = false;   // ... and has run once in this call
  bool escape_silence_done_ = false;
  bool escape_ok_ = false;  // OK to +++ seen during the silence after it
};

std::string_view to_string(ModemDialer::State s);

}  // namespace pollux::transport
