#include "app/broker_watch.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "app/northbound_mqtt.hpp"
#include "northbound/encoder.hpp"
#include "northbound/session.hpp"

namespace pollux::app {

namespace nb = pollux::northbound;

namespace {

std::uint64_t seed_of(const runtime::Executor& ex) {
  return static_cast<std::uint64_t>(ex.wall_now().time_since_epoch().count()) ^
         0x5bd1e9955bd1e995ull;
}

}  // namespace

BrokerWatch::BrokerWatch(runtime::Executor& ex, std::function<void(bool alive)> on_change)
    : ex_(ex), on_change_(std::move(on_change)), jitter_(seed_of(ex)) {}

BrokerWatch::~BrokerWatch() {
  on_change_ = nullptr;  // the owner is being torn down: nothing to tell it
  stop();
  retiring_.clear();  // waits (bounded) for their DISCONNECTs here
}

void BrokerWatch::configure(const std::optional<config::NorthboundSettings>& settings,
                            const std::string& node_name) {
  if (!settings) {
    stop();
    settings_.reset();
    tracker_.reset();
    heard_at_.reset();
    last_heard_wall_.reset();
    last_error_.clear();
    return;
  }
  const std::string client_id = settings->resolved_client_id(node_name) + kClientIdSuffix;
  const auto& sp = settings->sparkplug;
  const bool same = client_ && settings_ && settings_->mqtt == settings->mqtt &&
                    client_id_ == client_id && settings_->sparkplug.group_id == sp.group_id &&
                    settings_->sparkplug.edge_node_id == sp.edge_node_id;
  settings_ = settings;
  client_id_ = client_id;
  if (same) return;
  if (!tracker_) {
    tracker_ = std::make_unique<nb::EdgeNodeLiveness>(sp.group_id, sp.edge_node_id);
  } else {
    // The old session's view ends with it; new ids forget what the old topics said.
    retire_client();
    note(tracker_->on_connection_lost(ex_.now()));
    note(tracker_->set_ids(sp.group_id, sp.edge_node_id, ex_.now()));
  }
  make_client();
  backoff_.reset();
  connect();
}

void BrokerWatch::stop() {
  if (retry_timer_) ex_.cancel(retry_timer_);
  retry_timer_ = {};
  retire_client();
  if (tracker_) note(tracker_->on_connection_lost(ex_.now()));
}

void BrokerWatch::retire_client() {
  if (client_) {
    client_->disconnect();
    retiring_.emplace_back(generation_, std::move(client_));
  }
  ++generation_;
  if (retry_timer_) ex_.cancel(retry_timer_);
  retry_timer_ = {};
}

void BrokerWatch::make_client() {
  mqtt::ClientOptions co = mqtt_client_options(*settings_, "");
  co.client_id = client_id_;
  const std::uint64_t gen = ++generation_;
  const auto current = [this, gen] { return gen == generation_ && client_ != nullptr; };
  mqtt::Handlers h;
  h.connected = [this, current] {
    if (current()) on_connected();
  };
  h.connect_failed = [this, current](std::string reason) {
    if (current()) on_lost(std::move(reason));
  };
  h.connection_lost = [this, current](std::string reason) {
    if (current()) on_lost(std::move(reason));
  };
  h.message = [this, current](std::string topic, std::string payload) {
    if (current()) on_message(topic, payload);
  };
  h.disconnected = [this, gen] {
    std::erase_if(retiring_, [gen](const auto& r) { return r.first == gen; });
  };
  client_ = std::make_unique<mqtt::Client>(ex_, std::move(co), std::move(h));
}

void BrokerWatch::connect() {
  if (!client_ || !tracker_) return;
  // No will: the watcher going away says nothing about the Edge Node.
  client_->connect(mqtt::Will{}, {tracker_->nbirth_topic(), tracker_->ndeath_topic()});
}

void BrokerWatch::retry() {
  if (retry_timer_ || !client_) return;
  const runtime::Duration delay = backoff_.next(jitter_.next());
  retry_timer_ = ex_.schedule_after(delay, [this, gen = generation_] {
    retry_timer_ = {};
    if (gen == generation_) connect();
  });
}

void BrokerWatch::on_connected() {
  backoff_.reset();
  spdlog::info("broker watch: connected to {} as {}, watching {}", settings_->mqtt.url, client_id_,
               tracker_->nbirth_topic());
  last_error_.clear();
  note(tracker_->on_connected(ex_.now()));
  if (!tracker_->alive() && ask_rebirth_) request_rebirth();
}

void BrokerWatch::on_lost(std::string reason) {
  if (reason != last_error_)
    spdlog::warn("broker watch: {}: {} (retrying)", settings_->mqtt.url, reason);
  last_error_ = std::move(reason);
  note(tracker_->on_connection_lost(ex_.now()));
  retry();
}

void BrokerWatch::on_message(const std::string& topic, const std::string& payload) {
  note(tracker_->on_message(topic, payload, ex_.now()));
}

// The NCMD a Sparkplug host sends for a rebirth: a live session answers with its births.
bool BrokerWatch::request_rebirth() {
  if (!client_ || !client_->connected() || !settings_) return false;
  const auto wall_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ex_.wall_now().time_since_epoch())
          .count());
  nb::Payload p;
  p.timestamp = wall_ms;
  nb::Metric m;
  m.name = std::string(nb::kRebirthMetric);
  m.type = nb::DataType::boolean;
  m.timestamp = wall_ms;
  m.value = true;
  p.metrics.push_back(std::move(m));
  const auto& sp = settings_->sparkplug;
  client_->publish(nb::topic(sp.group_id, nb::MessageType::ncmd, sp.edge_node_id), nb::encode(p), 0,
                   ++next_cookie_);
  return true;
}

void BrokerWatch::note(bool changed) {
  if (tracker_ && tracker_->last_heard() != heard_at_) {
    heard_at_ = tracker_->last_heard();
    if (!heard_at_) {
      last_heard_wall_.reset();
    } else {
      // The tracker is fed as messages arrive, so its time is now (give or take a turn).
      last_heard_wall_ = ex_.wall_now() - (ex_.now() - *heard_at_);
    }
  }
  if (!changed) return;
  const bool alive = tracker_->alive();
  if (alive) {
    spdlog::info("broker watch: {} alive (bdSeq {})", tracker_->nbirth_topic(),
                 tracker_->bd_seq().value_or(0));
  } else {
    spdlog::info("broker watch: {} not alive", tracker_->nbirth_topic());
  }
  if (on_change_) on_change_(alive);
}

BrokerWatch::Status BrokerWatch::status() const {
  Status s;
  s.configured = settings_.has_value();
  if (!tracker_) return s;
  s.connected = tracker_->connected();
  s.alive = tracker_->alive();
  s.bd_seq = tracker_->bd_seq();
  s.last_heard = last_heard_wall_;
  s.last_error = last_error_;
  return s;
}

}  // namespace pollux::app
