#include "redundancy/peer_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace pollux::redundancy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
std::string endpoint_text(const asio::ip::tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

PeerConnection::PeerConnection(asio::ip::tcp::socket socket, runtime::Executor& executor,
                               Session session, runtime::Duration timeout, Owner* owner)
    : socket_(std::move(socket)),
      executor_(executor),
      session_(std::move(session)),
      timeout_(timeout),
      owner_(owner),
      remote_(endpoint_text(socket_)) {
  decoder_.set_max_payload(kMaxHandshakePayload);
  // Small frames (heartbeats, handover steps) must not wait for Nagle + delayed ACK (~40 ms).
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
}

PeerConnection::~PeerConnection() {
  cancel_timers();
}

void PeerConnection::start(const Bytes* first) {
  last_rx_ = executor_.now();
  std::weak_ptr<PeerConnection> weak = weak_from_this();
  handshake_timer_ = executor_.schedule_after(timeout_, [weak] {
    if (auto self = weak.lock()) {
      self->handshake_timer_ = {};
      if (!self->closed_ && !self->session_.authenticated())
        self->close(SessionError::protocol, "handshake timeout");
    }
  });
  if (first) queue(*first);
  read();
}

void PeerConnection::cancel_timers() {
  if (handshake_timer_) executor_.cancel(handshake_timer_);
  if (watchdog_) executor_.cancel(watchdog_);
  handshake_timer_ = {};
  watchdog_ = {};
}

void PeerConnection::read() {
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(read_buf_), [self](const error_code& ec, std::size_t n) {
    if (self->closed_) return;
    if (ec) {
      self->close(SessionError::protocol,
                  ec == asio::error::eof ? "connection closed by peer" : ec.message());
      return;
    }
    self->on_read(n);
  });
}

void PeerConnection::on_read(std::size_t n) {
  last_rx_ = executor_.now();
  std::span<const std::uint8_t> in(read_buf_.data(), n);
  while (!in.empty() && !closed_ && !close_after_flush_) {
    in = in.subspan(decoder_.feed(in));
    if (decoder_.failed()) {
      close(SessionError::protocol, decoder_.error());
      return;
    }
    if (decoder_.frame_ready()) {
      handle_frame();
      decoder_.next();
    }
  }
  if (!closed_ && !close_after_flush_) read();
}

void PeerConnection::handle_frame() {
  SessionOutput out = session_.receive(decoder_.payload());
  for (auto& p : out.send)
    queue(std::move(p));
  if (out.failed()) {
    if (out.send.empty() || !writing_) {
      close(out.error_kind, out.error);
      return;
    }
    // Let the rejection reach the peer, then close; the owner learns now.
    close_after_flush_ = true;
    cancel_timers();
    if (owner_) owner_->on_closed(*this, out.error_kind, out.error);
    owner_ = nullptr;
    return;
  }
  if (out.authenticated) {
    decoder_.set_max_payload(kMaxFramePayload);
    if (handshake_timer_) executor_.cancel(handshake_timer_);
    handshake_timer_ = {};
    arm_watchdog();
    if (owner_) owner_->on_authenticated(*this);
  }
  if (out.message && owner_) owner_->on_message(*this, std::move(*out.message));
}

void PeerConnection::set_timeout(runtime::Duration timeout) {
  timeout_ = timeout;
  if (!watchdog_) return;
  executor_.cancel(watchdog_);
  watchdog_ = {};
  arm_watchdog();
}

void PeerConnection::arm_watchdog() {
  std::weak_ptr<PeerConnection> weak = weak_from_this();
  watchdog_ = executor_.schedule_at(last_rx_ + timeout_, [weak] {
    if (auto self = weak.lock()) {
      self->watchdog_ = {};
      self->on_watchdog();
    }
  });
}

void PeerConnection::on_watchdog() {
  if (closed_) return;
  if (executor_.now() - last_rx_ >= timeout_) {
    close(SessionError::protocol,
          "peer silent for " + std::to_string(runtime::to_ms(timeout_)) + " ms");
    return;
  }
  arm_watchdog();
}

bool PeerConnection::send(const Message& m) {
  if (closed_ || close_after_flush_ || !session_.authenticated()) return false;
  queue(session_.seal(m));
  return true;
}

void PeerConnection::queue(Bytes payload) {
  writes_.push_back(encode_frame(payload));
  if (!writing_) write_next();
}

void PeerConnection::write_next() {
  if (closed_) return;
  if (writes_.empty()) {
    writing_ = false;
    if (close_after_flush_) {
      closed_ = true;
      shutdown_socket();
    }
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(writes_.front()),
                    [self](const error_code& ec, std::size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        self->close(SessionError::protocol, "write failed: " + ec.message());
                        return;
                      }
                      self->writes_.pop_front();
                      self->write_next();
                    });
}

void PeerConnection::shutdown_socket() {
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void PeerConnection::close(SessionError kind, const std::string& error) {
  if (closed_) return;
  closed_ = true;
  cancel_timers();
  // Queued buffers stay until the connection dies: an aborted async_write still refers to
  // the front one.
  shutdown_socket();
  Owner* owner = owner_;
  owner_ = nullptr;
  if (owner) owner->on_closed(*this, kind, error);
}

void PeerConnection::detach() {
  owner_ = nullptr;
  if (closed_) return;
  closed_ = true;
  cancel_timers();
  // Queued buffers stay until the connection dies: an aborted async_write still refers to
  // the front one.
  shutdown_socket();
}

}  // namespace pollux::redundancy
