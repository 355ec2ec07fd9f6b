// Simulator::load: the YAML format documented in sim/README.md. Unknown keys are errors so a
// typo in a test's fleet fails loudly instead of silently simulating something else.
#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>

#include "simulator.hpp"

namespace sim {

namespace {

[[noreturn]] void fail(const YAML::Node& n, const std::string& msg) {
  auto m = n.Mark();
  throw std::runtime_error(std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
                           msg);
}

void check_keys(const YAML::Node& n, std::initializer_list<const char*> allowed,
                const std::string& where) {
  if (!n.IsMap()) fail(n, where + ": expected a mapping");
  for (const auto& kv : n) {
    auto k = kv.first.as<std::string>();
    bool ok = false;
    for (auto a : allowed)
      ok = ok || k == a;
    if (!ok) fail(kv.first, where + ": unknown key '" + k + "'");
  }
}

template <class T>
T get(const YAML::Node& n, const char* key, T def) {
  auto v = n[key];
  if (!v) return def;
  try {
    return v.as<T>();
  } catch (const YAML::Exception&) {
    fail(v, std::string("bad value for '") + key + "'");
  }
}

std::string req_str(const YAML::Node& n, const char* key, const std::string& where) {
  auto v = n[key];
  if (!v) fail(n, where + ": missing '" + key + "'");
  return v.as<std::string>();
}

nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    auto j = nlohmann::json::object();
    for (const auto& kv : n)
      j[kv.first.as<std::string>()] = to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    auto j = nlohmann::json::array();
    for (const auto& e : n)
      j.push_back(to_json(e));
    return j;
  }
  if (n.IsNull()) return nullptr;
  auto s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: keep as text (phone numbers)
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos);
    if (pos == s.size()) return v;
  } catch (...) {
  }
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos == s.size()) return v;
  } catch (...) {
  }
  if (s == "true") return true;
  if (s == "false") return false;
  return s;
}

Generator parse_register(const YAML::Node& r, const std::string& where) {
  check_keys(r,
             {"table", "address", "type", "word_order", "byte_order", "length", "value", "words",
              "counter", "ramp", "sine"},
             where);
  Generator g;
  auto t = table_from_string(get<std::string>(r, "table", "holding"));
  if (!t) fail(r["table"], where + ": table must be coil|discrete|holding|input");
  g.table = *t;
  g.address = get<int>(r, "address", -1);
  if (g.address < 0 || g.address > 65535) fail(r, where + ": 'address' 0..65535 required");
  bool bits = g.table == Table::coil || g.table == Table::discrete;
  auto vt = value_type_from_string(get<std::string>(r, "type", bits ? "bool" : "uint16"));
  if (!vt) fail(r["type"], where + ": unknown type");
  g.enc.type = *vt;
  auto wo = get<std::string>(r, "word_order", "big");
  auto bo = get<std::string>(r, "byte_order", "big");
  if ((wo != "big" && wo != "little") || (bo != "big" && bo != "little"))
    fail(r, where + ": word_order/byte_order must be big|little");
  g.enc.word_little = wo == "little";
  g.enc.byte_little = bo == "little";
  g.enc.string_length = get<int>(r, "length", 1);
  int kinds = !!r["value"] + !!r["counter"] + !!r["ramp"] + !!r["sine"] + !!r["words"];
  if (kinds != 1) fail(r, where + ": give exactly one of value, words, counter, ramp, sine");
  if (r["counter"]) {
    auto c = r["counter"];
    check_keys(c, {"start", "step", "interval_ms"}, where + ".counter");
    g.kind = Generator::Kind::counter;
    g.start = get<double>(c, "start", 0);
    g.step = get<double>(c, "step", 1);
    g.period_ms = get<double>(c, "interval_ms", 1000);
  } else if (r["ramp"]) {
    auto c = r["ramp"];
    check_keys(c, {"from", "to", "period_ms"}, where + ".ramp");
    g.kind = Generator::Kind::ramp;
    g.from = get<double>(c, "from", 0);
    g.to = get<double>(c, "to", 100);
    g.period_ms = get<double>(c, "period_ms", 10000);
  } else if (r["sine"]) {
    auto c = r["sine"];
    check_keys(c, {"mid", "amplitude", "period_ms"}, where + ".sine");
    g.kind = Generator::Kind::sine;
    g.mid = get<double>(c, "mid", 0);
    g.amplitude = get<double>(c, "amplitude", 1);
    g.period_ms = get<double>(c, "period_ms", 10000);
  } else if (r["value"]) {
    g.kind = Generator::Kind::constant;
    if (g.enc.type == ValueType::string) {
      g.value = 0;  // strings are written once by the caller
    } else {
      auto v = r["value"];
      if (v.Scalar() == "true" || v.Scalar() == "false")
        g.value = v.as<bool>() ? 1 : 0;
      else
        g.value = get<double>(r, "value", 0);
    }
  }
  return g;
}

