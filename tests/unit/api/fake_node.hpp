// A scripted NodeApi for the HTTP layer's tests: canned views, recorded commands, and writes
// that stay pending until the test completes them (to prove the server does not block).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "api/node_api.hpp"

namespace pollux::api::testing {

// Steps `io` (the server's and the test clients' context) until `done()` or `limit` passes:
// nothing sleeps and every wait is bounded. False on the deadline.
template <class Done>
bool run_io_until(boost::asio::io_context& io, Done done,
                  std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    io.run_one_for(deadline - now);
    if (io.stopped()) io.restart();
  }
  return true;
}

// 2026-11-21T22:40:01.123Z
inline runtime::WallTime fixed_time() {
  return runtime::WallTime{std::chrono::milliseconds{1'795'300'801'123}};
}

class FakeNode : public NodeApi {
 public:
  struct PendingWrite {
    std::string device;
    std::string point;
    WriteValue value;
    std::function<void(Outcome)> done;
  };

  FakeNode() {
    health_.node = "pollux-a";
    DeviceView well;
    well.id = "WELL_01";
    well.unit = 17;
    well.active_line = 1;
    well.active_channel = "COM1";
    well.lines = {{1, "COM1", true, true, std::nullopt},
                  {2, "NET1", true, true, 300.0},
                  {3, "MODEM1", true, false, std::nullopt}};
    well.last_success = fixed_time();
    well.last_good_line = 1;
    well.stats.messages_ok = 42;
    well.stats.timeouts = 3;
    well.writable = {"PUMP_ON"};
    devices_.push_back(well);
    DeviceView tank;
    tank.id = "TANK_02";
    tank.unit = 5;
    tank.comm = CommStatus::failed;
    tank.active_channel = "COM1";
    tank.lines = {{1, "COM1", true, true, std::nullopt}};
    devices_.push_back(tank);

    points_.push_back({"WELL_01", "PRESSURE", 12.5, Quality::good, fixed_time(), ""});
    points_.push_back({"WELL_01", "PUMP_ON", true, Quality::good, fixed_time(), ""});
    points_.push_back({"TANK_02", "LEVEL", std::monostate{}, Quality::bad, std::nullopt, ""});

    channels_.push_back({"COM1",
                         "serial",
                         "modbus-rtu",
                         true,
                         ChannelStatus::ok,
                         {{"messages", 45}, {"bytes_out", 360}}});
    channels_.push_back({"NET1", "tcp", "modbus-tcp", true, ChannelStatus::ok, {}});

    events_.push_back({1, fixed_time(), "WELL_01", 1, 2, "initial_fail"});
    events_.push_back({2, fixed_time(), "WELL_01", 2, 1, "primary_recovered"});
    redundancy_.config_version = "v1-abc";
  }

  HealthView health() override {
    if (throw_in_health) throw std::runtime_error("health exploded");
    return health_;
  }
  std::vector<std::string> device_ids() override {
    std::vector<std::string> out;
    for (const auto& d : devices_)
      out.push_back(d.id);
    return out;
  }
  std::optional<DeviceView> device(const std::string& id) override {
    for (const auto& d : devices_) {
      if (d.id == id) return d;
    }
    return std::nullopt;
  }
  std::optional<std::vector<PointView>> points(const std::string& device) override {
    ++points_calls;
    if (on_points) on_points(device);
    if (!this->device(device)) return std::nullopt;
    std::vector<PointView> out;
    for (const auto& p : points_) {
      if (p.device == device) out.push_back(p);
    }
    return out;
  }
  std::vector<ChannelView> channels() override { return channels_; }
  std::vector<EventView> events(std::uint64_t since) override {
    std::vector<EventView> out;
    for (const auto& e : events_) {
      if (e.seq > since) out.push_back(e);
    }
    return out;
  }

