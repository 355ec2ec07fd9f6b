// The MQTT client adapter (spec/northbound.md "Sessions, outages and the pair"): one broker
// session at a time over Eclipse Paho C++, its events handed to the executor.
//
// Paho runs threads of its own. They only queue events and post one drain task to the executor
// (runtime::Executor::post, the one call safe from another thread); every handler runs on the
// executor's thread and none runs after the Client is destroyed. The adapter makes one
// connection attempt per connect() and never reconnects by itself: the Sparkplug session
// machine owns the retry policy (backoff 1 s to 10 s) and the order of births and data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/executor.hpp"

namespace pollux::mqtt {

struct TlsOptions {
  std::string ca_file{};    // the trust store: the broker's certificate must chain to it
  std::string cert_file{};  // optional client certificate (PEM)
  std::string key_file{};   // its private key (PEM)
};

struct ClientOptions {
  std::string url{};  // tcp://host:port or ssl://host:port
  std::string client_id{};
  std::string username{}, password{};  // empty: none
  std::optional<TlsOptions> tls{};     // with ssl:// (absent: the system's trust store)
  int keepalive_s = 30;
  int connect_timeout_s = 10;  // TCP + TLS + CONNACK of one attempt
};

struct Will {
  std::string topic{};  // empty: no will
  std::string payload{};
  int qos = 1;
  bool retain = false;
};

// Every handler runs on the executor's thread; an empty one is not called. A handler may
// destroy the Client: no handler of it runs afterwards.
struct Handlers {
  // CONNACK accepted and every subscription granted.
  std::function<void()> connected;
  // The attempt ended before `connected`: the broker's refusal (bad credentials, not
  // authorised), a TLS or TCP failure, a timeout, or a refused subscription.
  std::function<void(std::string reason)> connect_failed;
  // An established session ended without disconnect() (broker gone, network, keepalive).
  std::function<void(std::string reason)> connection_lost;
  std::function<void(std::string topic, std::string payload)> message;
  // Once per publish(): QoS 0 written to the socket, QoS 1 acknowledged (PUBACK); false when
  // it was not (not connected, the session ended first, the client was disconnected).
  std::function<void(std::uint64_t cookie, bool ok)> published;
  // A disconnect() has completed: the DISCONNECT went out (or the session was already gone).
  std::function<void()> disconnected;
};

class Client {
 public:
  Client(runtime::Executor& ex, ClientOptions options, Handlers handlers);
  // Disconnects (waiting at most about a second for what was published to go out, then sending
  // DISCONNECT, so the broker does not publish the will); no handler runs afterwards.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One attempt: clean session, the will set, MQTT 3.1.1. After CONNACK it subscribes to
  // `subscriptions` at QoS 1, then `connected`. A call while a session is up or an attempt is
  // under way ends it first (without a handler); one while disconnect() is under way starts
  // once the DISCONNECT has gone out, so the broker never sees the old session die uncleanly.
  void connect(Will will, std::vector<std::string> subscriptions);
  // Queues one message; `published(cookie, ok)` follows exactly once. The payload is moved into
  // the client's message. Not connected: published(cookie, false).
  void publish(std::string topic, std::string payload, int qos, std::uint64_t cookie,
               bool retain = false);
  // Clean disconnect: what was published before goes out first (QoS 1 waits up to a second for
  // its PUBACK); the broker does not send the will. Then `disconnected`.
  void disconnect();

  // Publishes not yet reported through `published`.
  std::size_t in_flight() const { return in_flight_; }
  // Between `connected` and the end of the session (connection_lost, disconnect()).
  bool connected() const { return state_ == State::connected; }
  const ClientOptions& options() const { return options_; }

  struct Event;
  class Core;
  class Attempt;

 private:
  enum class State { idle, connecting, subscribing, connected, disconnecting };

  void on_event(Event& e);
  void start_attempt(Will will, std::vector<std::string> subscriptions);
  void subscribe();
  void end_attempt();
  void fail_attempt(std::string reason);

  ClientOptions options_;
  Handlers handlers_;
  std::shared_ptr<Core> core_;
  std::unique_ptr<Attempt> attempt_;
  std::uint64_t attempt_id_ = 0;
  State state_ = State::idle;
  std::size_t in_flight_ = 0;
  std::vector<std::string> subscriptions_;
  // A connect() asked for while a disconnect() is under way.
  struct PendingConnect {
    Will will;
    std::vector<std::string> subscriptions;
  };
  std::optional<PendingConnect> pending_connect_;
};

}  // namespace pollux::mqtt
