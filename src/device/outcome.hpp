// What one message came to, and what that does to its device's books (api.md DEVICE.stats and
// "Every message ends as exactly one of ok / exception / failed"; failover.md vocabulary: a poll
// attempt is several messages sent in order and abandoned at the first failed one).
//
// The channel runner sends messages and reports each one's end once, as a MessageOutcome; it
// counts the tries (and each failed try's cause) itself. The device's owner (engine::
// DeviceSession) settles the outcome with the functions below, between which it plugs failover
// and decoding, and answers the runner "done" or "this job goes first in the queue again". These
// functions are the only code that moves a job through its blocks or ends a poll attempt, so
// the runner's tests and the session share them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "device/message.hpp"
#include "device/remote_device.hpp"
#include "modbus/pdu.hpp"
#include "runtime/clock.hpp"

namespace pollux::device {

// A channel's auto-demotion (config.md demote_after_failed_polls, demote_for_ms).
struct Demotion {
  int after_failed_polls = 0;  // 0: never
  int for_ms = 0;
};

struct MessageOutcome {
  enum class Kind : std::uint8_t {
    ok,               // a normal answer: `response`
    exception,        // a Modbus exception answer: the device is reachable (`error` is the code)
    failed,           // every try failed, or it could not be sent (`error`: the last cause)
    nothing_to_send,  // an empty poll group, or a write completed meanwhile
    dropped,          // the channel stopped or forgot the device with the message in flight
  };
  RemoteDevice& device;
  Job job;
  int line = 1;  // the line it went over
  Kind kind = Kind::ok;
  std::error_code error;
  const modbus::ResponseView* response = nullptr;  // ok: valid during the call only
  runtime::TimePoint at{};                         // ok/exception: when the answer came
  runtime::WallTime wall{};
  std::string_view channel;  // the channel it went over
  Demotion demotion;         // that channel's

  bool answered() const { return kind == Kind::ok || kind == Kind::exception; }
};

// The end of a poll attempt.
struct PollEnd {
  std::uint32_t group = 0;
  std::error_code error;           // empty: every block answered
  std::uint32_t failed_block = 0;  // the block whose message ended it
};

struct Settled {
  std::optional<Job> next;  // goes first in the device's queue: the rest of the attempt
  std::optional<PollEnd> poll_end;
};

// The device's next message is about to be sent: a poll attempt is in progress from its first
// message until settle() ends it.
void mark_started(RemoteDevice& d);

// The message counters of an ended message (not of a dropped one or one never sent): answers
// per line, ok / exception / failed, and on an answer the device's last success.
void count_message(RemoteDevice& d, const MessageOutcome& o);

// Moves the job on: a write completes; a poll goes on with its next block, or its attempt ends
// (polls_ok / polls_failed, auto-demotion, comm "failed" when no answer came). A refused range
// asked again and refused again does not end the attempt (api.md settled). `now` times a
// demotion.
Settled settle(RemoteDevice& d, const MessageOutcome& o, runtime::TimePoint now);

}  // namespace pollux::device