  Outcome select_line(const std::string& id, int line) override {
    calls.push_back("line " + id + " " + std::to_string(line));
    if (standby()) return Outcome::failure(409, "node is standby");
    for (auto& d : devices_) {
      if (d.id != id) continue;
      for (const auto& l : d.lines) {
        if (l.line != line) continue;
        if (!l.usable)
          return Outcome::failure(409, "line " + std::to_string(line) + " is not usable");
        d.active_line = line;
        d.active_channel = l.channel;
        return Outcome::success();
      }
      return Outcome::failure(409, "line " + std::to_string(line) + " is not configured");
    }
    return Outcome::failure(404, "unknown device " + id);
  }
  Outcome poll_now(const std::string& id) override {
    calls.push_back("poll " + id);
    if (!device(id)) return Outcome::failure(404, "unknown device " + id);
    if (standby()) return Outcome::failure(409, "node is standby");
    return Outcome::success(202);
  }
  void write(const std::string& id, const std::string& point, const WriteValue& value,
             std::function<void(Outcome)> done) override {
    calls.push_back("write " + id + " " + point);
    if (!device(id)) return done(Outcome::failure(404, "unknown device " + id));
    if (point == "READ_ONLY") return done(Outcome::failure(400, "point READ_ONLY is not writable"));
    if (auto_complete_write) return done(*auto_complete_write);
    pending_writes.push_back({id, point, value, std::move(done)});
  }
  Outcome set_channel_enabled(const std::string& id, bool enabled) override {
    calls.push_back(std::string(enabled ? "enable " : "disable ") + id);
    if (standby()) return Outcome::failure(409, "node is standby");
    for (auto& c : channels_) {
      if (c.id == id) {
        c.enabled = enabled;
        c.status = enabled ? ChannelStatus::ok : ChannelStatus::disabled;
        return Outcome::success();
      }
    }
    return Outcome::failure(404, "unknown channel " + id);
  }
  void reload(ReloadDone done) override {
    calls.push_back("reload");
    if (hold_reload) {
      held_reloads.push_back(std::move(done));
      return;
    }
    done(reload_result);
  }
  // GET /api/v1/northbound: 404 until a test sets it.
  std::optional<NorthboundView> northbound_view;
  std::optional<NorthboundView> northbound() override { return northbound_view; }
  RedundancyView redundancy() override {
    // After a handover command, each read shows the next scripted step (the last one stays).
    if (handover_started && !handover_script.empty()) {
      redundancy_ = handover_script.front();
      handover_script.pop_front();
    }
    return redundancy_;
  }
  Outcome force_failover() override {
    calls.push_back("force-failover");
    handover_started = force_failover_result.ok();
    return force_failover_result;
  }
  Outcome recover() override {
    calls.push_back("recover");
    handover_started = true;
    return Outcome::success();
  }
  // /metrics: one part, or `metrics_parts` one per turn when set.
  std::unique_ptr<BodySource> metrics() override {
    if (metrics_parts.empty()) return whole_body("# TYPE pollux_up gauge\npollux_up 1\n");
    struct Parts final : BodySource {
      explicit Parts(std::vector<std::string> p) : parts(std::move(p)) {}
      bool done() const override { return next_part == parts.size(); }
      std::string next() override { return parts[next_part++]; }
      std::vector<std::string> parts;
      std::size_t next_part = 0;
    };
    return std::make_unique<Parts>(metrics_parts);
  }
  std::vector<std::string> metrics_parts;

  void set_standby() {
    health_.role = "backup";
    health_.activity = "standby";
  }
  bool standby() const { return health_.activity == "standby"; }

  // A large node for the sliced listings: `devices` more devices named BIG_0..., each with
  // `points_each` good points P0....
  void add_devices(int devices, int points_each) {
    for (int d = 0; d < devices; ++d) {
      DeviceView v;
      v.id = "BIG_" + std::to_string(d);
      v.lines = {{1, "NET1", true, true, std::nullopt}};
      devices_.push_back(v);
      for (int p = 0; p < points_each; ++p)
        points_.push_back({v.id, "P" + std::to_string(p), static_cast<std::int64_t>(d * 100 + p),
                           Quality::good, fixed_time(), ""});
    }
  }
  // As a reload would: the device and its points are gone.
  void remove_device(const std::string& id) {
    std::erase_if(devices_, [&](const DeviceView& d) { return d.id == id; });
    std::erase_if(points_, [&](const PointView& p) { return p.device == id; });
  }

  std::vector<std::string> calls;
  std::size_t points_calls = 0;
  std::function<void(const std::string& device)> on_points;  // called first by points()
  std::vector<PendingWrite> pending_writes;
  // When set, writes complete immediately (synchronously) with this outcome.
  std::optional<Outcome> auto_complete_write;
  ReloadOutcome reload_result{Outcome::success(), "v2-def", {}};
  // As a node still reading the file: reloads wait in held_reloads until the test answers.
  bool hold_reload = false;
  std::vector<ReloadDone> held_reloads;
  Outcome force_failover_result = Outcome::success();
  bool throw_in_health = false;
  // The redundancy view before any handover command, and what reads show after one.
  RedundancyView& redundancy_state() { return redundancy_; }
  std::deque<RedundancyView> handover_script;
  bool handover_started = false;
  DeviceView& device_state(const std::string& id) {
    for (auto& d : devices_)
      if (d.id == id) return d;
    throw std::out_of_range("no device " + id);
  }

 private:
  HealthView health_;
  std::vector<DeviceView> devices_;
  std::vector<PointView> points_;
  std::vector<ChannelView> channels_;
  std::vector<EventView> events_;
  RedundancyView redundancy_;
};

}  // namespace pollux::api::testing
