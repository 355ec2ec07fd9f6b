#include "device/outcome.hpp"

#include "modbus/error.hpp"
#include "transport/errors.hpp"

namespace pollux::device {

namespace {

// A refused range asked again and refused again: an answer the engine expects, so the rest of
// the attempt goes on (api.md settled: "the rest of the group keeps polling").
bool refused_again(const RemoteDevice& d, const Job& job, std::error_code error) {
  if (job.kind != JobKind::poll || error != modbus::ExceptionCode::illegal_data_address)
    return false;
  const auto& blocks = d.groups()[job.group].blocks;
  return job.next_block < blocks.size() && blocks[job.next_block].refused_retry;
}

}  // namespace

void mark_started(RemoteDevice& d) {
  if (d.queue().empty()) return;
  const Job& job = d.queue().front();
  if (job.kind == JobKind::poll && job.group < d.groups().size())
    d.groups()[job.group].in_progress = true;
}

void count_message(RemoteDevice& d, const MessageOutcome& o) {
  Line* line = d.line(o.line);
  switch (o.kind) {
    case MessageOutcome::Kind::ok:
    case MessageOutcome::Kind::exception:
      if (line) ++line->counters.ok;
      d.last_success_wall = o.wall;
      d.comm_failed = false;
      if (o.kind == MessageOutcome::Kind::ok)
        ++d.counters.messages_ok;
      else
        ++d.counters.exceptions;
      return;
    case MessageOutcome::Kind::failed:
      ++d.counters.messages_failed;
      if (line) ++line->counters.failed;
      return;
    case MessageOutcome::Kind::nothing_to_send:
    case MessageOutcome::Kind::dropped:
      return;
  }
}

Settled settle(RemoteDevice& d, const MessageOutcome& o, runtime::TimePoint now) {
  Settled out;
  Job job = o.job;
  const bool is_poll = job.kind == JobKind::poll && job.group < d.groups().size();
  if (o.kind == MessageOutcome::Kind::dropped) {
    if (job.kind == JobKind::write)
      d.finish_write(job.write_id, {make_error_code(transport::Errc::stopped)});
    else if (is_poll)
      d.groups()[job.group].in_progress = false;
    return out;
  }
  const bool carried_on = o.kind == MessageOutcome::Kind::ok ||
                          o.kind == MessageOutcome::Kind::nothing_to_send ||
                          refused_again(d, job, o.error);
  if (carried_on) {
    if (job.kind == JobKind::write) {
      d.finish_write(job.write_id, {});
      return out;
    }
    if (!is_poll) return out;
    auto& g = d.groups()[job.group];
    if (++job.next_block < g.blocks.size()) {
      out.next = job;  // the rest of the attempt, ahead of same-priority work
      return out;
    }
    g.in_progress = false;
    ++d.counters.polls_ok;
    d.consecutive_failed_polls = 0;
    d.demoted_until.reset();
    out.poll_end = PollEnd{job.group, {}, 0};
    return out;
  }
  if (job.kind == JobKind::write) {
    d.finish_write(job.write_id, {o.error});
    return out;
  }
  if (!is_poll) return out;
  d.groups()[job.group].in_progress = false;
  // An exception answer fails the attempt, but the device is reachable.
  if (o.kind == MessageOutcome::Kind::failed) d.comm_failed = true;
  ++d.counters.polls_failed;
  ++d.consecutive_failed_polls;
  if (o.demotion.after_failed_polls > 0 &&
      d.consecutive_failed_polls >= o.demotion.after_failed_polls)
    d.demoted_until = now + runtime::milliseconds(o.demotion.for_ms);
  out.poll_end = PollEnd{job.group, o.error, job.next_block};
  return out;
}

}  // namespace pollux::device
