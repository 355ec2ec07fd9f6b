#include "redundancy/peer_link.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>

#include <stdexcept>

#include "runtime/logging.hpp"

namespace pollux::redundancy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::shared_ptr<spdlog::logger> log() {
  return runtime::named_logger("redundancy");
}

std::int64_t wall_ms(runtime::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view to_string(LinkEventKind k) {
  switch (k) {
    case LinkEventKind::connected:
      return "connected";
    case LinkEventKind::authenticated:
      return "authenticated";
    case LinkEventKind::auth_failed:
      return "auth_failed";
    case LinkEventKind::disconnected:
      return "disconnected";
    case LinkEventKind::connect_failed:
      return "connect_failed";
  }
  return "unknown";
}

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  for (char ch : text.substr(colon + 1)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(ch - '0');
    if (port > 65535) return std::nullopt;
  }
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

// ---------------------------------------------------------------------------------------------

PeerLink::PeerLink(asio::io_context& io, runtime::Executor& executor,
                   const config::RedundancySettings& settings, LinkCallbacks callbacks,
                   LinkOptions options)
    : io_(io),
      executor_(executor),
      settings_(settings),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)) {
  // An empty key is a configuration error, never "no security" (the loader rejects it too).
  if (settings_.psk.empty())
    throw std::invalid_argument("redundancy: empty pre-shared key (an empty key is an error)");
  if (!options_.random) options_.random = system_random();
}

PeerLink::~PeerLink() = default;

runtime::Duration PeerLink::timeout() const {
  return runtime::milliseconds(settings_.failover_timeout_ms);
}

bool PeerLink::send(const Message& m) {
  if (stopped_ || !active_ || !active_->authenticated()) return false;
  return active_->send(m);
}

void PeerLink::emit(LinkEventKind kind, const std::string& detail) {
  switch (kind) {
    case LinkEventKind::auth_failed:
      log()->warn("peer link: {}{}{}", detail, status_.address.empty() ? "" : " (peer ",
                  status_.address.empty() ? "" : status_.address + ")");
      break;
    case LinkEventKind::disconnected:
      log()->warn("peer link {}: {}", to_string(kind), detail);
      break;
    case LinkEventKind::connect_failed: {
      // A lost master is tried every heartbeat interval: repeat the same failure at warn level
      // only every kRepeatWarn, so hours of a down master do not flood the log.
      const auto now = executor_.now();
      const bool repeat = detail == last_failure_ && now - last_failure_warned_ < kRepeatWarn;
      if (repeat) {
        log()->debug("peer link {}: {}", to_string(kind), detail);
      } else {
        log()->warn("peer link {}: {}", to_string(kind), detail);
        last_failure_ = detail;
        last_failure_warned_ = now;
      }
      break;
    }
    default:
      log()->info("peer link {}: {}", to_string(kind), detail);
      break;
  }
  if (callbacks_.on_event) callbacks_.on_event(LinkEvent{kind, detail});
}

void PeerLink::deliver(const Message& m) {
  if (callbacks_.on_message) callbacks_.on_message(m);
}

void PeerLink::record_heartbeat(Activity peer) {
  status_.last_heartbeat = executor_.wall_now();
  status_.peer_activity = peer;
}

LocalSummary PeerLink::local_summary() const {
  return callbacks_.local_summary ? callbacks_.local_summary() : LocalSummary{};
}

// --- master ----------------------------------------------------------------------------------

std::shared_ptr<MasterLink> MasterLink::create(asio::io_context& io, runtime::Executor& executor,
                                               const config::RedundancySettings& settings,
                                               LinkCallbacks callbacks, LinkOptions options) {
  return std::shared_ptr<MasterLink>(
      new MasterLink(io, executor, settings, std::move(callbacks), std::move(options)));
}

