// Turns a poll group into the read requests of one poll attempt (engine side of the read
// planner): each block is a ready modbus::Request plus where each covered point sits in it.
// Built once per device load so a poll attempt allocates nothing.
#pragma once

#include <vector>

#include "config/model.hpp"
#include "device/remote_device.hpp"

namespace pollux::device {

std::vector<ReadBlock> build_read_blocks(const config::PollGroup& group, int max_gap_registers,
                                         int max_gap_bits);

}  // namespace pollux::device
