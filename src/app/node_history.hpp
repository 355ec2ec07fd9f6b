// The node's point history (spec/history.md) around the engine: made, remade or dropped as the
// config's `history:` section comes and goes, recording only while the node is active, and its
// parts of the API (health, GET /api/v1/history, /metrics).
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
#include "history/history.hpp"

namespace pollux::app {

class NodeHistory {
 public:
  NodeHistory(runtime::Executor& ex, engine::Engine& engine);

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
  runtime::Executor& ex_;
  engine::Engine& engine_;
  std::unique_ptr<history::History> history_;
  std::optional<config::HistorySettings> settings_;
  bool active_ = false;
};

}  // namespace pollux::app
