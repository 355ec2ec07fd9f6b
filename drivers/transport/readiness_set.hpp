// An edge-triggered epoll set of sockets, waited on through Asio as one descriptor: how the TCP
// MultiPoint link learns that an answer has arrived (restructure issue: the hot path's CPU per
// transaction against tcp_floor).
//
// Asio 1.18 (Boost 1.74) arms a read on a socket in one of two ways, and each costs a system
// call per transaction besides the send and the read itself: async_read_some first tries a
// speculative recv, which right after an answer finds nothing (EAGAIN); async_wait registers the
// socket again with EPOLL_CTL_MOD on every wait. Here a socket is added once, when it opens, and
// stays in the set until it closes. Asio waits on the set's own descriptor, which is armed again
// once per batch of ready sockets, not once per socket.
//
// Edge-triggered: a socket is reported when new bytes arrive (or room to write appears, while
// asked for), not while bytes remain. Whoever is told must read until a read comes back short,
// or bytes left behind wait for the next arrival.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace pollux::transport {

class ReadinessSet {
 public:
  // What a report says about a socket. Hung up or failed counts as readable: a read then says
  // which.
  struct Ready {
    bool readable = false;
    bool writable = false;
  };
  // Called on the I/O thread with the key of each socket that became ready. A key may come once
  // more after its socket was removed, if it was already in the batch being reported: the
  // callee checks its own state.
  using OnReady = std::function<void(void* key, Ready ready)>;

  ReadinessSet(boost::asio::io_context& io, OnReady on_ready);
  ~ReadinessSet();
  ReadinessSet(const ReadinessSet&) = delete;
  ReadinessSet& operator=(const ReadinessSet&) = delete;

  // Reports only between start() and stop().
  void start();
  void stop();
  // Watched for reading. A socket already readable when added is reported too. False when the
  // kernel refused it (out of memory, or the per-user watch limit).
  bool add(int fd, void* key);
  // Also watched for room to write, or no longer (a write that did not fit waits for it).
  bool watch_writable(int fd, void* key, bool on);
  // Before the socket is closed.
  void remove(int fd);

 private:
  void arm();
  // False when a report destroyed this set.
  bool report_ready();

  boost::asio::posix::stream_descriptor set_;
  OnReady on_ready_;
  bool running_ = false;
  bool armed_ = false;
  std::uint64_t wait_ = 0;  // which wait is current: stop() retires the pending one
  // Handlers still queued after this set is gone see it expired.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace pollux::transport
