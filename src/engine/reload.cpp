// Reload (spec/config.md "Reload"; failover.md rule 8): the file is read and checked off the I/O
// thread, one load at a time, and applied as a difference: channels and devices whose settings
// changed are rebuilt (a device keeps its failover state), the rest run on untouched.
#include <algorithm>
#include <map>

#include "config/canonical.hpp"
#include "config/diff.hpp"
#include "engine/engine.hpp"
#include "runtime/logging.hpp"

#include <spdlog/spdlog.h>

namespace pollux::engine {

void Engine::reload(api::ReloadDone done) {
  if (!reload_source_) {
    api::ReloadOutcome out;
    out.outcome = api::Outcome::failure(400, "no configuration file to reload");
    out.version = version_;
    return done(std::move(out));
  }
  reload_waiting_.push_back(std::move(done));
  if (!reload_loading_) start_reload_load();
}

void Engine::start_reload_load() {
  reload_loading_ = true;
  auto waiting = std::make_shared<std::vector<api::ReloadDone>>(std::exchange(reload_waiting_, {}));
  auto loaded = std::make_shared<config::LoadResult>();
  const auto started = ex_.now();
  ex_.offload([source = reload_source_, loaded] { *loaded = source(); },
              [this, alive = std::weak_ptr<int>(alive_), waiting, loaded, started] {
                if (alive.expired()) return;
                const auto read = ex_.now();
                const api::ReloadOutcome out = apply_loaded(std::move(*loaded));
                spdlog::info(
                    "reload: file read and checked in {} ms off the I/O thread, {} in {} ms",
                    runtime::to_ms(read - started), out.outcome.ok() ? "applied" : "refused",
                    runtime::to_ms(ex_.now() - read));
                reload_loading_ = false;
                for (auto& done : *waiting)
                  done(out);
                if (!reload_waiting_.empty()) start_reload_load();
              });
}

api::ReloadOutcome Engine::apply_loaded(config::LoadResult result) {
  api::ReloadOutcome out;
  std::vector<std::string> vetoes;
  if (result.ok() && reload_check_) vetoes = reload_check_(*result.config);
  if (!result.ok() || !vetoes.empty()) {
    ++reload_failures_;
    for (const auto& e : result.errors)
      out.errors.push_back(e.to_string());
    for (auto& v : vetoes)
      out.errors.push_back(std::move(v));
    spdlog::error("reload refused: {} error(s); the running configuration is unchanged",
                  out.errors.size());
    for (const auto& e : out.errors)
      spdlog::error("{}", e);
    out.outcome = api::Outcome::failure(
        400, result.ok() ? "configuration cannot be applied to the running node"
                         : "invalid configuration");
    out.version = version_;
    return out;
  }
  const config::RedundancySettings before = cfg_.redundancy;
  apply(std::move(*result.config), std::move(result.version));
  if (reload_applied_) reload_applied_(before);
  out.outcome = api::Outcome::success(200);
  out.version = version_;
  return out;
}

void Engine::apply(config::Config neu, std::string version) {
  ++reloads_;
  const auto changed_ch = config::changed_channels(cfg_, neu);
  const auto removed_ch = config::removed_channels(cfg_, neu);
  const auto changed_dev = config::changed_devices(cfg_, neu);
  const auto removed_dev = config::removed_devices(cfg_, neu);
  std::map<std::string, failover::State> previous;
  for (const auto& id : removed_dev)
    unload_device(id);
  for (const auto& id : changed_dev) {
    if (DeviceSession* s = find(id)) {
      previous[id] = s->state();
      unload_device(id);
    }
  }
  for (const auto& id : removed_ch)
    remove_channel(id);
  for (const auto& id : changed_ch)
    remove_channel(id);
  cfg_.node = neu.node;
  cfg_.api = neu.api;
  cfg_.redundancy = neu.redundancy;
  for (const auto& id : changed_ch)
    if (const auto* c = neu.find_channel(id)) add_channel(*c);
  // Position of each device in the new config: where to find it, and the order of sessions_.
  std::unordered_map<std::string_view, std::size_t> position;
  for (std::size_t i = 0; i < neu.devices.size(); ++i)
    position.emplace(neu.devices[i].id, i);
  for (const auto& id : changed_dev) {
    const auto at = position.find(id);
    if (at == position.end()) continue;
    auto it = previous.find(id);
    load_device(neu.devices[at->second], it == previous.end() ? nullptr : &it->second);
  }
  // Keep sessions_ in the new config's order (every device left is in it).
  auto rank = [&](const std::unique_ptr<DeviceSession>& s) {
    const auto it = position.find(s->id());
    return it == position.end() ? position.size() : it->second;
  };
  std::stable_sort(sessions_.begin(), sessions_.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  cfg_ = std::move(neu);
  version_ = version.empty() ? config::config_version(cfg_) : std::move(version);
  connect_ahead();  // a warm standby holds the (re)loaded devices' endpoints too
  spdlog::info(
      "reload applied: version {}, {} device(s) (re)loaded, {} removed, {} channel(s) "
      "(re)opened, {} removed",
      version_, changed_dev.size(), removed_dev.size(), changed_ch.size(), removed_ch.size());
}

}  // namespace pollux::engine
