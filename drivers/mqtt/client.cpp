// Paho facts this adapter is built around (C++ 1.2 over C 1.3.12, Debian 12), besides those
// noted where they matter below:
// - Paho calls back with its global mutex held (not recursive): is_connected() or destroying
//   a client from a callback deadlocks, and a slow callback holds up every client. Callbacks
//   only queue events here; the executor's thread makes every call into Paho.
// - Its receive thread notices a new socket only when its select() returns (up to a second):
//   each attempt takes up to a second or two longer than the network does. Publishing on an
//   established session is not affected.
// - Paho C ignores SIGPIPE for the whole process when it starts its sockets.
#include "mqtt/client.hpp"

#include <mqtt/async_client.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>

namespace pollux::mqtt {

namespace {

// Paho C refuses a publish with MQTTASYNC_MAX_BUFFERED_MESSAGES once this many wait in its
// command queue, even while connected (the C++ wrapper always passes create options, whose
// default is 100). A burst of DDATA after a poll cycle is far more than 100: the bound that
// matters is the caller's, through in_flight().
constexpr int kMaxQueued = 1 << 24;

// Paho C stops its two threads when its last client is destroyed, and the destroying thread
// (here the executor's) waits for them, up to about a second. One client that never connects
// keeps them running, so ending an attempt costs no wait. Never destroyed: at exit that would
// wait too.
void keep_paho_threads() {
  static auto* anchor = new ::mqtt::async_client("tcp://127.0.0.1:1", "pollux-paho-anchor");
  (void)anchor;
}

// The cookie travels as Paho's user context, a pointer never dereferenced: no allocation or
// lookup per publish.
void* cookie_context(std::uint64_t cookie) {
  return reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr): an opaque value
      static_cast<std::uintptr_t>(cookie));
}

std::uint64_t context_cookie(const ::mqtt::token& tok) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
}

// Paho's own message for a failed token ("TCP/TLS connect failure", "connect timeout"); the
// token keeps it private and hands it out only through the exception its getters throw.
std::string token_message(const ::mqtt::token& tok) {
  try {
    if (tok.get_type() == ::mqtt::token::Type::CONNECT) {
      (void)tok.get_connect_response();
    } else if (tok.get_type() == ::mqtt::token::Type::SUBSCRIBE) {
      (void)tok.get_subscribe_response();
    }
  } catch (const ::mqtt::exception& e) {
    if (!e.get_message().empty()) return e.get_message();
    return e.get_error_str();
  } catch (const std::exception& e) {
    return e.what();
  }
  return ::mqtt::exception::error_str(tok.get_return_code());
}

// The MQTT 3.1.1 CONNACK return codes (section 3.2.2.3).
const char* connack_text(int rc) {
  switch (rc) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized";
  }
  return nullptr;
}

std::string connect_failure(const ::mqtt::token& tok, const std::string& url) {
  const int rc = tok.get_return_code();
  if (const char* text = connack_text(rc)) {
    return std::string("broker refused the connection: ") + text + " (CONNACK " +
           std::to_string(rc) + ")";
  }
  std::string reason = token_message(tok);
  if (reason.empty()) reason = "connect failed (Paho " + std::to_string(rc) + ")";
  // Paho reports a refused TCP connection and a certificate that does not verify alike. OpenSSL's
  // own text only reaches ssl_options' error handler, whose context Paho C++ 1.2 points at the
  // copy of the options that connect() destroys on return: using it would be a use after free.
  if (url.rfind("ssl://", 0) == 0) {
    reason += " (" + url +
              ": TCP refused, or TLS failed: the broker's certificate must chain to ca_file and "
              "name the host)";
  } else {
    reason += " (" + url + ")";
  }
  return reason;
}

}  // namespace

