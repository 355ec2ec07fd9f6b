// Readable gtest failure messages for the plain Sparkplug payload types.
#pragma once

#include <ostream>

#include "northbound/payload.hpp"
#include "points/value.hpp"

namespace pollux::northbound {

inline void PrintTo(const MetricValue& v, std::ostream* os) {
  static constexpr const char* kinds[] = {"null", "bool", "int64", "uint64", "double", "string"};
  *os << kinds[v.index()] << " " << points::to_string(v);
}

inline void PrintTo(const Metric& m, std::ostream* os) {
  *os << "{name '" << m.name << "'";
  if (m.alias) *os << " alias " << *m.alias;
  *os << " " << to_string(m.type) << " ts " << m.timestamp << " value ";
  PrintTo(m.value, os);
  if (m.quality) *os << " quality " << *m.quality;
  if (m.historical) *os << " historical";
  *os << "}";
}

inline void PrintTo(const Payload& p, std::ostream* os) {
  *os << "{ts " << p.timestamp << " seq " << (p.seq ? std::to_string(*p.seq) : "none");
  for (const Metric& m : p.metrics) {
    *os << " ";
    PrintTo(m, os);
  }
  *os << "}";
}

}  // namespace pollux::northbound
