// The broker as a liveness path (spec/redundancy.md "Partitions", second bullet): a standby
// watches its own Edge Node's NBIRTH and NDEATH on the broker, and while the last NBIRTH has no
// NDEATH after it the peer's Sparkplug session is alive and the standby does not take over.
// northbound::EdgeNodeLiveness decides; this is its MQTT session.
//
// The watch session is a second MQTT client beside the publishing one: the same URL,
// credentials, TLS and keepalive (mqtt_client_options), client id "<resolved id>-watch" so the
// broker does not take the publishing session's place for it, no will (nothing must look like
// the Edge Node dying when the watcher goes), subscriptions to spBv1.0/{group}/NBIRTH/{edge} and
// spBv1.0/{group}/NDEATH/{edge}. A failed attempt or a lost session is retried after a backoff
// of 1 s doubling to 10 s (with jitter) on the executor; a session that came up resets it.
//
// The broker keeps no NBIRTH (Sparkplug: QoS 0, not retained), so a watch session that comes up
// after the peer's birth would see nothing until the peer's next session. Each time the watch
// session comes up without knowing a session alive it asks for a birth: NCMD
// spBv1.0/{group}/NCMD/{edge} with Node Control/Rebirth = true, which a live Pollux session
// answers with its NBIRTH (same bdSeq) and DBIRTHs, and which a session that is not live (this
// node's own standby session) ignores. set_ask_rebirth(false) turns this off.
//
// configure() after every config the node applies: nullopt stops the watch and reports not
// alive; changed mqtt settings, client id (node name) or Sparkplug ids make a new session;
// anything else keeps the one there is. on_change runs on the executor, only when alive()
// changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "mqtt/client.hpp"
#include "northbound/liveness.hpp"
#include "runtime/backoff.hpp"
#include "runtime/executor.hpp"

namespace pollux::app {

class BrokerWatch {
 public:
  struct Status {
    bool configured = false;  // northbound is configured: the path exists
    bool connected = false;   // the watch session is up, its subscriptions granted
    bool alive = false;       // the Edge Node's session is alive, as the broker shows it
    std::optional<std::uint64_t> bd_seq;          // the alive session's
    std::optional<runtime::WallTime> last_heard;  // the last NBIRTH/NDEATH taken
    std::string last_error;  // why the last attempt failed or the session was lost
  };

  static constexpr runtime::Duration kRetryFloor = runtime::seconds(1);
  static constexpr runtime::Duration kRetryCap = runtime::seconds(10);
  // Appended to the publishing session's client id.
  static constexpr const char* kClientIdSuffix = "-watch";

  BrokerWatch(runtime::Executor& ex, std::function<void(bool alive)> on_change);
  ~BrokerWatch();
  BrokerWatch(const BrokerWatch&) = delete;
  BrokerWatch& operator=(const BrokerWatch&) = delete;

  void configure(const std::optional<config::NorthboundSettings>& settings,
                 const std::string& node_name);
  // Ends the watch (clean disconnect) and reports not alive; configure() starts it again.
  void stop();
  // Whether the watch session asks for a birth each time it comes up not knowing a session
  // alive (default true).
  void set_ask_rebirth(bool ask) { ask_rebirth_ = ask; }
  // Asks for a birth now (NCMD Node Control/Rebirth): for a caller that wants a fresh answer,
  // e.g. when every peer link has gone silent. False when the watch session is not up.
  bool request_rebirth();

  bool alive() const { return tracker_ && tracker_->alive(); }
  Status status() const;
  const northbound::EdgeNodeLiveness* tracker() const { return tracker_.get(); }

 private:
  void make_client();
  void connect();
  void retry();
  void on_connected();
  void on_lost(std::string reason);
  void on_message(const std::string& topic, const std::string& payload);
  void retire_client();
  // After any tracker input: keeps last_heard's wall time and reports a change.
  void note(bool changed);

  runtime::Executor& ex_;
  std::function<void(bool)> on_change_;
  bool ask_rebirth_ = true;
  std::optional<config::NorthboundSettings> settings_;
  std::string client_id_;
  std::unique_ptr<northbound::EdgeNodeLiveness> tracker_;
  std::unique_ptr<mqtt::Client> client_;
  // Each client's handlers act only while it is the current one (its generation); retired
  // clients finish their DISCONNECT and are then destroyed.
  std::uint64_t generation_ = 0;
  std::vector<std::pair<std::uint64_t, std::unique_ptr<mqtt::Client>>> retiring_;
  runtime::Backoff backoff_{kRetryFloor, kRetryCap};
  runtime::Jitter jitter_;
  runtime::TimerId retry_timer_;
  std::optional<runtime::TimePoint> heard_at_;  // the tracker's last_heard() when last noted
  std::optional<runtime::WallTime> last_heard_wall_;
  std::string last_error_;
  std::uint64_t next_cookie_ = 0;
};

}  // namespace pollux::app