struct Client::Event {
  enum class Kind : std::uint8_t {
    connack,
    connect_failed,
    subscribed,
    lost,
    message,
    published,
    disconnected,
  };
  Event(Kind k, std::uint64_t a, std::uint64_t c = 0) : kind(k), attempt(a), cookie(c) {}
  Kind kind;
  std::uint64_t attempt;
  std::uint64_t cookie;
  bool ok = false;
  std::string text;  // a reason, or a message's topic
  std::string payload;
};

// What Paho's threads share with the executor: a queue of events and whether a drain task is
// already posted, so a burst of completions costs one post, not one per publish.
class Client::Core : public std::enable_shared_from_this<Core> {
 public:
  explicit Core(runtime::Executor& ex) : ex_(ex) {}

  // Any thread.
  void push(Event e) {
    bool post = false;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(e));
      post = !posted_;
      posted_ = true;
    }
    if (post) ex_.post([self = shared_from_this()] { self->drain(); });
  }

  // Executor thread: the owning Client, null once it is destroyed.
  Client* owner = nullptr;

 private:
  void drain() {
    {
      std::lock_guard lock(mutex_);
      batch_.swap(queue_);
      posted_ = false;
    }
    for (auto& e : batch_) {
      if (owner == nullptr) break;
      owner->on_event(e);
    }
    batch_.clear();
  }

  runtime::Executor& ex_;
  std::mutex mutex_;
  std::vector<Event> queue_;
  std::vector<Event> batch_;  // executor thread only; keeps its capacity between drains
  bool posted_ = false;
};

// One connection attempt and the session it may become: its own Paho client, so that whatever
// Paho still holds for it (publishes queued while the connection died) is failed when it is
// destroyed instead of going out in the next session, before its births.
class Client::Attempt {
 public:
  // Completion of one kind of Paho operation, on Paho's threads: turns it into an event.
  class Listener : public ::mqtt::iaction_listener {
   public:
    Listener(Core* core, std::uint64_t id, Event::Kind kind, std::string url)
        : core_(core), id_(id), kind_(kind), url_(std::move(url)) {}

    void on_success(const ::mqtt::token& tok) override {
      Event e{kind_, id_};
      e.ok = true;
      if (kind_ == Event::Kind::published) {
        e.cookie = context_cookie(tok);
      } else if (kind_ == Event::Kind::subscribed) {
        try {
          const auto response = tok.get_subscribe_response();
          for (auto rc : response.get_reason_codes()) {
            if (rc >= 0x80) e.ok = false;
          }
        } catch (const std::exception&) {
          e.ok = false;
        }
        if (!e.ok) e.text = "broker refused a subscription";
      }
      core_->push(std::move(e));
    }

    void on_failure(const ::mqtt::token& tok) override {
      Event e{kind_, id_};
      switch (kind_) {
        case Event::Kind::published:
          e.cookie = context_cookie(tok);
          break;
        case Event::Kind::connack:
          e.kind = Event::Kind::connect_failed;
          e.text = connect_failure(tok, url_);
          break;
        case Event::Kind::subscribed:
          e.text = "subscription failed: " + token_message(tok);
          break;
        default:  // a failed DISCONNECT leaves the session gone all the same
          break;
      }
      core_->push(std::move(e));
    }

   private:
    Core* core_;
    std::uint64_t id_;
    Event::Kind kind_;
    std::string url_;
  };

  Attempt(std::shared_ptr<Core> core, std::uint64_t id, const ClientOptions& o)
      : core_(std::move(core)),
        connect_listener(core_.get(), id, Event::Kind::connack, o.url),
        subscribe_listener(core_.get(), id, Event::Kind::subscribed, o.url),
        publish_listener(core_.get(), id, Event::Kind::published, o.url),
        disconnect_listener(core_.get(), id, Event::Kind::disconnected, o.url) {
    ::mqtt::create_options create(MQTTVERSION_3_1_1);
    create.set_max_buffered_messages(kMaxQueued);
    client = std::make_unique<::mqtt::async_client>(o.url, o.client_id, create, nullptr);
    Core* c = core_.get();
    client->set_connection_lost_handler([c, id](const std::string& cause) {
      Event e{Event::Kind::lost, id};
      e.text = cause.empty() ? "connection lost" : "connection lost: " + cause;
      c->push(std::move(e));
    });
    client->set_message_callback([c, id](::mqtt::const_message_ptr m) {
      Event e{Event::Kind::message, id};
      e.ok = true;
      e.text = m->get_topic();
      e.payload = m->get_payload_str();
      c->push(std::move(e));
    });
  }