std::vector<Route> parse_routes(const YAML::Node& list, const std::string& where,
                                const std::map<std::string, std::unique_ptr<Device>>& devices) {
  std::vector<Route> out;
  if (list && list.IsScalar()) {  // a single device id
    auto it = devices.find(list.as<std::string>());
    if (it == devices.end())
      fail(list, where + ": unknown device '" + list.as<std::string>() + "'");
    out.push_back({it->second.get(), it->second->unit()});
    return out;
  }
  if (!list || !list.IsSequence() || list.size() == 0)
    fail(list ? list : YAML::Node(), where + ": 'devices' must be a non-empty list");
  std::set<int> units;
  for (const auto& e : list) {
    std::string id;
    int unit = -1;
    if (e.IsScalar()) {
      id = e.as<std::string>();
    } else {
      check_keys(e, {"device", "unit"}, where + ".devices");
      id = req_str(e, "device", where);
      unit = get<int>(e, "unit", -1);
    }
    auto it = devices.find(id);
    if (it == devices.end()) fail(e, where + ": unknown device '" + id + "'");
    if (unit < 0) unit = it->second->unit();
    if (!units.insert(unit).second)
      fail(e, where + ": unit " + std::to_string(unit) + " used twice on this path");
    out.push_back({it->second.get(), unit});
  }
  return out;
}

}  // namespace

