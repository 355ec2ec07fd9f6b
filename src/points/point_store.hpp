// The point store: the latest value, quality, timestamp and change sequence of every point
// (spec/api.md POINT; DESIGN.md data flow "PointDecoder -> PointStore").
//
// api.md rules served here: before its first good read a point is null/bad; a failed poll turns
// the points it covers bad and keeps their last value; the timestamp is the wall time of the last
// poll result that covered the point. Every change bumps a store-wide sequence number so the
// HTTP layer and the peer sync can ask "what changed since N". Numeric updates never allocate:
// records live in stable storage and a variant holding a double is overwritten in place.
// Each change (and each point of a removed device) is also published to the attached change
// feed (change_feed.hpp), which hands it to consumers that read at their own pace.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "points/value.hpp"
#include "runtime/clock.hpp"

namespace pollux::points {

enum class PointQuality : std::uint8_t { good, bad, uncertain };
std::string_view to_string(PointQuality q);

// null (monostate) until the first good read; then the type the point's config says.
using StoreValue = Value;

using PointId = std::uint32_t;

class ChangeFeed;

struct PointRecord {
  std::string device;
  std::string name;
  StoreValue value;
  PointQuality quality = PointQuality::bad;
  std::optional<runtime::WallTime> timestamp;
  std::string error;
  // Store sequence number of the last change of value, quality or error (0: never changed).
  std::uint64_t seq = 0;
  bool removed = false;
};

class PointStore {
 public:
  // Registers a point (null/bad). Adding an existing (device, name) returns its id unchanged.
  PointId add(std::string_view device, std::string_view name);
  std::optional<PointId> find(std::string_view device, std::string_view name) const;
  // Forgets a device's points (reload of a changed device); ids are never reused. Each point
  // goes to the feed as a removal.
  void remove_device(std::string_view device);

  // Publishes every later change to `feed` (nullptr: to none). The feed outlives the store's
  // use of it.
  void attach_feed(ChangeFeed* feed) { feed_ = feed; }

  // A good read. Overloads keep the numeric path allocation-free.
  void set_good(PointId id, bool v, runtime::WallTime t);
  void set_good(PointId id, std::int64_t v, runtime::WallTime t);
  void set_good(PointId id, std::uint64_t v, runtime::WallTime t);
  void set_good(PointId id, double v, runtime::WallTime t);
  void set_good(PointId id, std::string_view v, runtime::WallTime t);
  // A literal would otherwise pick the bool overload.
  void set_good(PointId id, const char* v, runtime::WallTime t) = delete;
  void set_good(PointId id, const StoreValue& v, runtime::WallTime t);
  // A failed poll covering the point: quality bad, last value kept, error text recorded.
  void set_bad(PointId id, std::string_view error, runtime::WallTime t);

  const PointRecord& get(PointId id) const { return records_[id]; }
  // Ids of a device's live points in registration order. O(points of the device).
  std::vector<PointId> device_points(std::string_view device) const;
  // Ids of all live points in registration order.
  std::vector<PointId> all_points() const;
  std::uint64_t seq() const { return seq_; }
  std::size_t size() const { return live_; }

 private:
  template <typename T>
  void assign_good(PointId id, T&& v, runtime::WallTime t);
  // Bumps the sequence and tells the feed.
  void note_change(PointId id, PointRecord& r);
  std::optional<PointId> find_in(const std::vector<PointId>& ids, std::string_view name) const;

  struct DeviceHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::deque<PointRecord> records_;  // stable addresses, ids are indexes
  // Live ids per device in registration order: listing one device's points (or every device's,
  // one after the other) must not scan the whole store (10,000 devices). It is the name index
  // too: a point is found by its device, then among that device's few dozen names, so the
  // store keeps no (device, name) map beside it (10 MB at 160,000 points).
  std::unordered_map<std::string, std::vector<PointId>, DeviceHash, std::equal_to<>> by_device_;
  std::size_t live_ = 0;
  std::uint64_t seq_ = 0;
  ChangeFeed* feed_ = nullptr;
};

}  // namespace pollux::points
