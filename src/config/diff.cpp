#include "config/diff.hpp"

#include <algorithm>

namespace pollux::config {

std::vector<std::string> changed_channels(const Config& old, const Config& neu) {
  std::vector<std::string> out;
  for (const auto& c : neu.channels) {
    const Channel* before = old.find_channel(c.id);
    if (before == nullptr || !(*before == c)) out.push_back(c.id);
  }
  return out;
}

std::vector<std::string> changed_devices(const Config& old, const Config& neu) {
  const auto channels = changed_channels(old, neu);
  std::vector<std::string> out;
  for (const auto& d : neu.devices) {
    const Device* before = old.find_device(d.id);
    bool changed = before == nullptr || !(*before == d);
    for (const auto& line : d.comm.lines) {
      if (changed) break;
      changed =
          line && std::find(channels.begin(), channels.end(), line->channel) != channels.end();
    }
    if (changed) out.push_back(d.id);
  }
  return out;
}

std::vector<std::string> removed_channels(const Config& old, const Config& neu) {
  std::vector<std::string> out;
  for (const auto& c : old.channels)
    if (neu.find_channel(c.id) == nullptr) out.push_back(c.id);
  return out;
}

std::vector<std::string> removed_devices(const Config& old, const Config& neu) {
  std::vector<std::string> out;
  for (const auto& d : old.devices)
    if (neu.find_device(d.id) == nullptr) out.push_back(d.id);
  return out;
}

}  // namespace pollux::config
