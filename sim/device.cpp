#include "device.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace sim {

const char* to_string(Table t) {
  switch (t) {
    case Table::coil:
      return "coil";
    case Table::discrete:
      return "discrete";
    case Table::holding:
      return "holding";
    case Table::input:
      return "input";
  }
  return "?";
}

std::optional<Table> table_from_string(const std::string& s) {
  if (s == "coil") return Table::coil;
  if (s == "discrete") return Table::discrete;
  if (s == "holding") return Table::holding;
  if (s == "input") return Table::input;
  return std::nullopt;
}

std::optional<ValueType> value_type_from_string(const std::string& s) {
  static const std::map<std::string, ValueType> m = {
      {"bool", ValueType::boolean}, {"int16", ValueType::int16},   {"uint16", ValueType::uint16},
      {"int32", ValueType::int32},  {"uint32", ValueType::uint32}, {"float32", ValueType::float32},
      {"int64", ValueType::int64},  {"uint64", ValueType::uint64}, {"float64", ValueType::float64},
      {"string", ValueType::string}};
  auto it = m.find(s);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

int register_count(ValueType t, int string_length) {
  switch (t) {
    case ValueType::boolean:
    case ValueType::int16:
    case ValueType::uint16:
      return 1;
    case ValueType::int32:
    case ValueType::uint32:
    case ValueType::float32:
      return 2;
    case ValueType::int64:
    case ValueType::uint64:
    case ValueType::float64:
      return 4;
    case ValueType::string:
      return string_length;
  }
  return 1;
}

namespace {

// Double to a two's complement 64-bit pattern without undefined conversions: integer types
// wrap at their width like a real device's counter does.
uint64_t to_bits64(double v) {
  if (!std::isfinite(v)) return 0;
  v = std::round(v);
  if (v >= 18446744073709549568.0) return UINT64_MAX;
  if (v >= 9223372036854774784.0) return static_cast<uint64_t>(v);
  if (v <= -9223372036854775808.0) return static_cast<uint64_t>(INT64_MIN);
  return static_cast<uint64_t>(static_cast<int64_t>(v));
}

std::vector<uint16_t> finish(const Encoding& e, std::vector<uint16_t> w) {
  if (e.word_little) std::reverse(w.begin(), w.end());
  if (e.byte_little)
    for (auto& x : w)
      x = static_cast<uint16_t>((x >> 8) | (x << 8));
  return w;
}

}  // namespace

std::vector<uint16_t> encode(const Encoding& e, double v) {
  std::vector<uint16_t> w;
  switch (e.type) {
    case ValueType::boolean:
      w = {static_cast<uint16_t>(v != 0 ? 1 : 0)};
      break;
    case ValueType::int16:
    case ValueType::uint16:
      w = {static_cast<uint16_t>(to_bits64(v))};
      break;
    case ValueType::int32:
    case ValueType::uint32: {
      auto b = static_cast<uint32_t>(to_bits64(v));
      w = {static_cast<uint16_t>(b >> 16), static_cast<uint16_t>(b)};
      break;
    }
    case ValueType::float32: {
      auto b = std::bit_cast<uint32_t>(static_cast<float>(v));
      w = {static_cast<uint16_t>(b >> 16), static_cast<uint16_t>(b)};
      break;
    }
    case ValueType::int64:
    case ValueType::uint64:
    case ValueType::float64: {
      uint64_t b = e.type == ValueType::float64 ? std::bit_cast<uint64_t>(v) : to_bits64(v);
      w = {static_cast<uint16_t>(b >> 48), static_cast<uint16_t>(b >> 32),
           static_cast<uint16_t>(b >> 16), static_cast<uint16_t>(b)};
      break;
    }
    case ValueType::string:
      return encode_string(e, std::to_string(v));
  }
  return finish(e, std::move(w));
}

std::vector<uint16_t> encode_string(const Encoding& e, const std::string& s) {
  std::vector<uint16_t> w(static_cast<size_t>(std::max(1, e.string_length)), 0);
  for (size_t i = 0; i < s.size() && i / 2 < w.size(); ++i) {
    auto c = static_cast<uint8_t>(s[i]);
    w[i / 2] |= (i % 2 == 0) ? static_cast<uint16_t>(c << 8) : c;
  }
  // Strings: word_order does not apply (characters run in address order); byte_order does.
  Encoding only_bytes = e;
  only_bytes.word_little = false;
  return finish(only_bytes, std::move(w));
}

double Generator::at(double t_ms) const {
  switch (kind) {
    case Kind::constant:
      return value;
    case Kind::counter:
      return start + step * std::floor(t_ms / std::max(1.0, period_ms));
    case Kind::ramp: {
      double p = std::fmod(t_ms, std::max(1.0, period_ms)) / std::max(1.0, period_ms);
      return from + (to - from) * p;
    }
    case Kind::sine:
      return mid + amplitude * std::sin(2 * std::numbers::pi * t_ms / std::max(1.0, period_ms));
  }
  return value;
}

int Generator::width() const {
  if (table == Table::coil || table == Table::discrete) return 1;
  return register_count(enc.type, enc.string_length);
}

Device::Device(std::string id, int unit, int bits, int registers)
    : id_(std::move(id)), unit_(unit), map_(modbus_mapping_new(bits, bits, registers, registers)) {
  if (!map_) throw std::runtime_error("modbus_mapping_new failed");
}

Device::~Device() {
  modbus_mapping_free(map_);
}

void Device::add_generator(const Generator& g) {
  gens_.push_back(g);
}

namespace {
void put(modbus_mapping_t* m, Table t, int address, const std::vector<uint16_t>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    int a = address + static_cast<int>(i);
    switch (t) {
      case Table::coil:
        if (a < m->nb_bits) m->tab_bits[a] = v[i] ? 1 : 0;
        break;
      case Table::discrete:
        if (a < m->nb_input_bits) m->tab_input_bits[a] = v[i] ? 1 : 0;
        break;
      case Table::holding:
        if (a < m->nb_registers) m->tab_registers[a] = v[i];
        break;
      case Table::input:
        if (a < m->nb_input_registers) m->tab_input_registers[a] = v[i];
        break;
    }
  }
}
int table_size(modbus_mapping_t* m, Table t) {
  switch (t) {
    case Table::coil:
      return m->nb_bits;
    case Table::discrete:
      return m->nb_input_bits;
    case Table::holding:
      return m->nb_registers;
    case Table::input:
      return m->nb_input_registers;
  }
  return 0;
}
}  // namespace

