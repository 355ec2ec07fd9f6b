// What a reload changes (spec/config.md, last paragraph; failover rule 8): devices and channels
// whose settings did not change keep all their state; changed or new ones are (re)loaded.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace pollux::config {

// Ids (in `neu`'s order) of channels that are new or whose settings differ.
std::vector<std::string> changed_channels(const Config& old, const Config& neu);

// Ids (in `neu`'s order) of devices that are new, whose own settings differ, or that use (on any
// line) a channel that is new or whose settings differ.
std::vector<std::string> changed_devices(const Config& old, const Config& neu);

// Ids (in `old`'s order) present in `old` and gone from `neu`.
std::vector<std::string> removed_channels(const Config& old, const Config& neu);
std::vector<std::string> removed_devices(const Config& old, const Config& neu);

}  // namespace pollux::config
