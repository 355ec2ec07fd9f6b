#include "transport/tcp_link.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "modbus/error.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string Target::wire_key() const {
  if (!host.empty()) return host + ":" + std::to_string(port);
  return phone;
}

std::string_view to_string(LinkStatus s) {
  switch (s) {
    case LinkStatus::ok:
      return "ok";
    case LinkStatus::down:
      return "down";
    case LinkStatus::disabled:
      return "disabled";
  }
  return "?";
}

TcpLink::Conn::Conn(TcpLink& l, std::uint64_t seed)
    : link(l),
      socket(l.io_),
      driver(l.ex_, l.settings_.framing, *this, l.listener_, this),
      backoff(runtime::milliseconds(200), runtime::seconds(10)),
      jitter(seed) {}

namespace {
std::uint64_t next_link_id() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}
}  // namespace

TcpLink::TcpLink(asio::io_context& io, runtime::Executor& ex, TcpSettings settings)
    : io_(io),
      ex_(ex),
      settings_(std::move(settings)),
      ready_(io,
             [this](void* key, ReadinessSet::Ready r) { on_ready(*static_cast<Conn*>(key), r); }),
      id_(next_link_id()) {}

TcpLink::~TcpLink() {
  stop();
}

LinkStatus TcpLink::status() const {
  return settings_.enabled ? LinkStatus::ok : LinkStatus::disabled;
}

void TcpLink::start() {
  started_ = true;
  ready_.start();
  if (listener_ && !settings_.enabled) listener_->on_link_status(LinkStatus::disabled);
  for (auto& [key, c] : conns_)
    hold(*c);
}

void TcpLink::stop() {
  started_ = false;
  for (auto& [key, c] : conns_) {
    c->driver.abandon();  // no callbacks after stop
    track_idle(*c, true);
    if (c->hold_timer) ex_.cancel(c->hold_timer);
    c->hold_timer = {};
    close_socket(*c);
  }
  ready_.stop();
}

void TcpLink::set_enabled(bool enabled) {
  if (enabled == settings_.enabled) return;
  settings_.enabled = enabled;
  if (!enabled) {
    for (auto& [key, c] : conns_) {
      c->driver.on_wire_error(make_error_code(Errc::channel_disabled));
      close_socket(*c);
    }
  } else {
    for (auto& [key, c] : conns_)
      hold(*c);
  }
  if (listener_) listener_->on_link_status(status());
}

std::size_t TcpLink::open_connections() const {
  return not_closed_;
}

void TcpLink::set_state(Conn& c, Conn::State state) {
  const bool was_closed = c.state == Conn::State::closed;
  const bool is_closed = state == Conn::State::closed;
  if (was_closed && !is_closed) ++not_closed_;
  if (!was_closed && is_closed) --not_closed_;
  c.state = state;
  track_idle(c, false);
}

void TcpLink::track_idle(Conn& c, bool just_used) {
  const bool idle = c.state == Conn::State::open && !c.driver.busy();
  if (idle == c.is_linked()) return;
  if (!idle) return c.unlink();
  // One that just carried an exchange is the most recently used. One that opened idle was
  // opened by a hold (connect_ahead), which is worth less than a connection in use: first out.
  if (just_used)
    idle_.push_back(c);
  else
    idle_.push_front(c);
}

bool TcpLink::can_start(const Target& t) const {
  if (!settings_.enabled || !started_) return false;
  if (const Conn* c = cached_conn(t); c && c->state != Conn::State::closed)
    return !c->driver.busy();
  auto it = conns_.find(t.wire_key());
  if (it != conns_.end() && it->second->state != Conn::State::closed)
    return !it->second->driver.busy();
  if (it != conns_.end() && it->second->driver.busy()) return false;
  if (open_connections() < static_cast<std::size_t>(settings_.max_connections)) return true;
  return !idle_.empty();  // one can be evicted
}

bool TcpLink::make_room() {
  if (open_connections() < static_cast<std::size_t>(settings_.max_connections)) return true;
  if (idle_.empty()) return false;
  ++evictions_;
  close_socket(idle_.front());  // unlinks it
  return true;
}

