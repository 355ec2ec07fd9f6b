// What GET /api/v1/stream sends (spec/api.md "Live stream"): the node's point changes, device
// status changes, failover events and redundancy events, appended to the live stream's journal
// (api/live_stream.hpp) for the HTTP server to send.
//
// It journals only while a client is attached, and for `linger` after the last one left so that
// a client that reconnects finds what it missed; otherwise it reads nothing and costs nothing.
// When it stops, the journal is interrupted, so a later resume asks the client to resync.
//   - point: every change from the engine's change feed (read at its own pace, DESIGN.md
//     principle 7), as a POINT. A feed that lost changes appends a `resync` event instead.
//   - device: a device whose DEVICE.comm, active line or `enabled` differs from the last scan,
//     as a DEVICE. Nothing tells of those changes as they happen (a poll's failure sets comm, a
//     channel switched off makes every device on it disabled), so a scan every `tick` compares
//     them: at 10,000 devices a few hundred microseconds.
//   - failover and redundancy: the engine's and the pair's event rings, read past the last seq
//     journaled, on the same tick.
// Every `heartbeat` the journal's waiters are woken even without news, so each connection
// writes a comment and a dead client is noticed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/live_stream.hpp"
#include "api/node_api.hpp"
#include "engine/engine.hpp"
#include "runtime/executor.hpp"

namespace pollux::app {

class NodeStream {
 public:
  struct Options {
    std::size_t capacity = 65536;  // events buffered for clients that reconnect
    runtime::Duration tick = std::chrono::milliseconds(250);
    runtime::Duration linger = std::chrono::seconds(60);
    runtime::Duration heartbeat = std::chrono::seconds(15);
  };
  using RedundancyEvents = std::function<std::vector<api::RedundancyEventView>()>;

  NodeStream(runtime::Executor& ex, engine::Engine& engine, RedundancyEvents redundancy,
             Options options);
  NodeStream(runtime::Executor& ex, engine::Engine& engine, RedundancyEvents redundancy)
      : NodeStream(ex, engine, std::move(redundancy), Options{}) {}
  ~NodeStream();
  NodeStream(const NodeStream&) = delete;
  NodeStream& operator=(const NodeStream&) = delete;

  void start();
  void stop();
  api::StreamJournal& journal() { return journal_; }
  bool journaling() const { return static_cast<bool>(sub_); }

 private:
  void tick();
  void begin();
  void end();
  void drain_feed();
  void scan_devices(bool baseline);
  void read_failover_events();
  void read_redundancy_events();
  void append(api::StreamEventKind kind, std::string device, std::string data);
  void notify();

  runtime::Executor& ex_;
  engine::Engine& engine_;
  RedundancyEvents redundancy_;
  Options options_;
  api::StreamJournal journal_;
  runtime::TimerId timer_;
  points::Subscription sub_;
  std::optional<runtime::TimePoint> unattended_since_;
  runtime::TimePoint last_notify_{};
  bool appended_ = false;
  bool drain_posted_ = false;
  std::unordered_map<std::string, engine::Engine::DeviceStatus> statuses_;
  std::uint64_t failover_seq_ = 0;
  std::uint64_t redundancy_seq_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::app
