#include "points/point_store.hpp"

#include "points/change_feed.hpp"

namespace pollux::points {

std::string_view to_string(PointQuality q) {
  switch (q) {
    case PointQuality::good:
      return "good";
    case PointQuality::bad:
      return "bad";
    case PointQuality::uncertain:
      return "uncertain";
  }
  return "?";
}

std::optional<PointId> PointStore::find_in(const std::vector<PointId>& ids,
                                           std::string_view name) const {
  for (PointId id : ids)
    if (records_[id].name == name) return id;
  return std::nullopt;
}

PointId PointStore::add(std::string_view device, std::string_view name) {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) {
    it = by_device_.emplace(std::string(device), std::vector<PointId>{}).first;
  } else if (auto id = find_in(it->second, name)) {
    return *id;
  }
  const auto id = static_cast<PointId>(records_.size());
  PointRecord& r = records_.emplace_back();
  r.device = device;
  r.name = name;
  it->second.push_back(id);
  ++live_;
  return id;
}

std::optional<PointId> PointStore::find(std::string_view device, std::string_view name) const {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) return std::nullopt;
  return find_in(it->second, name);
}

void PointStore::remove_device(std::string_view device) {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) return;
  for (PointId id : it->second) {
    records_[id].removed = true;
    if (feed_) feed_->publish_removed(id, records_[id], seq_);
  }
  live_ -= it->second.size();
  by_device_.erase(it);
}

void PointStore::note_change(PointId id, PointRecord& r) {
  r.seq = ++seq_;
  if (feed_) feed_->publish_update(id, r);
}

template <typename T>
void PointStore::assign_good(PointId id, T&& v, runtime::WallTime t) {
  PointRecord& r = records_[id];
  using V = std::decay_t<T>;
  const V* cur = std::get_if<V>(&r.value);
  const bool changed = r.quality != PointQuality::good || !cur || !(*cur == v);
  if (!cur || !(*cur == v)) r.value = std::forward<T>(v);
  r.quality = PointQuality::good;
  r.timestamp = t;
  if (!r.error.empty()) r.error.clear();
  if (changed) note_change(id, r);
}

void PointStore::set_good(PointId id, bool v, runtime::WallTime t) {
  assign_good(id, v, t);
}
void PointStore::set_good(PointId id, std::int64_t v, runtime::WallTime t) {
  assign_good(id, v, t);
}
void PointStore::set_good(PointId id, std::uint64_t v, runtime::WallTime t) {
  assign_good(id, v, t);
}
void PointStore::set_good(PointId id, double v, runtime::WallTime t) {
  assign_good(id, v, t);
}

void PointStore::set_good(PointId id, std::string_view v, runtime::WallTime t) {
  PointRecord& r = records_[id];
  auto* cur = std::get_if<std::string>(&r.value);
  const bool same = cur && *cur == v;
  const bool changed = r.quality != PointQuality::good || !same;
  if (cur && !same) {
    cur->assign(v);  // reuses the string's capacity
  } else if (!cur) {
    r.value = std::string(v);
  }
  r.quality = PointQuality::good;
  r.timestamp = t;
  if (!r.error.empty()) r.error.clear();
  if (changed) note_change(id, r);
}

void PointStore::set_good(PointId id, const StoreValue& v, runtime::WallTime t) {
  std::visit(
      [&](const auto& x) {
        using V = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          set_bad(id, "no value", t);
        } else if constexpr (std::is_same_v<V, std::string>) {
          set_good(id, std::string_view(x), t);
        } else {
          set_good(id, x, t);
        }
      },
      v);
}

void PointStore::set_bad(PointId id, std::string_view error, runtime::WallTime t) {
  PointRecord& r = records_[id];
  const bool changed = r.quality != PointQuality::bad || r.error != error;
  r.quality = PointQuality::bad;
  if (r.error != error) r.error.assign(error);
  r.timestamp = t;
  if (changed) note_change(id, r);
}

std::vector<PointId> PointStore::device_points(std::string_view device) const {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) return {};
  return it->second;
}

std::vector<PointId> PointStore::all_points() const {
  std::vector<PointId> out;
  out.reserve(live_);
  for (PointId id = 0; id < records_.size(); ++id)
    if (!records_[id].removed) out.push_back(id);
  return out;
}

}  // namespace pollux::points