TcpLink::Conn* TcpLink::cached_conn(const Target& t) const {
  // Connections live as long as the link. Host and port are compared so a Target copied from
  // another, then changed, is never given the other's connection.
  if (t.conn_owner != id_) return nullptr;
  Conn* c = static_cast<Conn*>(t.conn);
  return c->port == t.port && c->host == t.host ? c : nullptr;
}

TcpLink::Conn& TcpLink::conn_for(const Target& t) {
  if (Conn* c = cached_conn(t)) return *c;
  std::string key = t.wire_key();
  auto it = conns_.find(key);
  if (it == conns_.end()) {
    auto c = std::make_unique<Conn>(*this, std::hash<std::string>{}(key) ^ connects_);
    c->key = key;
    c->host = t.host;
    c->port = t.port;
    it = conns_.emplace(std::move(key), std::move(c)).first;
  }
  t.conn_owner = id_;
  t.conn = it->second.get();
  return *it->second;
}

void TcpLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  Conn& c = conn_for(*ex.target);
  c.driver.begin(ex, tag);
  track_idle(c, false);
  if (!settings_.enabled) return c.driver.fail_soon(make_error_code(Errc::channel_disabled));
  // Sent now rather than from a zero-delay timer (one timer less per message). The write
  // completes through Asio later; only a request the codec refuses at once ends the exchange
  // here, and that is reported on the next turn: listeners never run inside start_exchange.
  if (c.state == Conn::State::open) return c.driver.send_from_start();
  if (c.state == Conn::State::connecting) return;  // a held connection opening: sent when open
  if (c.retry_at && ex_.now() < *c.retry_at)
    return c.driver.fail_soon(make_error_code(Errc::connect_failed));
  if (!make_room()) return c.driver.fail_soon(make_error_code(Errc::max_connections));
  connect(c);
}

void TcpLink::connect(Conn& c) {
  set_state(c, Conn::State::connecting);
  ++connects_;
  boost::system::error_code ec;
  // A held connection opens with no exchange: its target is the one connect_ahead() named.
  const Target& target = c.driver.busy() ? *c.driver.exchange().target : *c.ahead;
  const auto addr = asio::ip::make_address(target.host, ec);
  Conn* cp = &c;
  std::weak_ptr<int> life = c.life;
  auto on_fail = [this, cp](std::error_code e) {
    ++connect_failures_;
    const auto delay = cp->backoff.next(cp->jitter.next());
    cp->retry_at = ex_.now() + delay;
    if (cp->backoff.failures() == 1)
      runtime::channel_logger(settings_.id)->warn("connect {} failed: {}", cp->key, e.message());
    close_socket(*cp);
    cp->driver.on_wire_error(e);
    hold_later(*cp);
  };
  c.connect_timer = ex_.schedule_after(settings_.connect_timeout, [cp, on_fail] {
    cp->connect_timer = {};
    on_fail(make_error_code(Errc::connect_timeout));
  });
  auto on_connect = [this, cp, life, on_fail](const boost::system::error_code& e) {
    if (life.expired() || cp->state != Conn::State::connecting) return;
    if (e) {
      if (e == asio::error::operation_aborted) return;
      if (cp->connect_timer) ex_.cancel(cp->connect_timer);
      cp->connect_timer = {};
      on_fail(make_error_code(Errc::connect_failed));
      return;
    }
    if (cp->connect_timer) ex_.cancel(cp->connect_timer);
    cp->connect_timer = {};
    on_connected(*cp);
  };
  if (!ec) {
    c.socket.async_connect(tcp::endpoint(addr, target.port), on_connect);
    return;
  }
  // A host name: resolve asynchronously (never block the I/O thread on DNS).
  auto resolver = std::make_shared<tcp::resolver>(io_);
  resolver->async_resolve(
      target.host, std::to_string(target.port),
      [cp, life, resolver, on_connect, on_fail](const boost::system::error_code& e,
                                                tcp::resolver::results_type results) {
        if (life.expired() || cp->state != Conn::State::connecting) return;
        if (e) {
          if (e != asio::error::operation_aborted) on_fail(make_error_code(Errc::connect_failed));
          return;
        }
        asio::async_connect(cp->socket, results,
                            [on_connect](const boost::system::error_code& e2,
                                         const tcp::endpoint&) { on_connect(e2); });
      });
}