  // The listeners outlive the Paho client (declared before it): destroying it fails what it
  // still holds through them, on this thread.
  std::shared_ptr<Core> core_;
  Listener connect_listener;
  Listener subscribe_listener;
  Listener publish_listener;
  Listener disconnect_listener;
  ::mqtt::token_ptr disconnect_token;
  std::unique_ptr<::mqtt::async_client> client;
};

Client::Client(runtime::Executor& ex, ClientOptions options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      core_(std::make_shared<Core>(ex)) {
  keep_paho_threads();
  core_->owner = this;
}

Client::~Client() {
  core_->owner = nullptr;
  pending_connect_.reset();
  if (attempt_ && attempt_->client) {
    // Bounded waits on Paho's threads, which never need the executor to make progress.
    try {
      if (state_ == State::connected || state_ == State::subscribing) {
        attempt_->client->disconnect(1000)->wait_for(std::chrono::milliseconds(1500));
      } else if (state_ == State::disconnecting && attempt_->disconnect_token) {
        attempt_->disconnect_token->wait_for(std::chrono::milliseconds(1500));
      }
    } catch (const std::exception&) {
      // Gone already: destroying the client below is all that is left.
    }
  }
  attempt_.reset();
}

void Client::connect(Will will, std::vector<std::string> subscriptions) {
  if (state_ == State::disconnecting) {
    pending_connect_ = PendingConnect{std::move(will), std::move(subscriptions)};
    return;
  }
  end_attempt();
  start_attempt(std::move(will), std::move(subscriptions));
}

void Client::start_attempt(Will will, std::vector<std::string> subscriptions) {
  subscriptions_ = std::move(subscriptions);
  const std::uint64_t id = ++attempt_id_;
  state_ = State::connecting;
  try {
    attempt_ = std::make_unique<Attempt>(core_, id, options_);
    ::mqtt::connect_options co;
    co.set_mqtt_version(MQTTVERSION_3_1_1);  // no silent retry as 3.1 after a refusal
    co.set_clean_session(true);
    co.set_automatic_reconnect(false);
    co.set_keep_alive_interval(options_.keepalive_s);
    co.set_connect_timeout(options_.connect_timeout_s);
    if (!options_.username.empty()) co.set_user_name(options_.username);
    if (!options_.password.empty()) co.set_password(options_.password);
    if (!will.topic.empty()) {
      co.set_will(::mqtt::will_options(std::move(will.topic),
                                       ::mqtt::binary_ref(std::move(will.payload)), will.qos,
                                       will.retain));
    }
    if (options_.url.rfind("ssl://", 0) == 0) {
      ::mqtt::ssl_options ssl;
      if (options_.tls) {
        ssl.set_trust_store(options_.tls->ca_file);
        if (!options_.tls->cert_file.empty()) ssl.set_key_store(options_.tls->cert_file);
        if (!options_.tls->key_file.empty()) ssl.set_private_key(options_.tls->key_file);
      }
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(true);  // the certificate must name the host of the URL
      co.set_ssl(std::move(ssl));
    }
    attempt_->client->connect(std::move(co), nullptr, attempt_->connect_listener);
  } catch (const std::exception& e) {
    Event ev{Event::Kind::connect_failed, id};
    ev.text = std::string("cannot connect to ") + options_.url + ": " + e.what();
    core_->push(std::move(ev));
  }
}

void Client::subscribe() {
  try {
    auto topics = ::mqtt::string_collection::create(subscriptions_);
    ::mqtt::iasync_client::qos_collection qos(subscriptions_.size(), 1);
    attempt_->client->subscribe(topics, qos, nullptr, attempt_->subscribe_listener);
  } catch (const std::exception& e) {
    Event ev{Event::Kind::subscribed, attempt_id_};
    ev.text = std::string("subscription failed: ") + e.what();
    core_->push(std::move(ev));
  }
}

void Client::publish(std::string topic, std::string payload, int qos, std::uint64_t cookie,
                     bool retain) {
  ++in_flight_;
  if (state_ == State::connected || state_ == State::subscribing) {
    try {
      auto msg = ::mqtt::message::create(std::move(topic), std::move(payload), qos, retain);
      attempt_->client->publish(std::move(msg), cookie_context(cookie), attempt_->publish_listener);
      return;
    } catch (const std::exception&) {
      // Paho refused it (the connection went a moment ago): reported below like any other.
    }
  }
  Event e{Event::Kind::published, attempt_id_, cookie};
  core_->push(std::move(e));
}

void Client::disconnect() {
  pending_connect_.reset();
  switch (state_) {
    case State::disconnecting:
      return;
    case State::connected:
    case State::subscribing:
      state_ = State::disconnecting;
      try {
        attempt_->disconnect_token =
            attempt_->client->disconnect(1000, nullptr, attempt_->disconnect_listener);
        return;
      } catch (const std::exception&) {
        break;  // already gone: completes below
      }
    case State::idle:
    case State::connecting:
      state_ = State::disconnecting;
      break;
  }
  core_->push(Event{Event::Kind::disconnected, attempt_id_});
}

void Client::end_attempt() {
  attempt_.reset();  // fails whatever Paho still holds for it, as `published(cookie, false)`
  state_ = State::idle;
}

void Client::fail_attempt(std::string reason) {
  end_attempt();
  auto handler = handlers_.connect_failed;  // it may destroy this Client
  if (handler) handler(std::move(reason));
}

void Client::on_event(Event& e) {
  // Each handler is called through a copy (a lambda capturing a pointer or two: no allocation),
  // as it may destroy this Client; nothing here touches a member after a handler returns.
  if (e.kind == Event::Kind::published) {
    --in_flight_;
    if (auto handler = handlers_.published) handler(e.cookie, e.ok);
    return;
  }
  if (e.attempt != attempt_id_) return;  // an attempt already ended
  switch (e.kind) {
    case Event::Kind::published:
      return;
    case Event::Kind::message:
      if (auto handler = handlers_.message) handler(std::move(e.text), std::move(e.payload));
      return;
    case Event::Kind::connack:
      if (state_ != State::connecting) return;
      if (subscriptions_.empty()) {
        state_ = State::connected;
        if (auto handler = handlers_.connected) handler();
      } else {
        state_ = State::subscribing;
        subscribe();
      }
      return;
    case Event::Kind::subscribed:
      if (state_ != State::subscribing) return;
      if (!e.ok) return fail_attempt(std::move(e.text));
      state_ = State::connected;
      if (auto handler = handlers_.connected) handler();
      return;
    case Event::Kind::connect_failed:
      if (state_ != State::connecting && state_ != State::subscribing) return;
      return fail_attempt(std::move(e.text));
    case Event::Kind::lost:
      if (state_ == State::subscribing) return fail_attempt(std::move(e.text));
      if (state_ == State::connected) {
        end_attempt();
        if (auto handler = handlers_.connection_lost) handler(std::move(e.text));
        return;
      }
      if (state_ != State::disconnecting) return;
      [[fallthrough]];  // the session ended during disconnect(): as good as done
    case Event::Kind::disconnected: {
      if (state_ != State::disconnecting) return;
      end_attempt();
      auto pending = std::move(pending_connect_);
      pending_connect_.reset();
      auto handler = handlers_.disconnected;
      if (pending) start_attempt(std::move(pending->will), std::move(pending->subscriptions));
      if (handler) handler();
      return;
    }
  }
}

}  // namespace pollux::mqtt