std::unique_ptr<tcp::acceptor> MasterLink::bind(const std::string& listen) const {
  auto hp = split_host_port(listen);
  if (!hp) throw std::invalid_argument("redundancy.listen: not host:port: " + listen);
  tcp::endpoint ep(asio::ip::make_address(hp->first), hp->second);
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->open(ep.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(ep);
  acceptor->listen();
  return acceptor;
}

void MasterLink::start() {
  if (!stopped_) return;
  acceptor_ = bind(settings_.listen);
  stopped_ = false;
  log()->info("peer link: master listening on {}", settings_.listen);
  accept();
}

tcp::endpoint MasterLink::local_endpoint() const {
  return acceptor_ ? acceptor_->local_endpoint() : tcp::endpoint{};
}

void MasterLink::stop() {
  if (stopped_) return;
  stopped_ = true;
  error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  for (const auto& c : pending_)
    c->detach();
  pending_.clear();
  if (active_) active_->detach();
  active_.reset();
  status_.connected = status_.authenticated = false;
  status_.peer_activity.reset();
}

std::string MasterLink::check_settings(const config::RedundancySettings& settings) const {
  if (stopped_ || settings.listen == settings_.listen) return {};
  try {
    bind(settings.listen);  // a probe, closed at once; update_settings() binds for real
  } catch (const std::exception& e) {
    return "redundancy.listen " + settings.listen + ": cannot listen: " + e.what();
  }
  return {};
}

void MasterLink::update_settings(const config::RedundancySettings& settings) {
  const config::RedundancySettings old = settings_;
  settings_ = settings;
  if (old.failover_timeout_ms != settings_.failover_timeout_ms) {
    for (const auto& c : pending_)
      c->set_timeout(timeout());
    if (active_) active_->set_timeout(timeout());
  }
  if (!stopped_ && old.listen != settings_.listen) {
    try {
      auto fresh = bind(settings_.listen);
      error_code ignored;
      acceptor_->close(ignored);
      acceptor_ = std::move(fresh);
      log()->info("peer link: master listening on {} (was {})", settings_.listen, old.listen);
      accept();
    } catch (const std::exception& e) {
      settings_.listen = old.listen;
      status_.last_error =
          "cannot listen on the reloaded redundancy.listen: " + std::string(e.what()) +
          "; still listening on " + old.listen;
      log()->error("peer link: {}", status_.last_error);
    }
  }
  if (!stopped_ && old.psk != settings_.psk) {
    log()->warn("peer link: pre-shared key changed by reload: the backup authenticates again");
    for (const auto& c : pending_)
      c->detach();
    pending_.clear();
    if (auto keep = active_)
      keep->close(SessionError::protocol, "pre-shared key changed by reload");
    update_connected();
  }
}

void MasterLink::accept() {
  std::weak_ptr<PeerLink> weak = weak_from_this();
  acceptor_->async_accept([weak](const error_code& ec, tcp::socket socket) {
    auto base = weak.lock();
    if (!base) return;
    auto* self = static_cast<MasterLink*>(base.get());
    if (self->stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log()->warn("peer link: accept failed: {}", ec.message());
      self->accept();
      return;
    }
    error_code ep_ec;
    const auto ep = socket.remote_endpoint(ep_ec);
    const std::string remote =
        ep_ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    const bool have_backup = self->active_ && self->active_->authenticated();
    if (have_backup || self->pending_.size() >= self->options_.max_pending) {
      // Never displace an authenticated backup, and bound unauthenticated work.
      log()->warn("peer link: refused connection from {}: {}", remote,
                  have_backup ? "an authenticated backup is connected"
                              : "too many connections handshaking");
      error_code ignored;
      socket.close(ignored);
      self->accept();
      return;
    }
    auto conn =
        std::make_shared<PeerConnection>(std::move(socket), self->executor_,
                                         Session(PeerRole::master, self->settings_.psk,
                                                 self->options_.node_name, self->options_.random),
                                         self->timeout(), self->as_owner());
    self->pending_.insert(conn);
    self->status_.address = remote;
    self->update_connected();
    conn->start();
    self->emit(LinkEventKind::connected, remote);
    self->accept();
  });
}

void MasterLink::update_connected() {
  status_.connected = (active_ && active_->open()) || !pending_.empty();
  status_.authenticated = active_ && active_->authenticated();
}

void MasterLink::on_authenticated(PeerConnection& c) {
  std::shared_ptr<PeerConnection> conn;
  for (const auto& p : pending_)
    if (p.get() == &c) conn = p;
  if (!conn) return;
  pending_.erase(conn);
  if (active_) {
    // Lost the race against another authenticated connection: keep the first.
    log()->warn("peer link: closing second authenticated connection from {}", c.remote());
    conn->detach();
    return;
  }
  active_ = conn;
  status_.address = c.remote();
  status_.peer_node = c.peer_node();
  update_connected();
  emit(LinkEventKind::authenticated, c.remote());
}

void MasterLink::on_message(PeerConnection& c, Message m) {
  if (!is_active_connection(c)) return;
  if (const auto* hb = std::get_if<Heartbeat>(&m)) {
    record_heartbeat(hb->activity);
    const LocalSummary me = local_summary();
    c.send(HeartbeatAck{me.activity, me.config_version, me.state_seq, wall_ms(executor_.wall_now()),
                        hb->sent_at});
  }
  deliver(m);
}

void MasterLink::on_closed(PeerConnection& c, SessionError kind, const std::string& error) {
  status_.last_error = error;
  if (is_active_connection(c)) {
    active_.reset();
    status_.peer_activity.reset();
    update_connected();
    emit(LinkEventKind::disconnected, error);
    return;
  }
  std::shared_ptr<PeerConnection> conn;
  for (const auto& p : pending_)
    if (p.get() == &c) conn = p;
  if (conn) pending_.erase(conn);
  update_connected();
  if (active_ || !pending_.empty()) {
    // The authenticated backup, or a connection still in its handshake, is unaffected: the
    // machine must not hear "disconnected" while a backup may be about to say it is active
    // (redundancy.md transition 5). Just say why this one was dropped.
    log()->warn("peer link: dropped extra connection from {}: {}", c.remote(), error);
    return;
  }
  emit(kind == SessionError::auth ? LinkEventKind::auth_failed : LinkEventKind::disconnected,
       error);
}

// --- backup ----------------------------------------------------------------------------------

namespace {
std::uint64_t seed_from(const RandomSource& random) {
  std::uint8_t b[8] = {};
  random(b);
  std::uint64_t s = 0;
  for (auto x : b)
    s = (s << 8) | x;
  return s;
}
}  // namespace

BackupLink::BackupLink(asio::io_context& io, runtime::Executor& executor,
                       const config::RedundancySettings& settings, LinkCallbacks callbacks,
                       LinkOptions options)
    : PeerLink(io, executor, settings, std::move(callbacks), std::move(options)),
      backoff_(backup_reconnect_backoff(settings, options_.reconnect_floor, options_.reconnect_cap,
                                        options_.reconnect_jitter, seed_from(options_.random))) {
  status_.address = settings_.master;
}

std::shared_ptr<BackupLink> BackupLink::create(asio::io_context& io, runtime::Executor& executor,
                                               const config::RedundancySettings& settings,
                                               LinkCallbacks callbacks, LinkOptions options) {
  return std::shared_ptr<BackupLink>(
      new BackupLink(io, executor, settings, std::move(callbacks), std::move(options)));
}

void BackupLink::start() {
  if (!stopped_) return;
  stopped_ = false;
  connect();
}

void BackupLink::stop() {
  if (stopped_) return;
  stopped_ = true;
  abandon_connect();
  if (heartbeat_timer_) executor_.cancel(heartbeat_timer_);
  heartbeat_timer_ = {};
  if (active_) active_->detach();
  active_.reset();
  status_.connected = status_.authenticated = false;
  status_.peer_activity.reset();
}

void BackupLink::update_settings(const config::RedundancySettings& settings) {
  const config::RedundancySettings old = settings_;
  settings_ = settings;
  backoff_ = backup_reconnect_backoff(settings_, options_.reconnect_floor, options_.reconnect_cap,
                                      options_.reconnect_jitter, seed_from(options_.random));
  if (active_ && old.failover_timeout_ms != settings_.failover_timeout_ms)
    active_->set_timeout(timeout());
  if (stopped_ || (old.master == settings_.master && old.psk == settings_.psk)) return;
  status_.address = settings_.master;
  const std::string why = old.master != settings_.master
                              ? "master address changed by reload (" + settings_.master + ")"
                              : std::string("pre-shared key changed by reload");
  log()->warn("peer link: {}: connecting again", why);
  if (auto keep = active_) {
    keep->close(SessionError::protocol, why);  // on_closed() retries after the backoff floor
    return;
  }
  // Connecting or waiting to retry: start over at once with the new settings.
  abandon_connect();
  connect();
}

void BackupLink::abandon_connect() {
  ++generation_;  // callbacks of the abandoned attempt see a stale generation and do nothing
  for (auto* t : {&connect_timer_, &retry_timer_}) {
    if (*t) executor_.cancel(*t);
    *t = {};
  }
  if (resolver_) resolver_->cancel();
  if (connecting_) {
    error_code ignored;
    connecting_->close(ignored);
    connecting_.reset();
  }
}

void BackupLink::connect() {
  retry_timer_ = {};
  if (stopped_) return;
  ++attempts_;
  const std::uint64_t gen = ++generation_;
  auto hp = split_host_port(settings_.master);
  if (!hp) {
    status_.last_error = "redundancy.master: not host:port: " + settings_.master;
    emit(LinkEventKind::connect_failed, status_.last_error);
    retry_later(RetryCause::master_unreachable);
    return;
  }
  std::weak_ptr<PeerLink> weak = weak_from_this();
  connecting_ = std::make_shared<tcp::socket>(io_);
  resolver_ = std::make_unique<tcp::resolver>(io_);
  connect_timer_ = executor_.schedule_after(timeout(), [weak, gen] {
    auto base = weak.lock();
    if (!base) return;
    auto* self = static_cast<BackupLink*>(base.get());
    self->connect_timer_ = {};
    if (self->generation_ != gen || self->stopped_) return;
    self->on_connect_result(asio::error::timed_out);
  });
  resolver_->async_resolve(hp->first, std::to_string(hp->second),
                           [weak, gen](const error_code& ec, tcp::resolver::results_type results) {
                             auto base = weak.lock();
                             if (!base) return;
                             auto* self = static_cast<BackupLink*>(base.get());
                             if (self->generation_ != gen || self->stopped_) return;
                             if (ec) {
                               self->on_connect_result(ec);
                               return;
                             }
                             // The composed connect keeps using the socket until it
                             // completes, even after an abandoned attempt dropped
                             // connecting_, so its handler owns a reference.
                             auto socket = self->connecting_;
                             asio::async_connect(
                                 *socket, results,
                                 [weak, gen, socket](const error_code& ec2, const tcp::endpoint&) {
                                   auto b = weak.lock();
                                   if (!b) return;
                                   auto* s = static_cast<BackupLink*>(b.get());
                                   if (s->generation_ != gen || s->stopped_) return;
                                   s->on_connect_result(ec2);
                                 });
                           });
}

void BackupLink::on_connect_result(const error_code& ec) {
  ++generation_;  // whatever else is in flight for this attempt is now stale
  if (connect_timer_) executor_.cancel(connect_timer_);
  connect_timer_ = {};
  auto socket = std::move(connecting_);
  if (ec) {
    if (socket) {
      error_code ignored;
      socket->close(ignored);
    }
    if (resolver_) resolver_->cancel();
    status_.last_error = "connect to " + settings_.master + " failed: " +
                         (ec == asio::error::timed_out ? std::string("timed out") : ec.message());
    emit(LinkEventKind::connect_failed, status_.last_error);
    retry_later(RetryCause::master_unreachable);
    return;
  }
  Session session(PeerRole::backup, settings_.psk, options_.node_name, options_.random);
  const Bytes hello = session.start();
  active_ = std::make_shared<PeerConnection>(std::move(*socket), executor_, std::move(session),
                                             timeout(), as_owner());
  status_.connected = true;
  status_.authenticated = false;
  active_->start(&hello);
  emit(LinkEventKind::connected, settings_.master);
}

void BackupLink::retry_later(RetryCause why) {
  if (stopped_) return;
  std::weak_ptr<PeerLink> weak = weak_from_this();
  retry_timer_ = executor_.schedule_after(backoff_.next(why), [weak] {
    if (auto base = weak.lock()) static_cast<BackupLink*>(base.get())->connect();
  });
}

void BackupLink::send_heartbeat() {
  heartbeat_timer_ = {};
  if (stopped_ || !active_ || !active_->authenticated()) return;
  const LocalSummary me = local_summary();
  active_->send(
      Heartbeat{me.activity, me.config_version, me.state_seq, wall_ms(executor_.wall_now())});
  std::weak_ptr<PeerLink> weak = weak_from_this();
  heartbeat_timer_ =
      executor_.schedule_after(runtime::milliseconds(settings_.heartbeat_interval_ms), [weak] {
        if (auto base = weak.lock()) static_cast<BackupLink*>(base.get())->send_heartbeat();
      });
}

void BackupLink::on_authenticated(PeerConnection& c) {
  if (!is_active_connection(c)) return;
  backoff_.reset();
  status_.authenticated = true;
  status_.peer_node = c.peer_node();
  emit(LinkEventKind::authenticated, settings_.master);
  send_heartbeat();
}

void BackupLink::on_message(PeerConnection& c, Message m) {
  if (!is_active_connection(c)) return;
  if (const auto* ack = std::get_if<HeartbeatAck>(&m)) record_heartbeat(ack->activity);
  deliver(m);
}

void BackupLink::on_closed(PeerConnection& c, SessionError kind, const std::string& error) {
  if (!is_active_connection(c)) return;
  auto keep = active_;  // `c` stays valid until this returns
  active_.reset();
  if (heartbeat_timer_) executor_.cancel(heartbeat_timer_);
  heartbeat_timer_ = {};
  status_.connected = status_.authenticated = false;
  status_.peer_activity.reset();
  status_.last_error = error;
  const bool auth = kind == SessionError::auth;
  emit(auth ? LinkEventKind::auth_failed : LinkEventKind::disconnected, error);
  // A master that fails the handshake is alive: back off. One that went away (closed, silent,
  // protocol error) may be restarting: reach it again within a heartbeat interval.
  retry_later(auth ? RetryCause::auth_failed : RetryCause::master_unreachable);
}

}  // namespace pollux::redundancy