void TcpLink::on_connected(Conn& c) {
  set_state(c, Conn::State::open);
  c.backoff.reset();
  c.retry_at.reset();
  boost::system::error_code ignored, ec;
  c.socket.set_option(tcp::no_delay(true), ignored);
  const int fd = c.socket.release(ec);
  if (ec || !ready_.add(fd, &c)) {
    if (!ec) ::close(fd);
    return drop(c, make_error_code(Errc::connect_failed));
  }
  c.fd = fd;
  c.driver.on_wire_opened();
  c.cut_short = false;
  c.driver.send();  // the exchange waiting for this connection, if any
}

void TcpLink::on_ready(Conn& c, ReadinessSet::Ready ready) {
  // A connection closed after its socket was reported has no socket (fd < 0): not touched. One
  // opened again since (connects complete on a later turn) finds nothing to read or send.
  if (ready.writable) on_writable(c);
  if (ready.readable) on_readable(c);
}

void TcpLink::on_readable(Conn& c) {
  if (c.fd < 0) return;
  // MSG_DONTWAIT whatever mode Asio left the socket in: the I/O thread never blocks.
  const ssize_t got = ::recv(c.fd, c.rx.data(), c.rx.size(), MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  // Reset, or EOF (the device closed its end).
  if (got <= 0) return drop(c, make_error_code(modbus::Errc::connection_reset));
  const auto n = static_cast<std::size_t>(got);
  bytes_in_ += n;
  c.driver.on_bytes({c.rx.data(), n});
  // Short: the socket is empty, and the next bytes to arrive are reported again. A full buffer
  // may have more behind it, which no new report announces: read on in a later turn, so a
  // device that floods its socket cannot hold the I/O thread. (on_bytes may have closed the
  // connection; it cannot have opened it again, connects complete on a later turn.)
  if (n < c.rx.size() || c.fd < 0) return;
  Conn* cp = &c;
  std::weak_ptr<int> life = c.life;
  asio::post(io_, [this, cp, life] {
    if (!life.expired()) on_readable(*cp);
  });
}

bool TcpLink::stream_out_of_step(std::error_code error, bool after_cut_short) const {
  if (!error || error.category() != modbus::modbus_category()) return false;
  if (after_cut_short) return true;
  if (error == modbus::Errc::wrong_echo) return false;
  const bool late_answer =
      error == modbus::Errc::timeout || error == modbus::Errc::answer_cut_short;
  return !late_answer || settings_.framing == modbus::Framing::rtu_over_tcp;
}

void TcpLink::write(Conn& c, std::span<const std::uint8_t> bytes) {
  bytes_out_ += bytes.size();
  // A request of a dozen bytes nearly always fits the socket's send buffer: sent here, it costs
  // no completion turn. What does not fit waits for room (on_writable); an error is reported on
  // a later turn: listeners never run inside start_exchange.
  ssize_t sent = -1;
  if (c.fd >= 0) sent = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && c.fd >= 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    sent = 0;
  if (sent < 0) return drop_soon(c);
  const auto done = static_cast<std::size_t>(sent);
  // A broadcast needs no answer: the driver ends it now, reported on a later turn.
  if (done == bytes.size()) return c.driver.on_written();
  c.unsent.assign(bytes.begin() + static_cast<std::ptrdiff_t>(done), bytes.end());
  if (!ready_.watch_writable(c.fd, &c, true)) drop_soon(c);
}

void TcpLink::on_writable(Conn& c) {
  if (c.fd < 0 || c.unsent.empty()) return;
  const ssize_t sent = ::send(c.fd, c.unsent.data(), c.unsent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (sent < 0) return drop(c, make_error_code(modbus::Errc::connection_reset));
  c.unsent.erase(c.unsent.begin(), c.unsent.begin() + sent);
  if (!c.unsent.empty()) return;
  ready_.watch_writable(c.fd, &c, false);
  if (c.driver.busy()) c.driver.on_written();
}

void TcpLink::drop_soon(Conn& c) {
  Conn* cp = &c;
  std::weak_ptr<int> life = c.life;
  asio::post(io_, [this, cp, life] {
    if (!life.expired() && cp->driver.busy())
      drop(*cp, make_error_code(modbus::Errc::connection_reset));
  });
}

void TcpLink::transaction_end(Conn& c, std::error_code error) {
  // A TCP stream out of step (framing error) cannot be trusted for the next answer. An MBAP
  // answer still arriving (timeout, answer_cut_short) does not put it out of step: the framer
  // keeps the partial frame, the tail completes it and it is dropped by its transaction id. An
  // RTU-over-TCP stream has no ids: after either, a late answer (or its tail, resynchronised
  // into a plausible frame) would be taken for the next request's, so it reconnects.
  // If the tail never comes, the partial frame kept for it swallows the start of the next
  // answer: a failure right after an answer cut short reconnects too.
  const bool out_of_step = stream_out_of_step(error, c.cut_short);
  c.cut_short = !out_of_step && error == modbus::Errc::answer_cut_short;
  if (out_of_step) close_socket(c);  // the driver then ends the exchange with `error`
}

void TcpLink::drop(Conn& c, std::error_code ec) {
  ++resets_;
  const auto delay = c.backoff.next(c.jitter.next());
  c.retry_at = ex_.now() + delay;
  close_socket(c);
  c.driver.on_wire_error(ec);
  hold_later(c);
}

void TcpLink::close_socket(Conn& c) {
  if (c.fd >= 0) {
    ready_.remove(c.fd);
    ::close(c.fd);
    c.fd = -1;
  }
  c.unsent.clear();
  boost::system::error_code ignored;
  if (c.socket.is_open()) {
    c.socket.cancel(ignored);
    c.socket.close(ignored);
  }
  // Outstanding handlers must not touch this connection's next life.
  c.life = std::make_shared<int>(0);
  set_state(c, Conn::State::closed);
  if (c.connect_timer) ex_.cancel(c.connect_timer);
  c.connect_timer = {};
}

// ------------------------------------------------------------------- connect ahead ---

void TcpLink::connect_ahead(std::span<const Target> targets) {
  for (auto& [key, c] : conns_) {
    c->held = false;
    if (c->hold_timer) ex_.cancel(c->hold_timer);
    c->hold_timer = {};
  }
  for (const auto& t : targets) {
    Conn& c = conn_for(t);
    c.held = true;
    if (!c.ahead) c.ahead = std::make_unique<Target>();
    *c.ahead = t;
  }
  for (auto& [key, c] : conns_)
    hold(*c);
}

void TcpLink::hold(Conn& c) {
  if (!c.held || !started_ || !settings_.enabled || c.driver.busy() ||
      c.state != Conn::State::closed || c.hold_timer)
    return;
  if (c.retry_at && ex_.now() < *c.retry_at) return hold_later(c);
  // A hold never evicts: an idle connection kept for a takeover is worth less than one in use.
  if (open_connections() >= static_cast<std::size_t>(settings_.max_connections)) return;
  connect(c);
}

void TcpLink::hold_later(Conn& c) {
  if (!c.held || !started_ || c.hold_timer) return;
  const auto now = ex_.now();
  const auto at = c.retry_at && *c.retry_at > now ? *c.retry_at : now;
  Conn* cp = &c;
  c.hold_timer = ex_.schedule_at(at, [this, cp] {
    cp->hold_timer = {};
    hold(*cp);
  });
}

std::vector<std::pair<std::string, std::uint64_t>> TcpLink::stats() const {
  return {{"connections", open_connections()},
          {"connects", connects_},
          {"connect_failures", connect_failures_},
          {"resets", resets_},
          {"bytes_in", bytes_in_},
          {"bytes_out", bytes_out_},
          {"evictions", evictions_}};
}

}  // namespace pollux::transport
