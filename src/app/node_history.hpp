// The node's point history (spec/history.md) around the engine: made, remade or dropped as the
// config's `history:` section comes and goes, recording only while the node is active, and its
// parts of the API (health, GET /api/v1/history, /metrics).
//
// In a pair (history.md "Redundancy"; history/forwarding.hpp) a backup keeps what it records
// while active in its cache file and forwards it to the master whenever the peer link is up:
// with `partial` its records go only to the cache, with `full` to its own store too. The
// master writes each batch with a connection of its own, off the I/O thread, and answers once
// it is committed; the backup then deletes the batch from its cache.
//
// A change of the section's node-local keys (backend, path, url, max_size_mb) opens a new
// store: the old writer writes what it holds first (Writer::stop). Any other change (deadband,
// max_interval_s, retention, a point's `history:`) applies to the running one.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/node_api.hpp"
#include "config/model.hpp"
#include "engine/engine.hpp"
#include "history/forwarding.hpp"
#include "history/history.hpp"
#include "redundancy/messages.hpp"

namespace pollux::app {

class NodeHistory {
 public:
  NodeHistory(runtime::Executor& ex, engine::Engine& engine);
  ~NodeHistory();

  // The pair (not called on an independent node): how to reach the peer.
  struct Peer {
    std::function<void(const redundancy::Message&)> send;
    std::function<bool()> linked;  // the link is up and authenticated
  };
  void set_peer(config::RedundancyMode mode, Peer peer);
  // history_forward (master) and history_forwarded (backup).
  void on_message(const redundancy::Message& m);
  // GET /api/v1/redundancy's "history" (nullopt without history or pair).
  std::optional<api::RedundancyView::History> redundancy_view() const;

  // After the engine started, and after every config it applies (reload, config sync).
  void configure(const config::Config& cfg);
  void set_active(bool active);
  void stop();

  // "ok" / "error: ..."; nullopt without history.
  std::optional<std::string> health() const;
  void query(const api::HistoryRequest& request, std::function<void(api::HistoryAnswer)> done);
  // The pollux_history_* families (empty without history).
  std::string metrics_text() const;
  history::History* get() { return history_.get(); }

 private:
  // One store connection used off the I/O thread by one offloaded job at a time.
  struct Connection {
    history::StoreFactory open;
    std::unique_ptr<history::Store> store;
    history::Store& get() {
      if (!store) store = open();
      return *store;
    }
  };
  bool is_backup() const { return mode_ == config::RedundancyMode::backup; }
  history::StoreFactory own_store(const config::HistorySettings& h) const;
  void arm_forwarding();
  void forward_next();
  void send_batch(std::vector<history::Record> batch);
  void count_pending();
  std::uint64_t cache_queued() const;
  void on_forwarded(const redundancy::HistoryForwarded& m);
  void on_forward(const redundancy::HistoryForward& m);
  history::Coverage coverage() const;

  runtime::Executor& ex_;
  engine::Engine& engine_;
  std::unique_ptr<history::History> history_;
  std::optional<config::HistorySettings> settings_;
  config::RedundancyMode mode_ = config::RedundancyMode::independent;
  config::HistoryLevel level_ = config::HistoryLevel::partial;
  Peer peer_;
  bool active_ = false;
  // This process's start and its active intervals (the master's coverage).
  history::Millis started_at_ = 0;
  std::vector<std::pair<history::Millis, std::optional<history::Millis>>> active_log_;

  // Backup: the cache (full: filled from the recorder's tap by its own writer).
  std::unique_ptr<history::Writer> outbox_;
  std::shared_ptr<Connection> cache_;
  runtime::TimerId forward_timer_;
  bool forwarding_ = false;       // a batch is being read, or sent and not yet answered
  bool awaiting_answer_ = false;  // sent and not yet answered: given up when the link is lost
  runtime::TimePoint forward_started_{};
  std::uint64_t forward_seq_ = 0;
  std::vector<history::Record> in_flight_;  // the batch sent
  // partial: the batch's records not sent, by the master's coverage known then. The answer
  // brings the coverage as it is now: those it still covers are dropped, the others forwarded
  // later (a coverage from before the link was lost may be that of a master since restarted).
  std::vector<history::Record> held_back_;
  bool counting_ = false;  // pending_ is being counted while the link is down
  bool announced_ = false;
  std::string refusal_;  // the master's last reason for refusing a batch (logged once)
  std::optional<history::Coverage> master_coverage_;
  std::uint64_t pending_ = 0;
  std::uint64_t forwarded_ = 0;

  // Master: the connection forwarded batches are written with, and what the backup said.
  std::shared_ptr<Connection> inbox_;
  bool inbox_busy_ = false;
  std::optional<config::HistoryLevel> announced_level_;
  std::uint64_t received_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pollux::app
