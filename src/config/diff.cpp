#include "config/diff.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace pollux::config {

namespace {

// Items by id. A reload looks up every device of one config in the other; Config's own
// find_device() scans, which made the diff of 10,000 devices quadratic (most of 0.6 s that a
// reload held the I/O thread).
template <class Item>
std::unordered_map<std::string_view, const Item*> by_id(const std::vector<Item>& items) {
  std::unordered_map<std::string_view, const Item*> out;
  out.reserve(items.size());
  for (const auto& item : items)
    out.emplace(item.id, &item);
  return out;
}

template <class Item>
const Item* find(const std::unordered_map<std::string_view, const Item*>& index,
                 std::string_view id) {
  const auto it = index.find(id);
  return it == index.end() ? nullptr : it->second;
}

}  // namespace

std::vector<std::string> changed_channels(const Config& old, const Config& neu) {
  const auto before = by_id(old.channels);
  std::vector<std::string> out;
  for (const auto& c : neu.channels) {
    const Channel* was = find(before, c.id);
    if (was == nullptr || !(*was == c)) out.push_back(c.id);
  }
  return out;
}

std::vector<std::string> changed_devices(const Config& old, const Config& neu) {
  const auto channels = changed_channels(old, neu);
  const auto before = by_id(old.devices);
  std::vector<std::string> out;
  for (const auto& d : neu.devices) {
    const Device* was = find(before, d.id);
    bool changed = was == nullptr || !(*was == d);
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
  const auto after = by_id(neu.channels);
  std::vector<std::string> out;
  for (const auto& c : old.channels)
    if (find(after, c.id) == nullptr) out.push_back(c.id);
  return out;
}

std::vector<std::string> removed_devices(const Config& old, const Config& neu) {
  const auto after = by_id(neu.devices);
  std::vector<std::string> out;
  for (const auto& d : old.devices)
    if (find(after, d.id) == nullptr) out.push_back(d.id);
  return out;
}

}  // namespace pollux::config
