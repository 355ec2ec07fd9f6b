// The peer link between master and backup (redundancy.md "Link and security") on a
// boost::asio::io_context, with every timer on runtime::Executor.
//
// MasterLink listens on `redundancy.listen`; BackupLink connects to `redundancy.master` and
// reconnects with backoff and jitter (backoff.hpp: a lost master is tried again at least every
// heartbeat_interval_ms, only authentication failures back off further). Both authenticate with the
// pre-shared key (security.hpp), drop a connection whose handshake does not finish within
// failover_timeout_ms, and treat a peer silent for failover_timeout_ms as down. The backup sends a
// heartbeat every heartbeat_interval_ms (and at once after authenticating); the master answers
// each. A second connection never displaces an authenticated backup: it is closed on arrival.
//
// The node gets link events (feed them to redundancy::Machine) and every authenticated message
// (heartbeats included), and reads status() for GET /api/v1/redundancy. All callbacks run on the
// io_context thread and never after stop().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/model.hpp"
#include "redundancy/backoff.hpp"
#include "redundancy/messages.hpp"
#include "redundancy/peer_connection.hpp"
#include "redundancy/security.hpp"
#include "runtime/executor.hpp"

namespace pollux::redundancy {

// The peer half of GET /api/v1/redundancy, plus last_error.
struct LinkStatus {
  bool connected = false;
  bool authenticated = false;
  std::string address;  // the backup's remote address (master), the master's (backup)
  std::string peer_node;
  std::optional<runtime::WallTime> last_heartbeat;
  std::optional<Activity> peer_activity;  // nullopt: "unknown"
  std::string last_error;
};

enum class LinkEventKind {
  connected,       // TCP up, handshake running
  authenticated,   // handshake done: messages flow
  auth_failed,     // the peer answered but did not prove the key (never "peer lost")
  disconnected,    // connection ended: error, silence, handshake timeout
  connect_failed,  // backup: refused, unreachable or timed out
};
std::string_view to_string(LinkEventKind k);

struct LinkEvent {
  LinkEventKind kind;
  std::string detail;  // the error, or the peer's address
};

// This node's heartbeat content.
struct LocalSummary {
  Activity activity = Activity::standby;
  std::string config_version;
  std::uint64_t state_seq = 0;
};

struct LinkCallbacks {
  std::function<void(const LinkEvent&)> on_event;
  std::function<void(const Message&)> on_message;
  std::function<LocalSummary()> local_summary;
};

struct LinkOptions {
  std::string node_name;
  RandomSource random = system_random();
  // Backup reconnect delays; zero means "from the settings": floor heartbeat_interval_ms, cap
  // failover_timeout_ms (reached only after authentication failures: a lost master is tried at
  // least every heartbeat_interval_ms whatever these say).
  runtime::Duration reconnect_floor{};
  runtime::Duration reconnect_cap{};
  double reconnect_jitter = 0.3;
  // Master: unauthenticated connections handshaking at once; more are closed on arrival.
  std::size_t max_pending = 8;
};

// "host:port" (host may be [v6]); nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& text);

class PeerLink : public std::enable_shared_from_this<PeerLink>, protected PeerConnection::Owner {
 public:
  ~PeerLink() override;
  virtual void start() = 0;
  // Closes everything and cancels every timer; no callback runs afterwards.
  virtual void stop() = 0;
  // Sends an application message to the authenticated peer; false when there is none.
  bool send(const Message& m);
  LinkStatus status() const { return status_; }
  // Reload: the link's settings from now on. A new failover_timeout_ms applies to the open
  // connection's silence watchdog; a new heartbeat interval to the next heartbeat; a new psk
  // drops the connection, which authenticates again under the new key (the peer needs it too:
  // until then the failure counts as "alive, not authenticated", never as master lost). The
  // master binds a new listen address before closing the old one (keeping the old and setting
  // last_error when it cannot); the backup reconnects to a new master address.
  virtual void update_settings(const config::RedundancySettings& settings) = 0;
  // Why `settings` cannot be applied live, or "" (the master probes a new listen address).
  virtual std::string check_settings(const config::RedundancySettings& settings) const {
    (void)settings;
    return {};
  }

