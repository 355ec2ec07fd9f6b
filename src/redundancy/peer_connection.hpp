// One peer-link TCP connection (used by MasterLink and BackupLink, see peer_link.hpp): frames
// bytes with FrameDecoder, runs the Session (handshake, then sealed messages), queues writes,
// and enforces the link's timers through runtime::Executor: the handshake must finish within
// failover_timeout_ms, and an authenticated peer silent for failover_timeout_ms is down
// (redundancy.md "Link and security"). Any framing, session or socket error closes it.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "redundancy/frame.hpp"
#include "redundancy/security.hpp"
#include "runtime/executor.hpp"

namespace pollux::redundancy {

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
 public:
  // Owner callbacks; never called after detach().
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_authenticated(PeerConnection& c) = 0;
    virtual void on_message(PeerConnection& c, Message m) = 0;
    // The connection is closed: `kind` says whether authentication failed.
    virtual void on_closed(PeerConnection& c, SessionError kind, const std::string& error) = 0;
  };

  PeerConnection(boost::asio::ip::tcp::socket socket, runtime::Executor& executor, Session session,
                 runtime::Duration timeout, Owner* owner);
  ~PeerConnection();

  // Starts reading and the handshake timer; the backup passes its hello as `first`.
  void start(const Bytes* first = nullptr);
  // Seals and queues an application message; false unless authenticated and open.
  bool send(const Message& m);
  // Closes now (queued writes are dropped) and reports `error` to the owner.
  void close(SessionError kind, const std::string& error);
  // Closes without telling the owner (the owner is going away or already knows).
  void detach();

  // A reload changed failover_timeout_ms: the silence watchdog uses it from now on.
  void set_timeout(runtime::Duration timeout);

  bool authenticated() const { return session_.authenticated(); }
  bool open() const { return !closed_; }
  const std::string& remote() const { return remote_; }
  const std::string& peer_node() const { return session_.peer_node(); }

 private:
  void read();
  void on_read(std::size_t n);
  void handle_frame();
  void queue(Bytes payload);
  void write_next();
  void arm_watchdog();
  void on_watchdog();
  void shutdown_socket();
  void cancel_timers();

  boost::asio::ip::tcp::socket socket_;
  runtime::Executor& executor_;
  Session session_;
  runtime::Duration timeout_;
  Owner* owner_;
  std::string remote_;
  FrameDecoder decoder_;
  std::array<std::uint8_t, 16384> read_buf_{};
  std::deque<Bytes> writes_;
  bool writing_ = false;
  bool closed_ = false;
  // A failed handshake flushes its last reply (the rejection) before the socket closes.
  bool close_after_flush_ = false;
  runtime::TimerId handshake_timer_;
  runtime::TimerId watchdog_;
  runtime::TimePoint last_rx_{};
};

}  // namespace pollux::redundancy
