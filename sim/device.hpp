// A simulated field device: its register image (a libmodbus modbus_mapping_t shared by every
// path that reaches it), the generators that make readings change over time, the faults that
// are active on it, and what it observed (requests, faults applied, every write received).
// Serves the "Devices", "Fault injection" and "Observation" parts of the simulator issue.
#pragma once

#include <modbus/modbus.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sim {

enum class Table { coil, discrete, holding, input };
const char* to_string(Table t);
std::optional<Table> table_from_string(const std::string& s);

enum class ValueType {
  boolean,
  int16,
  uint16,
  int32,
  uint32,
  float32,
  int64,
  uint64,
  float64,
  string
};
std::optional<ValueType> value_type_from_string(const std::string& s);
int register_count(ValueType t, int string_length);

// How a value becomes registers: the config spec's word_order / byte_order rules.
struct Encoding {
  ValueType type = ValueType::uint16;
  bool word_little = false;  // low word first
  bool byte_little = false;  // bytes swapped inside each register
  int string_length = 1;     // registers, for strings
};
std::vector<uint16_t> encode(const Encoding& e, double v);
std::vector<uint16_t> encode_string(const Encoding& e, const std::string& s);

// A value that changes with time since start; `kind` static keeps `value`.
struct Generator {
  enum class Kind { constant, counter, ramp, sine } kind = Kind::constant;
  Table table = Table::holding;
  int address = 0;
  Encoding enc;
  double value = 0, start = 0, step = 1, from = 0, to = 100, mid = 0, amplitude = 1;
  double period_ms = 1000;  // counter: interval between steps
  double at(double t_ms) const;
  int width() const;  // registers or bits covered
};

enum class FaultType {
  silence,
  delay,
  exception,
  bad_crc,
  garbage,
  wrong_unit,
  wrong_function,
  truncate,
  reset,
  refuse
};
const char* to_string(FaultType f);
std::optional<FaultType> fault_from_string(const std::string& s);

struct Fault {
  FaultType type = FaultType::silence;
  int ms = 0;            // delay
  int code = 4;          // exception code
  int bytes = 8;         // garbage length
  int count = -1;        // requests left to affect; -1 = until cleared or expired
  double until_ms = -1;  // expiry on the simulator clock; -1 = none
  std::string via;       // only on this line/server/modem; empty = every path
  uint64_t id = 0;
};

struct WriteRecord {
  double wall_s;  // epoch seconds
  double t_ms;    // simulator clock (ms since start)
  std::string via;
  int function;
  Table table;
  int address;
  std::vector<int> values;
};

class Device {
 public:
  Device(std::string id, int unit, int bits, int registers);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& id() const { return id_; }
  int unit() const { return unit_; }
  modbus_mapping_t* mapping() { return map_; }

  void add_generator(const Generator& g);
  // Writes every generator's value at t_ms into the mapping (called before each reply).
  void refresh(double t_ms);
  // Operator/test write: values into a table; generators covering those addresses stop.
  bool set(Table t, int address, const std::vector<uint16_t>& values, std::string* err);
  bool get(Table t, int address, int count, std::vector<int>* out, std::string* err);
  // Every table shrinks or grows to `size` entries, keeping the values that still fit: a
  // firmware update or PLC program download changing the register map. Addresses past the end
  // answer exception 02 (libmodbus).
  bool resize(int size, std::string* err);

  // Faults: the active one of each category for a request arriving via `via` at t_ms.
  void add_fault(Fault f);
  void clear_faults(const std::string& via = {});
  std::vector<Fault>& faults() { return faults_; }
  void expire(double t_ms);

  // Observation.
  uint64_t requests = 0, responses = 0, faults_applied = 0;
  std::map<std::string, uint64_t> fault_counts;
  std::map<std::string, uint64_t> requests_by_path;
  std::vector<WriteRecord> writes;
  void note_fault(FaultType f) {
    ++faults_applied;
    ++fault_counts[to_string(f)];
  }
  nlohmann::json stats_json() const;
  nlohmann::json writes_json() const;
  void reset_stats();

 private:
  std::string id_;
  int unit_;
  modbus_mapping_t* map_;
  std::vector<Generator> gens_;
  std::vector<Fault> faults_;
};

}  // namespace sim