void Simulator::load(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(e.what());
  }
  check_keys(root, {"run_dir", "control", "devices", "serial", "tcp", "modems", "timeline"}, "top");
  run_dir_ = get<std::string>(root, "run_dir", "");
  if (opts_.control.empty()) opts_.control = get<std::string>(root, "control", "127.0.0.1:0");

  std::set<std::string> ids;
  auto unique = [&](const YAML::Node& n, const std::string& id) {
    if (!ids.insert(id).second) fail(n, "duplicate id '" + id + "'");
  };

  for (const auto& d : root["devices"]) {
    check_keys(d, {"id", "unit", "size", "registers"}, "device");
    auto id = req_str(d, "id", "device");
    unique(d, id);
    int unit = get<int>(d, "unit", 1);
    if (unit < 0 || unit > 255) fail(d["unit"], "device " + id + ": unit 0..255");
    std::vector<Generator> gens;
    std::vector<std::pair<Generator, std::vector<uint16_t>>> fixed;
    int need = get<int>(d, "size", 1000);
    if (need < 1 || need > 65536) fail(d["size"], "device " + id + ": size 1..65536");
    for (const auto& r : d["registers"]) {
      auto g = parse_register(r, "device " + id + " register");
      need = std::max(need, g.address + g.width());
      if (r["words"]) {
        std::vector<uint16_t> w;
        for (const auto& x : r["words"])
          w.push_back(static_cast<uint16_t>(x.as<int>()));
        need = std::max(need, g.address + static_cast<int>(w.size()));
        fixed.emplace_back(g, w);
      } else if (g.enc.type == ValueType::string && g.kind == Generator::Kind::constant) {
        fixed.emplace_back(g, encode_string(g.enc, r["value"].as<std::string>()));
      } else {
        gens.push_back(g);
      }
    }
    if (need > 65536) fail(d, "device " + id + ": registers beyond address 65535");
    auto dev = std::make_unique<Device>(id, unit, need, need);
    for (auto& [g, w] : fixed) {
      std::string err;
      dev->set(g.table, g.address, w, &err);
    }
    for (auto& g : gens)
      dev->add_generator(g);
    dev->refresh(0);
    devices_.emplace(id, std::move(dev));
  }

  for (const auto& s : root["serial"]) {
    check_keys(s,
               {"id", "link", "protocol", "baud", "parity", "data_bits", "stop_bits", "timing",
                "turnaround_ms", "gap_ms", "devices"},
               "serial");
    auto l = std::make_unique<SerialLine>();
    l->id = req_str(s, "id", "serial");
    unique(s, l->id);
    l->link = get<std::string>(s, "link", "");
    l->baud = get<int>(s, "baud", 9600);
    if (l->baud <= 0) fail(s["baud"], "serial " + l->id + ": baud > 0");
    auto parity = get<std::string>(s, "parity", "none");
    l->bits_per_char =
        1 + get<int>(s, "data_bits", 8) + (parity == "none" ? 0 : 1) + get<int>(s, "stop_bits", 1);
    l->timing = get<bool>(s, "timing", false);
    auto proto = get<std::string>(s, "protocol", "modbus-rtu");
    if (proto == "modbus-ascii" || proto == "ascii") {
      l->ascii = true;
    } else if (proto != "modbus-rtu" && proto != "rtu") {
      fail(s["protocol"], "serial " + l->id + ": protocol modbus-rtu|modbus-ascii");
    }
    l->turnaround_ms = get<double>(s, "turnaround_ms", 0);
    l->gap_ms = get<double>(s, "gap_ms", std::max(20.0, 3.5 * l->char_ms()));
    l->routes = parse_routes(s["devices"], "serial " + l->id, devices_);
    lines_.emplace(l->id, std::move(l));
  }

  for (const auto& s : root["tcp"]) {
    check_keys(s, {"id", "listen", "protocol", "devices"}, "tcp");
    auto t = std::make_unique<TcpServer>();
    t->id = req_str(s, "id", "tcp");
    unique(s, t->id);
    auto listen = get<std::string>(s, "listen", "127.0.0.1:0");
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) fail(s["listen"], "tcp " + t->id + ": listen HOST:PORT");
    t->host = listen.substr(0, colon);
    t->port = std::stoi(listen.substr(colon + 1));
    auto proto = get<std::string>(s, "protocol", "modbus-tcp");
    if (proto == "modbus-tcp" || proto == "tcp") {
      t->rtu = false;
    } else if (proto == "modbus-rtu-over-tcp" || proto == "rtu-over-tcp") {
      t->rtu = true;
    } else {
      fail(s["protocol"], "tcp " + t->id + ": protocol modbus-tcp|modbus-rtu-over-tcp");
    }
    t->routes = parse_routes(s["devices"], "tcp " + t->id, devices_);
    servers_.emplace(t->id, std::move(t));
  }

  for (const auto& s : root["modems"]) {
    check_keys(s, {"id", "link", "baud", "dial_ms", "guard_ms", "echo", "inactivity_ms", "numbers"},
               "modem");
    auto m = std::make_unique<Modem>();
    m->id = req_str(s, "id", "modem");
    unique(s, m->id);
    m->link = get<std::string>(s, "link", "");
    m->baud = get<int>(s, "baud", 9600);
    m->dial_ms = get<double>(s, "dial_ms", 500);
    m->guard_ms = get<double>(s, "guard_ms", 1000);
    m->inactivity_ms = get<double>(s, "inactivity_ms", 0);
    m->echo_default = m->echo = get<bool>(s, "echo", true);
    auto nums = s["numbers"];
    if (!nums || !nums.IsMap()) fail(s, "modem " + m->id + ": 'numbers' must map phone → devices");
    for (const auto& kv : nums) {
      auto number = kv.first.as<std::string>();
      m->numbers[number] =
          parse_routes(kv.second, "modem " + m->id + " number " + number, devices_);
    }
    modems_.emplace(m->id, std::move(m));
  }

  for (const auto& e : root["timeline"]) {
    if (!e.IsMap() || !e["at_ms"]) fail(e, "timeline: each entry needs at_ms");
    timeline_.push_back(to_json(e));
  }
}

}  // namespace sim
