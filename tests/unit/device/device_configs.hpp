// Device configs for the device module's tests: a device "D" with one line and one poll group
// "g" holding the points given.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"

namespace pollux::device::testing {

inline config::Point point(std::string name, config::Table table, std::uint16_t address,
                           config::PointType type) {
  config::Point p;
  p.name = std::move(name);
  p.table = table;
  p.address = address;
  p.type = type;
  return p;
}

inline config::Device one_group_device(std::string channel, int unit,
                                       std::vector<config::Point> points) {
  config::Device d;
  d.id = "D";
  d.unit = unit;
  config::Path p;
  p.channel = std::move(channel);
  d.comm.lines[0] = p;
  config::PollGroup g;
  g.name = "g";
  g.points = std::move(points);
  d.polls.push_back(std::move(g));
  return d;
}

}  // namespace pollux::device::testing