void Device::refresh(double t_ms) {
  for (const auto& g : gens_) {
    double v = g.at(t_ms);
    if (g.table == Table::coil || g.table == Table::discrete) {
      // Bits: a counter toggles (odd step count = 1); other kinds are on when non-zero.
      bool on = g.kind == Generator::Kind::counter ? (to_bits64(v) & 1) != 0 : v != 0;
      put(map_, g.table, g.address, {static_cast<uint16_t>(on)});
    } else {
      put(map_, g.table, g.address, encode(g.enc, v));
    }
  }
}

bool Device::set(Table t, int address, const std::vector<uint16_t>& values, std::string* err) {
  int size = table_size(map_, t);
  if (address < 0 || address + static_cast<int>(values.size()) > size) {
    *err = "address range outside the " + std::string(to_string(t)) + " table (size " +
           std::to_string(size) + ")";
    return false;
  }
  int end = address + static_cast<int>(values.size());
  std::erase_if(gens_, [&](const Generator& g) {
    return g.table == t && g.address < end && g.address + g.width() > address;
  });
  put(map_, t, address, values);
  return true;
}

bool Device::resize(int size, std::string* err) {
  if (size < 1 || size > 65536) {
    *err = "size must be 1..65536";
    return false;
  }
  modbus_mapping_t* fresh = modbus_mapping_new(size, size, size, size);
  if (!fresh) {
    *err = "modbus_mapping_new failed";
    return false;
  }
  const auto keep = [size](int n) { return static_cast<std::size_t>(std::min(n, size)); };
  std::copy_n(map_->tab_bits, keep(map_->nb_bits), fresh->tab_bits);
  std::copy_n(map_->tab_input_bits, keep(map_->nb_input_bits), fresh->tab_input_bits);
  std::copy_n(map_->tab_registers, keep(map_->nb_registers), fresh->tab_registers);
  std::copy_n(map_->tab_input_registers, keep(map_->nb_input_registers),
              fresh->tab_input_registers);
  modbus_mapping_free(map_);
  map_ = fresh;
  return true;
}

