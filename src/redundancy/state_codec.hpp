// The runtime state's wire form (spec/redundancy.md "Synchronization", "Runtime state"): the
// entries of StateFull / StateDelta (messages.hpp) for devices, points and completed polls,
// encoded as JSON values that the peer link carries as MessagePack.
//
// Rules the encoding keeps: a point value keeps its C++ alternative (MessagePack would turn a
// positive int64 into an unsigned and a whole double into an integer); failover timers travel
// as ages in microseconds (a receiver continues them from its own clock); wall times travel as
// Unix milliseconds; a field a newer peer added is optional when decoding (an older peer does
// not send it). Decoding throws nlohmann::json::exception on an entry that is not well formed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "device/remote_device.hpp"
#include "failover/ages.hpp"
#include "points/point_store.hpp"
#include "runtime/clock.hpp"

namespace pollux::redundancy {

// A device's runtime state: failover state as ages, counters, last success, comm.
struct DeviceRuntime {
  std::string id;
  failover::StateAges ages;
  device::DeviceCounters counters;
  std::optional<runtime::WallTime> last_success;
  bool comm_failed = false;  // DEVICE.comm "failed"
};

// A poll attempt of a group that completed (good or failed) at `at`: every point of the group
// then carries that time, so one record moves all their timestamps on the standby.
struct PollDone {
  std::string device;
  std::string group;
  runtime::WallTime at;
};

// A point as the peer sent it.
struct PointUpdate {
  std::string device;
  std::string name;
  points::Value value;  // null: never read good
  points::PointQuality quality = points::PointQuality::bad;
  std::optional<runtime::WallTime> timestamp;
  std::string error;
};

nlohmann::json encode_devices(const std::vector<DeviceRuntime>& devices);
nlohmann::json encode_points(const points::PointStore& store,
                             const std::vector<points::PointId>& ids);
nlohmann::json encode_polls(const std::vector<PollDone>& polls);

DeviceRuntime decode_device(const nlohmann::json& j);
PointUpdate decode_point(const nlohmann::json& j);
PollDone decode_poll(const nlohmann::json& j);

}  // namespace pollux::redundancy
