#include "points/point_store.hpp"

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

std::string PointStore::key(std::string_view device, std::string_view name) {
  std::string k;
  k.reserve(device.size() + name.size() + 1);
  k.append(device);
  k.push_back('\0');  // ids may contain any printable character, never NUL
  k.append(name);
  return k;
}

PointId PointStore::add(std::string_view device, std::string_view name) {
  auto k = key(device, name);
  if (auto it = index_.find(k); it != index_.end()) return it->second;
  const auto id = static_cast<PointId>(records_.size());
  PointRecord& r = records_.emplace_back();
  r.device = device;
  r.name = name;
  index_.emplace(std::move(k), id);
  by_device_[r.device].push_back(id);
  return id;
}

std::optional<PointId> PointStore::find(std::string_view device, std::string_view name) const {
  auto it = index_.find(key(device, name));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void PointStore::remove_device(std::string_view device) {
  auto it = by_device_.find(std::string(device));
  if (it == by_device_.end()) return;
  for (PointId id : it->second) {
    PointRecord& r = records_[id];
    r.removed = true;
    index_.erase(key(r.device, r.name));
  }
  by_device_.erase(it);
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
  if (changed) r.seq = ++seq_;
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
  if (changed) r.seq = ++seq_;
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
  if (changed) r.seq = ++seq_;
}

std::vector<PointId> PointStore::device_points(std::string_view device) const {
  auto it = by_device_.find(std::string(device));
  if (it == by_device_.end()) return {};
  return it->second;
}

std::vector<PointId> PointStore::all_points() const {
  std::vector<PointId> out;
  out.reserve(index_.size());
  for (PointId id = 0; id < records_.size(); ++id)
    if (!records_[id].removed) out.push_back(id);
  return out;
}

}  // namespace pollux::points