 protected:
  PeerLink(boost::asio::io_context& io, runtime::Executor& executor,
           const config::RedundancySettings& settings, LinkCallbacks callbacks,
           LinkOptions options);

  void emit(LinkEventKind kind, const std::string& detail);
  void deliver(const Message& m);
  void record_heartbeat(Activity peer);
  LocalSummary local_summary() const;
  runtime::Duration timeout() const;
  bool is_active_connection(const PeerConnection& c) const { return active_.get() == &c; }
  PeerConnection::Owner* as_owner() { return this; }

  boost::asio::io_context& io_;
  runtime::Executor& executor_;
  config::RedundancySettings settings_;
  LinkCallbacks callbacks_;
  LinkOptions options_;
  std::shared_ptr<PeerConnection> active_;  // the authenticated (or, backup: current) connection
  LinkStatus status_;
  bool stopped_ = true;
  // The last connect failure logged at warn level, and when (see emit()).
  std::string last_failure_;
  runtime::TimePoint last_failure_warned_{};
  static constexpr runtime::Duration kRepeatWarn = std::chrono::seconds(10);
};

class MasterLink final : public PeerLink {
 public:
  static std::shared_ptr<MasterLink> create(boost::asio::io_context& io,
                                            runtime::Executor& executor,
                                            const config::RedundancySettings& settings,
                                            LinkCallbacks callbacks, LinkOptions options = {});
  ~MasterLink() override { stop(); }
  // Binds and listens; throws boost::system::system_error when the address is unusable.
  void start() override;
  void stop() override;
  void update_settings(const config::RedundancySettings& settings) override;
  std::string check_settings(const config::RedundancySettings& settings) const override;
  // The bound endpoint (the port is useful when listening on port 0 in tests).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  std::size_t pending_connections() const { return pending_.size(); }

 private:
  using PeerLink::PeerLink;
  void accept();
  std::unique_ptr<boost::asio::ip::tcp::acceptor> bind(const std::string& listen) const;
  void on_authenticated(PeerConnection& c) override;
  void on_message(PeerConnection& c, Message m) override;
  void on_closed(PeerConnection& c, SessionError kind, const std::string& error) override;
  void update_connected();

  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::set<std::shared_ptr<PeerConnection>> pending_;
};

class BackupLink final : public PeerLink {
 public:
  static std::shared_ptr<BackupLink> create(boost::asio::io_context& io,
                                            runtime::Executor& executor,
                                            const config::RedundancySettings& settings,
                                            LinkCallbacks callbacks, LinkOptions options = {});
  ~BackupLink() override { stop(); }
  void start() override;
  void stop() override;
  void update_settings(const config::RedundancySettings& settings) override;
  int connect_attempts() const { return attempts_; }

 private:
  BackupLink(boost::asio::io_context& io, runtime::Executor& executor,
             const config::RedundancySettings& settings, LinkCallbacks callbacks,
             LinkOptions options);
  void connect();
  // Drops a connect in progress or a pending retry (not an established session).
  void abandon_connect();
  void on_connect_result(const boost::system::error_code& ec);
  void retry_later(RetryCause why);
  void send_heartbeat();
  void on_authenticated(PeerConnection& c) override;
  void on_message(PeerConnection& c, Message m) override;
  void on_closed(PeerConnection& c, SessionError kind, const std::string& error) override;

  ReconnectBackoff backoff_;
  std::unique_ptr<boost::asio::ip::tcp::resolver> resolver_;
  std::shared_ptr<boost::asio::ip::tcp::socket> connecting_;
  runtime::TimerId connect_timer_;
  runtime::TimerId retry_timer_;
  runtime::TimerId heartbeat_timer_;
  int attempts_ = 0;
  std::uint64_t generation_ = 0;  // invalidates callbacks of an abandoned attempt
};

}  // namespace pollux::redundancy
