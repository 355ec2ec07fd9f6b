#include "config/model.hpp"

#include <algorithm>

namespace pollux::config {

std::string_view to_string(ChannelType v) {
  switch (v) {
    case ChannelType::serial:
      return "serial";
    case ChannelType::modem:
      return "modem";
    case ChannelType::tcp:
      return "tcp";
  }
  return "?";
}

std::string_view to_string(Protocol v) {
  switch (v) {
    case Protocol::modbus_rtu:
      return "modbus-rtu";
    case Protocol::modbus_ascii:
      return "modbus-ascii";
    case Protocol::modbus_tcp:
      return "modbus-tcp";
    case Protocol::modbus_rtu_over_tcp:
      return "modbus-rtu-over-tcp";
  }
  return "?";
}

std::string_view to_string(Parity v) {
  switch (v) {
    case Parity::none:
      return "none";
    case Parity::even:
      return "even";
    case Parity::odd:
      return "odd";
  }
  return "?";
}

std::string_view to_string(Sequence v) {
  return v == Sequence::try_in_order ? "try_in_order" : "jump_to_last_good";
}

std::string_view to_string(Table v) {
  switch (v) {
    case Table::coil:
      return "coil";
    case Table::discrete:
      return "discrete";
    case Table::input:
      return "input";
    case Table::holding:
      return "holding";
  }
  return "?";
}

std::string_view to_string(PointType v) {
  switch (v) {
    case PointType::boolean:
      return "bool";
    case PointType::int16:
      return "int16";
    case PointType::uint16:
      return "uint16";
    case PointType::int32:
      return "int32";
    case PointType::uint32:
      return "uint32";
    case PointType::float32:
      return "float32";
    case PointType::int64:
      return "int64";
    case PointType::uint64:
      return "uint64";
    case PointType::float64:
      return "float64";
    case PointType::string:
      return "string";
  }
  return "?";
}

std::string_view to_string(Order v) {
  return v == Order::big ? "big" : "little";
}

std::string_view to_string(RedundancyMode v) {
  switch (v) {
    case RedundancyMode::independent:
      return "independent";
    case RedundancyMode::master:
      return "master";
    case RedundancyMode::backup:
      return "backup";
  }
  return "?";
}

std::string_view to_string(Recovery v) {
  return v == Recovery::automatic ? "automatic" : "manual";
}
std::string_view to_string(Standby v) {
  return v == Standby::cold ? "cold" : "warm";
}
std::string_view to_string(HistoryLevel v) {
  return v == HistoryLevel::partial ? "partial" : "full";
}
std::string_view to_string(HistoryBackend v) {
  return v == HistoryBackend::sqlite ? "sqlite" : "postgresql";
}
std::string_view to_string(ApiRole v) {
  switch (v) {
    case ApiRole::viewer:
      return "viewer";
    case ApiRole::operator_:
      return "operator";
    case ApiRole::admin:
      return "admin";
  }
  return "?";
}

std::string HistorySettings::resolved_cache_path() const {
  if (!cache_path.empty()) return cache_path;
  const auto slash = path.rfind('/');
  return (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
         "history-cache.db";
}

std::string NorthboundSettings::resolved_client_id(std::string_view node_name) const {
  return mqtt.client_id.empty() ? "pollux-" + std::string(node_name) : mqtt.client_id;
}

int register_count(PointType type, int string_length) {
  switch (type) {
    case PointType::boolean:
    case PointType::int16:
    case PointType::uint16:
      return 1;
    case PointType::int32:
    case PointType::uint32:
    case PointType::float32:
      return 2;
    case PointType::int64:
    case PointType::uint64:
    case PointType::float64:
      return 4;
    case PointType::string:
      return string_length;
  }
  return 1;
}

bool is_bit_table(Table t) {
  return t == Table::coil || t == Table::discrete;
}

const Channel* Config::find_channel(std::string_view id) const {
  auto it =
      std::find_if(channels.begin(), channels.end(), [&](const Channel& c) { return c.id == id; });
  return it == channels.end() ? nullptr : &*it;
}

const Device* Config::find_device(std::string_view id) const {
  auto it =
      std::find_if(devices.begin(), devices.end(), [&](const Device& d) { return d.id == id; });
  return it == devices.end() ? nullptr : &*it;
}

}  // namespace pollux::config
