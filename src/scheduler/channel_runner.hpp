// One runner per channel: serves the devices whose active line is on this channel (engine issue
// item 4; DESIGN.md principle 2 "one strand per channel; queues are explicit").
//
// Fairness: devices with work are served round-robin, one message per turn, so a dead device
// costs each line-mate at most its own message_timeout_ms x attempts per turn. A serial or modem
// line never has two messages in flight; a TCP MultiPoint link may carry many (one per device,
// serialized per connection by the link). Each try is preceded by the path's message_delay_ms;
// reads get poll_attempts tries, writes write_attempts (default 1: never sent twice). Every
// message ends as exactly one of ok / exception / failed, and each failed try counts exactly one
// cause (api.md "Settled details"); each message's end goes once to the RunnerHandler, whose
// answer may put a job back at the head of the queue.
//
// Cost (performance issue): devices with work wait in an explicit FIFO ready list, so serving
// the next device, finishing a message and counting what is in flight are O(1) however many
// devices share the channel (10,000 on one TCP MultiPoint channel). A device enters the list
// when it may have become ready here (work queued, its message finished, its line moved here:
// kick(device)); an entry is checked again when it reaches the front, and entries made stale by
// a line change, a detach or a drained queue are dropped there.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "config/model.hpp"
#include "device/outcome.hpp"
#include "device/remote_device.hpp"
#include "runtime/executor.hpp"
#include "runtime/histogram.hpp"
#include "transport/link.hpp"

namespace pollux::scheduler {

// Response-time histogram with fixed buckets (Prometheus style, cumulative when exported).
inline constexpr std::array<double, 10> kResponseBoundsMs{5,   10,  25,   50,   100,
                                                          250, 500, 1000, 2500, 5000};
using Histogram = runtime::Histogram<kResponseBoundsMs>;

struct ChannelCounters {
  std::uint64_t messages = 0;  // tries sent
  std::uint64_t answers = 0;   // tries answered (ok or exception)
  std::uint64_t failures = 0;  // tries failed
  Histogram response_ms;
};

// The device's owner (engine::DeviceSession through the engine). Two calls, both on the
// executor thread: the runner alone owns its queues and in-flight messages, the handler alone
// decides what a message's end means (device/outcome.hpp).
class RunnerHandler {
 public:
  virtual ~RunnerHandler() = default;
  // The device's next message is about to start (failover rule 5 may first move the device to
  // another line: failback); the message at the head of its queue starts there, now or, when
  // its wire is busy, on a later turn.
  virtual void before_cycle(device::RemoteDevice&) {}
  // One message ended (once per message, whatever its tries). The answer: std::nullopt when the
  // job is done, or a job that goes first in the device's queue (the rest of a poll attempt, or
  // a message failover re-queued for the device's new line, rule 4). A handler that moved the
  // device to another channel tells that channel's runner once the job is back in the queue.
  virtual std::optional<device::Job> on_outcome(const device::MessageOutcome& outcome) = 0;
};

// The link's status changed (ok <-> down <-> disabled): failover rule 2.
using ChannelStatusObserver =
    std::function<void(const std::string& channel, transport::LinkStatus)>;

class ChannelRunner final : public transport::LinkListener {
 public:
  ChannelRunner(runtime::Executor& ex, config::Channel cfg, std::unique_ptr<transport::Link> link,
                RunnerHandler& handler, ChannelStatusObserver on_status = {});
  ~ChannelRunner() override;
  ChannelRunner(const ChannelRunner&) = delete;
  ChannelRunner& operator=(const ChannelRunner&) = delete;

  const std::string& id() const { return cfg_.id; }
  const config::Channel& config() const { return cfg_; }
  transport::Link& link() { return *link_; }
  const transport::Link& link() const { return *link_; }
  const ChannelCounters& counters() const { return counters_; }