bool Device::get(Table t, int address, int count, std::vector<int>* out, std::string* err) {
  int size = table_size(map_, t);
  if (address < 0 || count < 1 || address + count > size) {
    *err = "address range outside the table";
    return false;
  }
  for (int a = address; a < address + count; ++a) {
    switch (t) {
      case Table::coil:
        out->push_back(map_->tab_bits[a]);
        break;
      case Table::discrete:
        out->push_back(map_->tab_input_bits[a]);
        break;
      case Table::holding:
        out->push_back(map_->tab_registers[a]);
        break;
      case Table::input:
        out->push_back(map_->tab_input_registers[a]);
        break;
    }
  }
  return true;
}

const char* to_string(FaultType f) {
  switch (f) {
    case FaultType::silence:
      return "silence";
    case FaultType::delay:
      return "delay";
    case FaultType::exception:
      return "exception";
    case FaultType::bad_crc:
      return "bad_crc";
    case FaultType::garbage:
      return "garbage";
    case FaultType::wrong_unit:
      return "wrong_unit";
    case FaultType::wrong_function:
      return "wrong_function";
    case FaultType::truncate:
      return "truncate";
    case FaultType::reset:
      return "reset";
    case FaultType::refuse:
      return "refuse";
  }
  return "?";
}

std::optional<FaultType> fault_from_string(const std::string& s) {
  for (auto f : {FaultType::silence, FaultType::delay, FaultType::exception, FaultType::bad_crc,
                 FaultType::garbage, FaultType::wrong_unit, FaultType::wrong_function,
                 FaultType::truncate, FaultType::reset, FaultType::refuse})
    if (s == to_string(f)) return f;
  return std::nullopt;
}

void Device::add_fault(Fault f) {
  // One fault of a type per path scope: a new one replaces the old (the operator changed it).
  std::erase_if(faults_, [&](const Fault& x) { return x.type == f.type && x.via == f.via; });
  faults_.push_back(std::move(f));
}

void Device::clear_faults(const std::string& via) {
  std::erase_if(faults_, [&](const Fault& f) { return via.empty() || f.via == via; });
}

void Device::expire(double t_ms) {
  std::erase_if(faults_, [&](const Fault& f) {
    return (f.until_ms >= 0 && t_ms >= f.until_ms) || f.count == 0;
  });
}

nlohmann::json Device::writes_json() const {
  auto a = nlohmann::json::array();
  for (const auto& w : writes)
    a.push_back({{"time", w.wall_s},
                 {"t_ms", w.t_ms},
                 {"via", w.via},
                 {"function", w.function},
                 {"table", to_string(w.table)},
                 {"address", w.address},
                 {"values", w.values}});
  return a;
}

nlohmann::json Device::stats_json() const {
  auto active = nlohmann::json::array();
  for (const auto& f : faults_) {
    if (f.count == 0) continue;  // used up; removed at the next request
    nlohmann::json j = {{"fault", to_string(f.type)}};
    if (!f.via.empty()) j["via"] = f.via;
    if (f.count >= 0) j["count"] = f.count;
    active.push_back(j);
  }
  return {{"unit", unit_},           {"requests", requests},
          {"responses", responses},  {"faults_applied", faults_applied},
          {"faults", fault_counts},  {"requests_by_path", requests_by_path},
          {"active_faults", active}, {"writes", writes_json()}};
}

void Device::reset_stats() {
  requests = responses = faults_applied = 0;
  fault_counts.clear();
  requests_by_path.clear();
  writes.clear();
}

}  // namespace sim
