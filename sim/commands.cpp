// The control protocol (newline-delimited JSON, one request and one response per line) and the
// timeline, which replays the same requests at fixed times. Contract: simulator issue,
// "Interface contract"; every command answers {"ok":true,...} or {"ok":false,"error":...}.
#include <spdlog/spdlog.h>

#include "simulator.hpp"

namespace sim {

namespace {
nlohmann::json error(const std::string& e) {
  return {{"ok", false}, {"error", e}};
}
}  // namespace

nlohmann::json Simulator::handle(const nlohmann::json& req) {
  if (!req.is_object()) return error("request must be a JSON object");
  std::string cmd = req.value("cmd", req.contains("fault") ? "fault" : "");
  try {
    if (cmd == "fault") return cmd_fault(req);
    if (cmd == "clear") return cmd_clear(req);
    if (cmd == "close_port") return cmd_port(req, false);
    if (cmd == "open_port") return cmd_port(req, true);
    if (cmd == "modem") return cmd_modem(req);
    if (cmd == "set") return cmd_set(req);
    if (cmd == "get") return cmd_get(req);
    if (cmd == "resize") return cmd_resize(req);
    if (cmd == "stats") return stats();
    if (cmd == "ping") return {{"ok", true}, {"time_ms", loop_.now_ms()}};
    if (cmd == "writes") {
      auto it = devices_.find(req.value("device", ""));
      if (it == devices_.end()) return error("unknown device");
      return {{"ok", true}, {"device", it->first}, {"writes", it->second->writes_json()}};
    }
    if (cmd == "reset_stats") {
      for (auto& [id, d] : devices_)
        d->reset_stats();
      for (auto& [id, l] : lines_) {
        l->requests = l->overlaps = l->crc_errors = l->framing_errors = l->foreign = 0;
        l->overlap_times.clear();
      }
      for (auto& [id, m] : modems_) {
        m->commands.clear();
        m->inits.clear();
        m->dialed.clear();
        m->calls = nlohmann::json::array();
      }
      return {{"ok", true}};
    }
  } catch (const nlohmann::json::exception& e) {
    return error(std::string("bad field: ") + e.what());
  }
  return error("unknown cmd '" + cmd + "'");
}

nlohmann::json Simulator::cmd_fault(const nlohmann::json& req) {
  auto type = fault_from_string(req.value("fault", ""));
  if (!type)
    return error(
        "unknown fault; one of silence|delay|exception|bad_crc|garbage|"
        "wrong_unit|wrong_function|truncate|reset|refuse");
  Fault f;
  f.type = *type;
  f.ms = req.value("ms", 0);
  f.code = req.value("code", 4);
  f.bytes = req.value("bytes", 8);
  f.count = req.value("count", -1);
  f.via = req.value("via", "");
  if (f.type == FaultType::delay && f.ms <= 0) return error("delay needs ms > 0");
  if (f.type == FaultType::exception && (f.code < 1 || f.code > 255))
    return error("exception code 1..255");
  if (req.contains("duration_ms")) f.until_ms = loop_.now_ms() + req["duration_ms"].get<double>();
  if (!f.via.empty() && !lines_.count(f.via) && !servers_.count(f.via) && !modems_.count(f.via))
    return error("unknown path '" + f.via + "' in via");

  // Target: one device, or every device on one line / server / modem ("line":ID).
  std::vector<Device*> targets;
  if (req.contains("device")) {
    auto it = devices_.find(req["device"].get<std::string>());
    if (it == devices_.end()) return error("unknown device");
    targets.push_back(it->second.get());
  } else if (req.contains("line")) {
    std::string id = req["line"];
    std::vector<Route>* routes = nullptr;
    if (auto l = lines_.find(id); l != lines_.end()) routes = &l->second->routes;
    if (auto s = servers_.find(id); s != servers_.end()) routes = &s->second->routes;
    if (routes) {
      for (auto& r : *routes)
        targets.push_back(r.dev);
    } else if (auto m = modems_.find(id); m != modems_.end()) {
      for (auto& [n, rs] : m->second->numbers)
        for (auto& r : rs)
          targets.push_back(r.dev);
    } else {
      return error("unknown line '" + id + "'");
    }
    if (f.via.empty()) f.via = id;
  } else {
    return error("fault needs device or line");
  }
  for (auto* d : targets) {
    f.id = next_fault_++;
    d->add_fault(f);
  }
  if (f.until_ms >= 0) schedule_expiry(f.until_ms);
  reconcile_refuse();
  spdlog::info("fault {} on {} device(s){}", to_string(f.type), targets.size(),
               f.via.empty() ? "" : " via " + f.via);
  return {{"ok", true}, {"devices", targets.size()}};
}

nlohmann::json Simulator::cmd_clear(const nlohmann::json& req) {
  if (req.contains("modem")) {
    auto it = modems_.find(req["modem"].get<std::string>());
    if (it == modems_.end()) return error("unknown modem");
    it->second->fault.clear();
    it->second->drop_next = false;
    return {{"ok", true}};
  }
  if (req.contains("device")) {
    auto it = devices_.find(req["device"].get<std::string>());
    if (it == devices_.end()) return error("unknown device");
    it->second->clear_faults(req.value("via", ""));
  } else if (req.contains("line")) {
    for (auto& [id, d] : devices_)
      d->clear_faults(req["line"].get<std::string>());
  } else {
    for (auto& [id, d] : devices_)
      d->clear_faults();
    for (auto& [id, m] : modems_) {
      m->fault.clear();
      m->drop_next = false;
    }
  }
  reconcile_refuse();
  return {{"ok", true}};
}

nlohmann::json Simulator::cmd_port(const nlohmann::json& req, bool open) {
  std::string id = req.value("line", req.value("modem", ""));
  try {
    if (auto l = lines_.find(id); l != lines_.end()) {
      open ? open_line(*l->second) : close_line(*l->second);
      return {{"ok", true}, {"link", l->second->link}, {"open", l->second->open}};
    }
    if (auto m = modems_.find(id); m != modems_.end()) {
      open ? open_modem(*m->second) : close_modem(*m->second);
      return {{"ok", true}, {"link", m->second->link}, {"open", m->second->open}};
    }
  } catch (const std::exception& e) {
    return error(e.what());
  }
  return error("unknown line '" + id + "'");
}

nlohmann::json Simulator::cmd_modem(const nlohmann::json& req) {
  auto it = modems_.find(req.value("modem", ""));
  if (it == modems_.end()) return error("unknown modem");
  Modem& m = *it->second;
  std::string f = req.value("fault", "");
  if (f == "busy" || f == "no_carrier" || f == "no_dialtone") {
    m.fault = f;
    m.fault_count = req.value("count", -1);
    return {{"ok", true}};
  }
  if (f == "drop") {
    double after = req.value("after_ms", 0.0);
    if (m.state == Modem::State::online || m.state == Modem::State::online_command) {
      loop_.cancel(m.drop_timer);
      m.drop_timer = loop_.after_ms(after, [this, &m] {
        m.drop_timer = 0;
        modem_end_call(m, "carrier_drop", true);
      });
      return {{"ok", true}, {"in_call", true}};
    }
    m.drop_next = true;  // no call now: drop the next one after_ms after CONNECT
    m.drop_after_ms = after;
    return {{"ok", true}, {"in_call", false}};
  }
  return error("modem fault: busy|no_carrier|no_dialtone|drop");
}

nlohmann::json Simulator::cmd_set(const nlohmann::json& req) {
  auto it = devices_.find(req.value("device", ""));
  if (it == devices_.end()) return error("unknown device");
  auto table = table_from_string(req.value("table", "holding"));
  if (!table) return error("table: coil|discrete|holding|input");
  int address = req.value("address", -1);
  std::vector<uint16_t> words;
  if (req.contains("values")) {
    for (const auto& v : req["values"])
      words.push_back(static_cast<uint16_t>(v.is_boolean() ? v.get<bool>() : v.get<int64_t>()));
  } else if (req.contains("value")) {
    // Typed: {"type":"float32","word_order":"little","value":1.5}
    Encoding e;
    auto t = value_type_from_string(req.value("type", "uint16"));
    if (!t) return error("unknown type");
    e.type = *t;
    e.word_little = req.value("word_order", "big") == "little";
    e.byte_little = req.value("byte_order", "big") == "little";
    e.string_length = req.value("length", 1);
    const auto& v = req["value"];
    if (v.is_string())
      words = encode_string(e, v.get<std::string>());
    else
      words = encode(e, v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>());
  } else {
    return error("set needs values or value");
  }
  std::string err;
  if (!it->second->set(*table, address, words, &err)) return error(err);
  return {{"ok", true}, {"words", words}};
}

nlohmann::json Simulator::cmd_get(const nlohmann::json& req) {
  auto it = devices_.find(req.value("device", ""));
  if (it == devices_.end()) return error("unknown device");
  auto table = table_from_string(req.value("table", "holding"));
  if (!table) return error("table: coil|discrete|holding|input");
  it->second->refresh(loop_.now_ms());
  std::vector<int> out;
  std::string err;
  if (!it->second->get(*table, req.value("address", 0), req.value("count", 1), &out, &err))
    return error(err);
  return {{"ok", true}, {"values", out}};
}

nlohmann::json Simulator::cmd_resize(const nlohmann::json& req) {
  auto it = devices_.find(req.value("device", ""));
  if (it == devices_.end()) return error("unknown device");
  std::string err;
  if (!it->second->resize(req.value("size", 0), &err)) return error(err);
  return {{"ok", true}};
}

}  // namespace sim