  // Devices that have a line on this channel; served while their active line is here.
  void attach(device::RemoteDevice* d);
  // Forgets a device; a message of it in flight completes silently.
  void detach(device::RemoteDevice* d);
  void start();
  // Closes the link, drops in-flight messages (writes complete with `stopped`).
  void stop();
  void set_enabled(bool enabled);
  // Something changed for any number of devices: on the next executor turn, look at every
  // attached device again and serve what is ready. O(attached devices): not for the
  // per-message path.
  void kick();
  // `d` may have become ready here (work queued, line moved here, message finished): O(1).
  void kick(device::RemoteDevice& d);
  std::size_t in_flight() const { return in_flight_; }
  std::size_t queued() const;
  // Devices waiting in the ready list (entries not yet checked again included).
  std::size_t ready_entries() const { return ready_.size(); }

  // LinkListener
  void on_exchange_done(std::uint64_t tag, const transport::ExchangeResult& r) override;
  void on_link_status(transport::LinkStatus s) override;
  void on_link_ready() override { schedule_pump(); }

 private:
  struct Slot {
    device::RemoteDevice* dev = nullptr;
    device::Job job;
    int line = 1;
    int tries_left = 0;
    std::uint32_t generation = 0;
    runtime::TimerId delay_timer;
    runtime::TimePoint sent_at{};
    transport::Exchange exchange;
    bool active = false;
  };

  // One entry of the ready list; valid while the device names this runner and this ticket.
  struct ReadyEntry {
    device::RemoteDevice* dev = nullptr;
    std::uint32_t ticket = 0;
  };

  // Messages started per executor turn at most (see pump()).
  static constexpr std::size_t kBeginsPerTurn = 64;
  void schedule_pump();
  void pump();
  void fail_ready(std::error_code error);
  // Appends `d` when it is ready here and not already listed.
  void mark_ready(device::RemoteDevice& d);
  bool valid(const ReadyEntry& e) const {
    return e.dev->ready_in == uid_ && e.dev->ready_ticket == e.ticket;
  }
  // Removes the front entry; a valid one releases its device's mark.
  void pop_ready();
  std::size_t take_slot();
  void release_slot(std::size_t idx);
  bool serves(const device::RemoteDevice& d) const;
  bool ready(device::RemoteDevice& d) const;
  void begin(device::RemoteDevice& d);
  void send_try(std::size_t slot);
  void do_send(std::size_t slot);
  // Ends the message in `slot` and reports it.
  void finish_message(std::size_t slot, device::MessageOutcome::Kind kind, std::error_code error,
                      const modbus::ResponseView* response = nullptr, runtime::TimePoint at = {},
                      runtime::WallTime wall = {});
  // Hands one message's end to the handler and puts what it sends back at the queue's head.
  void report(device::MessageOutcome& outcome);
  device::MessageOutcome outcome_of(device::RemoteDevice& d, const device::Job& job, int line,
                                    device::MessageOutcome::Kind kind, std::error_code error) const;
  void fail_unsent(device::RemoteDevice& d, std::error_code error);
  // Ends the message in `slot` without an answer (stop, detach).
  void drop(std::size_t slot);
  std::uint64_t tag_of(std::size_t slot) const;
  const modbus::Request* request_of(device::RemoteDevice& d, const device::Job& job);

  runtime::Executor& ex_;
  config::Channel cfg_;
  std::unique_ptr<transport::Link> link_;
  RunnerHandler& handler_;
  ChannelStatusObserver on_status_;
  // Process-unique (not the address: a runner made after this one's destruction could reuse it
  // and take a device's stale mark for a valid entry).
  std::uint64_t uid_;
  std::vector<device::RemoteDevice*> devices_;
  std::deque<ReadyEntry> ready_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_slots_;
  std::size_t in_flight_ = 0;
  bool rescan_ = false;  // kick(): the next pump looks at every attached device
  bool running_ = false;
  runtime::TimerId kick_timer_;
  ChannelCounters counters_;
};

// Adds one failed try's cause to exactly one of timeouts / crc_errors / framing_errors.
void count_failure_cause(device::DeviceCounters& c, std::error_code error);

}  // namespace pollux::scheduler
